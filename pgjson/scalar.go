package pgjson

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// maxSafeInt is the largest integer a JSON number keeps exactly in a
// JavaScript client: 2^53-1.
const maxSafeInt = 1<<53 - 1

func decodeInt(s string) (any, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("decode integer: %w", err)
	}
	return n, nil
}

func decodeInt8(s string) (any, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("decode bigint: %w", err)
	}
	if n > maxSafeInt || n < -maxSafeInt {
		return s, nil
	}
	return n, nil
}

// decodeNumeric returns json.Number(s) when s has at most 15 significant
// digits and |s| <= 2^53, so a float64 holds it exactly enough to print it
// back unchanged; otherwise (and for NaN and the infinities) the string.
func decodeNumeric(s string) any {
	digits := strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(digits, ".")
	if intPart == "" || !allDigits(intPart) || !allDigits(frac) {
		return s // NaN, Infinity, -Infinity
	}
	sig := strings.TrimLeft(intPart+strings.TrimRight(frac, "0"), "0")
	if len(sig) > 15 {
		return s
	}
	// With at most 15 significant digits the value is below 2^53 (about
	// 9.007e15) unless the integer part has 16 or more digits, which the
	// count above excludes unless they are trailing zeros.
	if len(strings.TrimLeft(intPart, "0")) > 15 {
		return s
	}
	return json.Number(s)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func decodeFloat(s string) (any, error) {
	switch s {
	case "NaN", "Infinity", "-Infinity":
		return s, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, fmt.Errorf("decode float: invalid value %q", s)
	}
	return f, nil
}

func decodeBool(s string) (any, error) {
	switch s {
	case "t", "true":
		return true, nil
	case "f", "false":
		return false, nil
	}
	return nil, fmt.Errorf("decode bool: invalid value %q", s)
}

func decodeJSON(s string) (any, error) {
	if !json.Valid([]byte(s)) {
		return nil, fmt.Errorf("decode json: invalid JSON")
	}
	return json.RawMessage(s), nil
}

// decodeBytea reads the hex output format ("\x0102") and, for servers set
// to bytea_output = escape, the escape format; the bytes come out as
// standard base64.
func decodeBytea(s string) (any, error) {
	if h, ok := strings.CutPrefix(s, `\x`); ok {
		b, err := hex.DecodeString(h)
		if err != nil {
			return nil, fmt.Errorf("decode bytea: %w", err)
		}
		return base64.StdEncoding.EncodeToString(b), nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b = append(b, s[i])
			continue
		}
		switch {
		case i+1 < len(s) && s[i+1] == '\\':
			b = append(b, '\\')
			i++
		case i+3 < len(s):
			n, err := strconv.ParseUint(s[i+1:i+4], 8, 8)
			if err != nil {
				return nil, fmt.Errorf("decode bytea: bad escape")
			}
			b = append(b, byte(n))
			i += 3
		default:
			return nil, fmt.Errorf("decode bytea: bad escape")
		}
	}
	return base64.StdEncoding.EncodeToString(b), nil
}
