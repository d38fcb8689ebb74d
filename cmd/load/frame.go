package main

import (
	"encoding/base64"
	"errors"
	"strconv"
)

// msg is what the load tool reads from one server message. The scanner
// fills only what the checks need; the rest of the message is skipped.
type msg struct {
	typ    string // "event", "subscribed", "error", "resync", ...
	cursor []byte // the event's cursor, as sent
	// Of the event's data (the row): its room, user and send time, and
	// whether it carries the hidden column.
	roomID int64
	userID []byte
	sentUS int64
	hidden bool
	code   []byte // an error's code
}

// hiddenColumn is the column the load config hides; no delivery may carry
// it.
const hiddenColumn = "secret"

var errSyntax = errors.New("malformed server frame")

// scanFrame calls f for every message of a server frame: one JSON object,
// or an array of them. It is a minimal scanner for the server's own output
// (no allocation per message), not a general JSON parser: it checks enough
// syntax to skip what it does not need.
func scanFrame(b []byte, f func(*msg)) error {
	i := skipSpace(b, 0)
	if i >= len(b) {
		return errSyntax
	}
	var m msg
	if b[i] != '[' {
		j, err := scanMsg(b, i, &m)
		if err != nil {
			return err
		}
		f(&m)
		if skipSpace(b, j) != len(b) {
			return errSyntax
		}
		return nil
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return nil
	}
	for {
		m = msg{}
		j, err := scanMsg(b, i, &m)
		if err != nil {
			return err
		}
		f(&m)
		j = skipSpace(b, j)
		if j >= len(b) {
			return errSyntax
		}
		switch b[j] {
		case ',':
			i = skipSpace(b, j+1)
		case ']':
			if skipSpace(b, j+1) != len(b) {
				return errSyntax
			}
			return nil
		default:
			return errSyntax
		}
	}
}

// scanMsg scans the message object at b[i:] into m and returns the index
// after it.
func scanMsg(b []byte, i int, m *msg) (int, error) {
	return scanObject(b, i, func(key []byte, j int) (int, error) {
		switch string(key) {
		case "type":
			s, k, err := scanString(b, j)
			m.typ = internType(s)
			return k, err
		case "cursor":
			s, k, err := scanString(b, j)
			m.cursor = s
			return k, err
		case "code":
			s, k, err := scanString(b, j)
			m.code = s
			return k, err
		case "data", "old":
			if j < len(b) && b[j] == '{' {
				return scanRow(b, j, m, string(key) == "data")
			}
		}
		return skipValue(b, j)
	})
}

// scanRow scans a row object; the room, user and send time are taken from
// data only, the hidden column is looked for in both.
func scanRow(b []byte, i int, m *msg, data bool) (int, error) {
	return scanObject(b, i, func(key []byte, j int) (int, error) {
		switch string(key) {
		case hiddenColumn:
			m.hidden = true
		case "room_id":
			if data {
				n, k, err := scanInt(b, j)
				m.roomID = n
				return k, err
			}
		case "user_id":
			if data {
				s, k, err := scanString(b, j)
				m.userID = s
				return k, err
			}
		case "sent_us":
			if data {
				n, k, err := scanInt(b, j)
				m.sentUS = n
				return k, err
			}
		}
		return skipValue(b, j)
	})
}

func internType(s []byte) string {
	switch string(s) {
	case "event":
		return "event"
	case "subscribed":
		return "subscribed"
	case "error":
		return "error"
	case "resync":
		return "resync"
	}
	return string(s)
}

// scanObject calls field for every key of the object at b[i:], with the
// index of its value; field returns the index after the value.
func scanObject(b []byte, i int, field func(key []byte, j int) (int, error)) (int, error) {
	if i >= len(b) || b[i] != '{' {
		return 0, errSyntax
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		key, j, err := scanString(b, i)
		if err != nil {
			return 0, err
		}
		j = skipSpace(b, j)
		if j >= len(b) || b[j] != ':' {
			return 0, errSyntax
		}
		j, err = field(key, skipSpace(b, j+1))
		if err != nil {
			return 0, err
		}
		j = skipSpace(b, j)
		if j >= len(b) {
			return 0, errSyntax
		}
		switch b[j] {
		case ',':
			i = skipSpace(b, j+1)
		case '}':
			return j + 1, nil
		default:
			return 0, errSyntax
		}
	}
}

// scanString returns the raw contents of the string at b[i:] (escapes left
// as they are) and the index after it.
func scanString(b []byte, i int) ([]byte, int, error) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, errSyntax
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return b[i+1 : j], j + 1, nil
		}
	}
	return nil, 0, errSyntax
}

// scanInt parses the integer at b[i:].
func scanInt(b []byte, i int) (int64, int, error) {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	n, err := strconv.ParseInt(string(b[i:j]), 10, 64)
	if err != nil {
		return 0, 0, errSyntax
	}
	return n, j, nil
}

// skipValue returns the index after the JSON value at b[i:].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errSyntax
	}
	switch c := b[i]; {
	case c == '"':
		_, j, err := scanString(b, i)
		return j, err
	case c == '{' || c == '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				_, k, err := scanString(b, j)
				if err != nil {
					return 0, err
				}
				j = k - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errSyntax
	default: // number, true, false, null
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && !isSpace(b[j]) {
			j++
		}
		if j == i {
			return 0, errSyntax
		}
		return j, nil
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// position is an event cursor's place in the stream: commit LSN, then the
// event's number within its transaction.
type position struct {
	epoch uint32
	lsn   uint64
	seq   uint64
}

func (p position) less(q position) bool {
	if p.lsn != q.lsn {
		return p.lsn < q.lsn
	}
	return p.seq < q.seq
}

// parsePosition decodes an event cursor (walrelay.Cursor's "c1.epoch.lsn.seq"
// in base64url) without allocating. The load tool reads the cursor only to
// check commit order, which the contract promises per client.
func parsePosition(s []byte) (position, bool) {
	var raw [64]byte
	if base64.RawURLEncoding.DecodedLen(len(s)) > len(raw) {
		return position{}, false
	}
	n, err := base64.RawURLEncoding.Decode(raw[:], s)
	if err != nil || n < 3 || raw[0] != 'c' || raw[1] != '1' || raw[2] != '.' {
		return position{}, false
	}
	var nums [3]uint64
	k, cur, digits := 0, uint64(0), 0
	for _, c := range raw[3:n] {
		switch {
		case c >= '0' && c <= '9':
			cur = cur*10 + uint64(c-'0')
			digits++
		case c == '.' && digits > 0 && k < 2:
			nums[k], k, cur, digits = cur, k+1, 0, 0
		default:
			return position{}, false // a snapshot cursor, or garbage
		}
	}
	if k != 2 || digits == 0 {
		return position{}, false
	}
	nums[2] = cur
	return position{epoch: uint32(nums[0]), lsn: nums[1], seq: nums[2]}, true
}
