package filter

import (
	"regexp"
	"strings"
	"time"
)

var (
	fracRe   = regexp.MustCompile(`:[0-9]{2}\.([0-9]+)`)
	dateTime = []string{
		"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05Z07", "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05",
		"2006-01-02T15:04Z07:00", "2006-01-02T15:04Z07", "2006-01-02T15:04", "2006-01-02",
	}
	timeOfDay = []string{"15:04:05Z07:00", "15:04:05Z07", "15:04:05Z0700", "15:04:05", "15:04Z07:00", "15:04Z07", "15:04"}
)

// parseTime parses a date, timestamp or time of day the way Postgres reads
// it for the column's type, with a session time zone of UTC (the store sets
// it): a zone given to a type without one is ignored, a missing zone for a
// type with one means UTC. Operands may not carry more than microsecond
// precision, which Postgres would round.
func parseTime(oid uint32, s string, operand bool) (tval, error) {
	switch strings.ToLower(s) {
	case "infinity", "+infinity":
		if oid != oidTime && oid != oidTimetz {
			return tval{cls: 1}, nil
		}
	case "-infinity":
		if oid != oidTime && oid != oidTimetz {
			return tval{cls: -1}, nil
		}
	}
	if m := fracRe.FindStringSubmatch(s); operand && m != nil && len(m[1]) > 6 {
		return tval{}, errSyntax
	}
	if oid == oidTime || oid == oidTimetz {
		t, err := parseLayouts(timeOfDay, s)
		if err != nil {
			return tval{}, err
		}
		_, off := t.Zone()
		wall := time.Date(0, 1, 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
		if oid == oidTime {
			return tval{t: wall}, nil
		}
		return tval{t: wall.Add(-time.Duration(off) * time.Second), off: off}, nil
	}
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	t, err := parseLayouts(dateTime, s)
	if err != nil {
		return tval{}, err
	}
	switch oid {
	case oidDate:
		return tval{t: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)}, nil
	case oidTimestamp:
		return tval{t: time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)}, nil
	}
	return tval{t: t.UTC()}, nil
}

func parseLayouts(layouts []string, s string) (time.Time, error) {
	var last error
	for _, l := range layouts {
		t, err := time.Parse(l, s)
		if err == nil {
			return t, nil
		}
		last = err
	}
	return time.Time{}, last
}

// cmpTime orders times; for time with time zone, as Postgres does, by the
// UTC time and then by the zone (east of UTC first).
func cmpTime(a, b tval) int {
	if a.cls != 0 || b.cls != 0 {
		return cmpInt(int(a.cls), int(b.cls))
	}
	if c := a.t.Compare(b.t); c != 0 {
		return c
	}
	return cmpInt(b.off, a.off)
}
