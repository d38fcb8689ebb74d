package pgjson

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

const (
	layoutTimestamptz = "2006-01-02T15:04:05.999999Z07:00"
	layoutTimestamp   = "2006-01-02T15:04:05.999999"
	layoutDate        = "2006-01-02"
)

// infinity returns the string for an infinite timestamp or date.
func infinity(m pgtype.InfinityModifier) string {
	if m == pgtype.NegativeInfinity {
		return "-infinity"
	}
	return "infinity"
}

// outOfRange reports whether t cannot be written as an RFC 3339 year
// (BC dates and years past 9999); those keep Postgres's own text.
func outOfRange(t time.Time) bool { return t.Year() < 1 || t.Year() > 9999 }

func decodeTimestamptz(s string) (any, error) {
	var v pgtype.Timestamptz
	if err := v.Scan(s); err != nil {
		return nil, fmt.Errorf("decode timestamptz: %w", err)
	}
	if v.InfinityModifier != pgtype.Finite {
		return infinity(v.InfinityModifier), nil
	}
	t := v.Time.UTC()
	if outOfRange(t) {
		return s, nil
	}
	return t.Format(layoutTimestamptz), nil
}

func decodeTimestamp(s string) (any, error) {
	var v pgtype.Timestamp
	if err := v.Scan(s); err != nil {
		return nil, fmt.Errorf("decode timestamp: %w", err)
	}
	if v.InfinityModifier != pgtype.Finite {
		return infinity(v.InfinityModifier), nil
	}
	if outOfRange(v.Time) {
		return s, nil
	}
	return v.Time.Format(layoutTimestamp), nil
}

func decodeDate(s string) (any, error) {
	var v pgtype.Date
	if err := v.Scan(s); err != nil {
		return nil, fmt.Errorf("decode date: %w", err)
	}
	if v.InfinityModifier != pgtype.Finite {
		return infinity(v.InfinityModifier), nil
	}
	if outOfRange(v.Time) {
		return s, nil
	}
	return v.Time.Format(layoutDate), nil
}

// decodeInterval turns Postgres-style interval text ("1 year 2 mons 3 days
// 04:05:06.5") into an ISO 8601 duration printed the way Postgres prints
// it with IntervalStyle iso_8601 ("P1Y2M3DT4H5M6.5S"); text that already
// is ISO 8601 passes through.
func decodeInterval(s string) (any, error) {
	if strings.HasPrefix(s, "P") {
		return s, nil
	}
	var v pgtype.Interval
	if err := v.Scan(s); err != nil {
		return nil, fmt.Errorf("decode interval: %w", err)
	}
	return isoDuration(v.Months, v.Days, v.Microseconds), nil
}

// isoDuration mirrors Postgres's EncodeInterval for INTSTYLE_ISO_8601:
// each nonzero field with its own sign, "PT0S" for zero.
func isoDuration(months, days int32, usec int64) string {
	if months == 0 && days == 0 && usec == 0 {
		return "PT0S"
	}
	var b strings.Builder
	b.WriteByte('P')
	field := func(n int64, unit byte) {
		if n != 0 {
			b.WriteString(strconv.FormatInt(n, 10))
			b.WriteByte(unit)
		}
	}
	field(int64(months/12), 'Y')
	field(int64(months%12), 'M')
	field(int64(days), 'D')
	if usec != 0 {
		b.WriteByte('T')
		const perSec, perMin, perHour = 1_000_000, 60 * 1_000_000, 3600 * 1_000_000
		field(usec/perHour, 'H')
		field(usec%perHour/perMin, 'M')
		if rest := usec % perMin; rest != 0 {
			if rest < 0 {
				b.WriteByte('-')
				rest = -rest
			}
			b.WriteString(strconv.FormatInt(rest/perSec, 10))
			if frac := rest % perSec; frac != 0 {
				b.WriteString(strings.TrimRight(fmt.Sprintf(".%06d", frac), "0"))
			}
			b.WriteByte('S')
		}
	}
	return b.String()
}
