package tsgen

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

var identRe = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

// reservedTypeNames are words TypeScript does not accept as the name of an
// interface or type alias.
var reservedTypeNames = map[string]bool{
	"any": true, "bigint": true, "boolean": true, "never": true, "number": true, "object": true,
	"string": true, "symbol": true, "undefined": true, "unknown": true, "void": true, "null": true,
	"break": true, "case": true, "catch": true, "class": true, "const": true, "continue": true,
	"debugger": true, "default": true, "delete": true, "do": true, "else": true, "enum": true,
	"export": true, "extends": true, "false": true, "finally": true, "for": true, "function": true,
	"if": true, "import": true, "in": true, "instanceof": true, "new": true, "return": true,
	"super": true, "switch": true, "this": true, "throw": true, "true": true, "try": true,
	"typeof": true, "var": true, "while": true, "with": true, "implements": true, "interface": true,
	"let": true, "package": true, "private": true, "protected": true, "public": true, "static": true,
	"yield": true, "await": true,
}

// quoteString returns s as a TypeScript string literal.
func quoteString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil { // cannot fail for a string
		return strconv.Quote(s)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// propertyName returns name as a property key: bare when it is a plain
// identifier, quoted otherwise.
func propertyName(name string) string {
	if identRe.MatchString(name) {
		return name
	}
	return quoteString(name)
}

// pascalCase turns a SQL name such as "user_status" into "UserStatus",
// keeping only ASCII letters and digits.
func pascalCase(s string) string {
	var b strings.Builder
	upper := true
	for _, r := range s {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if upper {
				r = unicode.ToUpper(r)
			}
			b.WriteRune(r)
			upper = false
		default:
			upper = true
		}
	}
	return b.String()
}

// namer hands out unique TypeScript type names.
type namer struct{ taken map[string]bool }

func newNamer(fixed ...string) *namer {
	n := &namer{taken: map[string]bool{}}
	for _, f := range fixed {
		n.taken[f] = true
	}
	return n
}

// take returns want, made a valid type name and unique by appending a
// number if needed, and reserves it.
func (n *namer) take(want string) string {
	if want == "" || !identRe.MatchString(want) || want[0] == '$' {
		want = "T" + pascalCase(want)
	}
	if reservedTypeNames[want] {
		want += "_"
	}
	name := want
	for i := 2; n.taken[name]; i++ {
		name = want + strconv.Itoa(i)
	}
	n.taken[name] = true
	return name
}
