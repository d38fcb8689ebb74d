package ws

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/walrelay/walrelay"
)

// appendEventJSON appends the JSON of an event frame (see eventMsg) to b,
// byte for byte what encoding/json makes of an eventMsg (TestEventEncoding
// checks it), without reflection and, for the usual column types, without
// allocating: the fields in eventMsg's order, row keys sorted, strings
// escaped as encoding/json escapes them (HTML characters too). Values of
// other types (arrays, JSON documents, ...) go through encoding/json.
func appendEventJSON(b []byte, channel string, op walrelay.Op, id any, data, old walrelay.Row,
	m *walrelay.Model, cursor walrelay.Cursor, commit []byte) ([]byte, error) {
	b = append(b, `{"type":"event","channel":`...)
	b = appendJSONString(b, channel)
	b = append(b, `,"event":`...)
	b = appendJSONString(b, string(op))
	var err error
	if id != nil {
		b = append(b, `,"id":`...)
		if b, err = appendJSONValue(b, id); err != nil {
			return nil, err
		}
	}
	if rowLen(m, data) > 0 {
		b = append(b, `,"data":`...)
		if b, err = appendRow(b, m, data); err != nil {
			return nil, err
		}
	}
	if rowLen(m, old) > 0 {
		b = append(b, `,"old":`...)
		if b, err = appendRow(b, m, old); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"cursor":"`...)
	b, _ = cursor.AppendText(b) // base64url: nothing to escape
	b = append(b, `","commit_ts":"`...)
	b = append(b, commit...) // digits and punctuation: nothing to escape
	return append(b, `"}`...), nil
}

// rowLen is the number of row's columns that are not hidden by m.
func rowLen(m *walrelay.Model, row walrelay.Row) int {
	if m == nil || len(m.Hide) == 0 {
		return len(row)
	}
	n := len(row)
	for _, h := range m.Hide {
		if _, ok := row[h]; ok {
			n--
		}
	}
	return n
}

// appendRow appends row as a JSON object without m's hidden columns, keys
// sorted as encoding/json sorts them.
func appendRow(b []byte, m *walrelay.Model, row walrelay.Row) ([]byte, error) {
	var small [32]string
	keys := small[:0]
	for k := range row {
		if m == nil || !m.Hidden(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	b = append(b, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		if b, err = appendJSONValue(b, row[k]); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendJSONValue appends v as encoding/json encodes it.
func appendJSONValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendJSONString(b, x), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case float64:
		if !math.IsInf(x, 0) && !math.IsNaN(x) {
			return appendJSONFloat(b, x), nil
		}
	case json.Number:
		if x == "" {
			return append(b, '0'), nil
		}
		if validNumber(string(x)) {
			return append(b, x...), nil
		}
	}
	// Everything else, and what encoding/json would refuse (its error).
	enc, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, enc...), nil
}

// appendJSONFloat formats f as encoding/json does (ES6 number to string).
func appendJSONFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 becomes e-9, as encoding/json writes it.
		n := len(b)
		if n-start >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it with HTML escaping on: control characters, quote, backslash,
// <, > and &, invalid UTF-8 (as U+FFFD), U+2028 and U+2029.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// validNumber reports whether s is a JSON number, as encoding/json checks
// a json.Number before writing it.
func validNumber(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '-' {
		s = s[1:]
		if s == "" {
			return false
		}
	}
	switch {
	case s[0] == '0':
		s = s[1:]
	case '1' <= s[0] && s[0] <= '9':
		s = s[1:]
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	default:
		return false
	}
	if len(s) >= 2 && s[0] == '.' && '0' <= s[1] && s[1] <= '9' {
		s = s[2:]
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	}
	if len(s) >= 2 && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if s[0] == '+' || s[0] == '-' {
			s = s[1:]
			if s == "" {
				return false
			}
		}
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	}
	return s == ""
}
