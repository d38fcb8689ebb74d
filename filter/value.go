package filter

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// value is an operand or a row value, parsed for comparison by kind.
type value struct {
	n num
	b bool
	s string
	t tval
}

// num is a number with Postgres's special values: NaN sorts above
// everything and equals itself; the infinities bound the finite numbers.
// A finite number is r, or i when isInt (integers, the common case, are
// compared without allocating; r may then be nil).
type num struct {
	cls   int8 // -1 -Infinity, 0 finite, 1 +Infinity, 2 NaN
	r     *big.Rat
	i     int64
	isInt bool
}

// intNum is the finite integer i.
func intNum(i int64) num { return num{i: i, isInt: true} }

// rat returns n's finite value as a big.Rat.
func (n num) rat() *big.Rat {
	if n.isInt {
		return new(big.Rat).SetInt64(n.i)
	}
	return n.r
}

// tval is a point in time (or a time of day) with infinities.
type tval struct {
	cls int8 // -1 -infinity, 0 finite, 1 infinity
	t   time.Time
	off int // zone offset in seconds, for time with time zone
}

var (
	errSyntax  = errors.New("syntax")
	decimalRe  = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)
	maxNumText = 1000
)

// parseOperand parses a filter operand for a column, rejecting what would
// make Postgres fail or disagree with Match. It returns the parsed value and
// the text that is bound in SQL.
func parseOperand(ci colInfo, s string) (value, string, error) {
	switch ci.kind {
	case kInt:
		bits := map[uint32]int{oidInt2: 16, oidInt4: 32, oidInt8: 64}[ci.oid]
		var i int64
		if ci.oid == oidOID {
			u, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				return value{}, "", fmt.Errorf("%q is not a valid %s", s, ci.cast)
			}
			i = int64(u)
		} else {
			n, err := strconv.ParseInt(s, 10, bits)
			if err != nil {
				return value{}, "", fmt.Errorf("%q is not a valid %s", s, ci.cast)
			}
			i = n
		}
		return value{n: intNum(i)}, s, nil
	case kFloat:
		n, err := parseFloat(s, floatBits(ci.oid))
		if err != nil {
			return value{}, "", fmt.Errorf("%q is not a valid %s", s, ci.cast)
		}
		return value{n: n}, s, nil
	case kNumeric:
		n, err := parseDecimal(s)
		if err != nil {
			return value{}, "", fmt.Errorf("%q is not a valid number", s)
		}
		return value{n: n}, s, nil
	case kBool:
		b, ok := parseBool(s)
		if !ok {
			return value{}, "", fmt.Errorf("%q is not a valid boolean", s)
		}
		return value{b: b}, strconv.FormatBool(b), nil
	case kUUID:
		u, ok := canonicalUUID(s)
		if !ok {
			return value{}, "", fmt.Errorf("%q is not a valid uuid", s)
		}
		return value{s: u}, u, nil
	case kTime:
		t, err := parseTime(ci.oid, s, true)
		if err != nil {
			return value{}, "", fmt.Errorf("%q is not a valid %s", s, ci.cast)
		}
		return value{t: t}, s, nil
	case kText, kOther:
		if strings.IndexByte(s, 0) >= 0 {
			return value{}, "", fmt.Errorf("value contains a NUL byte")
		}
		return value{s: s}, s, nil
	}
	return value{}, "", fmt.Errorf("column %q cannot be compared", ci.name)
}

// rowValue converts a JSON-ready row value (see package pgjson) to a value
// of the column's kind; ok is false for NULL or an unparseable value.
func rowValue(ci colInfo, v any) (value, bool) {
	if v == nil {
		return value{}, false
	}
	switch ci.kind {
	case kInt, kFloat, kNumeric:
		n, err := numOf(ci, v)
		return value{n: n}, err == nil
	case kBool:
		switch x := v.(type) {
		case bool:
			return value{b: x}, true
		case string:
			b, ok := parseBool(x)
			return value{b: b}, ok
		}
		return value{}, false
	case kTime:
		s, ok := v.(string)
		if !ok {
			if tt, isTime := v.(time.Time); isTime {
				s = tt.Format(time.RFC3339Nano)
			} else {
				return value{}, false
			}
		}
		t, err := parseTime(ci.oid, s, false)
		return value{t: t}, err == nil
	case kUUID:
		s := stringOf(v)
		return value{s: strings.ToLower(s)}, true
	case kText:
		s := stringOf(v)
		if ci.oid == oidBPChar {
			s = strings.TrimRight(s, " ")
		}
		return value{s: s}, true
	case kOther:
		return value{s: stringOf(v)}, true
	}
	return value{}, false
}

func stringOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

func floatBits(oid uint32) int {
	if oid == oidFloat4 {
		return 32
	}
	return 64
}

func numOf(ci colInfo, v any) (num, error) {
	switch x := v.(type) {
	case int64:
		return intNum(x), nil
	case int:
		return intNum(int64(x)), nil
	case int32:
		return intNum(int64(x)), nil
	case uint32:
		return intNum(int64(x)), nil
	case float64:
		return floatNum(x, floatBits(ci.oid)), nil
	case float32:
		return floatNum(float64(x), 32), nil
	case json.Number:
		return parseDecimal(string(x))
	case string:
		if ci.kind == kFloat {
			return parseFloat(x, floatBits(ci.oid))
		}
		return parseDecimal(x)
	}
	return num{}, errSyntax
}

// floatNum converts a float to its shortest decimal, the form Postgres
// prints, so floats and decimal operands compare like Postgres compares
// them after casting the operand to the column's float type.
func floatNum(f float64, bits int) num {
	switch {
	case math.IsNaN(f):
		return num{cls: 2}
	case math.IsInf(f, 1):
		return num{cls: 1}
	case math.IsInf(f, -1):
		return num{cls: -1}
	}
	if bits == 32 {
		f = float64(float32(f))
	}
	r, _ := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', -1, bits))
	return num{r: r}
}

func parseFloat(s string, bits int) (num, error) {
	if special, ok := specialNum(s); ok {
		return special, nil
	}
	if !decimalRe.MatchString(s) {
		return num{}, errSyntax
	}
	f, err := strconv.ParseFloat(s, bits)
	if err != nil {
		return num{}, err
	}
	return floatNum(f, bits), nil
}

func parseDecimal(s string) (num, error) {
	if special, ok := specialNum(s); ok {
		return special, nil
	}
	if len(s) > maxNumText || !decimalRe.MatchString(s) {
		return num{}, errSyntax
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > maxNumText || e < -maxNumText {
			return num{}, errSyntax
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return num{}, errSyntax
	}
	return num{r: r}, nil
}

func specialNum(s string) (num, bool) {
	switch strings.ToLower(s) {
	case "nan":
		return num{cls: 2}, true
	case "infinity", "+infinity", "inf", "+inf":
		return num{cls: 1}, true
	case "-infinity", "-inf":
		return num{cls: -1}, true
	}
	return num{}, false
}

func cmpNum(a, b num) int {
	if a.cls != 0 || b.cls != 0 {
		return cmpInt(int(a.cls), int(b.cls))
	}
	if a.isInt && b.isInt {
		return cmp.Compare(a.i, b.i)
	}
	return a.rat().Cmp(b.rat())
}

func cmpInt(a, b int) int { return cmp.Compare(a, b) }

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "t", "true", "y", "yes", "on", "1":
		return true, true
	case "f", "false", "n", "no", "off", "0":
		return false, true
	}
	return false, false
}

func canonicalUUID(s string) (string, bool) {
	if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
		s = s[1 : len(s)-1]
	}
	s = strings.ToLower(s)
	var hex string
	switch len(s) {
	case 36:
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return "", false
		}
		hex = s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	case 32:
		hex = s
	default:
		return "", false
	}
	for _, c := range hex {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", false
		}
	}
	return hex[:8] + "-" + hex[8:12] + "-" + hex[12:16] + "-" + hex[16:20] + "-" + hex[20:], true
}

// compare orders two non-null values of one kind as Postgres would.
func compare(k kind, a, b value) int {
	switch k {
	case kInt, kFloat, kNumeric:
		return cmpNum(a.n, b.n)
	case kBool:
		ai, bi := 0, 0
		if a.b {
			ai = 1
		}
		if b.b {
			bi = 1
		}
		return cmpInt(ai, bi)
	case kTime:
		return cmpTime(a.t, b.t)
	}
	return strings.Compare(a.s, b.s)
}
