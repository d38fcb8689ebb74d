package walrelay

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// Cursor names a point in the change stream (CONTRACT §5). Clients treat its
// string form as opaque.
//
// An event's cursor is the event's position: (LSN, Seq) of the commit and
// the event within it; resuming from it delivers what follows. A REST read's
// cursor additionally carries the snapshot (Xmin, Xmax, Xip) the read ran
// in, so a replay can skip exactly the transactions the read already saw.
type Cursor struct {
	// Epoch changes when the server loses its history (a recreated slot);
	// cursors of another epoch cannot be resumed.
	Epoch uint32
	// LSN is a commit LSN: every transaction committed at or before it is
	// included, up to and including event Seq of the transaction at LSN.
	LSN LSN
	Seq int
	// Snapshot marks a cursor taken with a REST read; Xmin, Xmax and Xip
	// are then pg_current_snapshot()'s parts.
	Snapshot bool
	Xmin     uint64
	Xmax     uint64
	Xip      []uint64
}

const cursorVersion = "c1"

// String encodes the cursor as an opaque URL-safe token.
func (c Cursor) String() string {
	b, _ := c.AppendText(nil)
	return string(b)
}

// AppendText appends the cursor's String form to b (encoding.TextAppender).
// It never fails.
func (c Cursor) AppendText(b []byte) ([]byte, error) {
	var small [64]byte
	raw := append(small[:0], cursorVersion...)
	raw = append(raw, '.')
	raw = strconv.AppendUint(raw, uint64(c.Epoch), 10)
	raw = append(raw, '.')
	raw = strconv.AppendUint(raw, uint64(c.LSN), 10)
	raw = append(raw, '.')
	raw = strconv.AppendInt(raw, int64(c.Seq), 10)
	if c.Snapshot {
		raw = append(raw, '.')
		raw = strconv.AppendUint(raw, c.Xmin, 10)
		raw = append(raw, '.')
		raw = strconv.AppendUint(raw, c.Xmax, 10)
		raw = append(raw, '.')
		for i, x := range c.Xip {
			if i > 0 {
				raw = append(raw, '-')
			}
			raw = strconv.AppendUint(raw, x, 10)
		}
	}
	return base64.RawURLEncoding.AppendEncode(b, raw), nil
}

// ParseCursor decodes a cursor made by Cursor.String. Errors wrap
// ErrBadRequest.
func ParseCursor(s string) (Cursor, error) {
	bad := func(why string) (Cursor, error) {
		return Cursor{}, fmt.Errorf("%w: invalid cursor: %s", ErrBadRequest, why)
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return bad("not base64url")
	}
	parts := strings.Split(string(raw), ".")
	if parts[0] != cursorVersion || (len(parts) != 4 && len(parts) != 7) {
		return bad("unknown format")
	}
	var c Cursor
	nums := make([]uint64, 0, 6)
	for _, p := range parts[1:min(len(parts), 6)] {
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return bad("bad number")
		}
		nums = append(nums, n)
	}
	if nums[0] > 1<<32-1 || nums[2] > 1<<31-1 {
		return bad("out of range")
	}
	c.Epoch, c.LSN, c.Seq = uint32(nums[0]), LSN(nums[1]), int(nums[2])
	if len(parts) == 7 {
		c.Snapshot, c.Xmin, c.Xmax = true, nums[3], nums[4]
		if parts[6] != "" {
			for _, p := range strings.Split(parts[6], "-") {
				n, err := strconv.ParseUint(p, 10, 64)
				if err != nil {
					return bad("bad xip")
				}
				c.Xip = append(c.Xip, n)
			}
		}
	}
	return c, nil
}
