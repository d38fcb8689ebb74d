package config

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// varRe matches ${VAR} and ${VAR:-default}.
var varRe = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// blockScalarRe matches a line that opens a block scalar ("key: |",
// "- >-", "sql: |2 # comment"): the more indented lines after it are text.
var blockScalarRe = regexp.MustCompile(`(^|[:\s-])\s*[|>][-+0-9]*\s*(#.*)?$`)

// expandVars expands ${VAR} and ${VAR:-default} in YAML text through
// lookup, so that each value reaches the YAML parser as the text of the
// scalar it stands in, whatever characters it holds:
//
//   - in comments nothing is expanded (a variable named there need not be
//     set);
//   - in a double- or single-quoted scalar the value is escaped for it;
//   - in a plain scalar the value is inserted as it is when YAML reads it
//     back unchanged (so "${PORT}" can still be a number), and otherwise
//     the whole scalar is written double-quoted: a secret such as
//     "!x" or "a #b" stays that string instead of becoming a tag or losing
//     its end to a comment;
//   - in a block scalar (| or >) the text is inserted as it is.
//
// An unset (or empty) variable without a default is an error naming it
// and its line.
func expandVars(file string, data []byte, lookup func(string) (string, bool)) ([]byte, error) {
	var errs []error
	value := func(line int, m string) string {
		sub := varRe.FindStringSubmatch(m)
		if v, ok := lookup(sub[1]); ok && v != "" {
			return v
		}
		if sub[2] != "" {
			return sub[3]
		}
		errs = append(errs, fmt.Errorf("%s:%d: environment variable %s is not set", file, line, sub[1]))
		return ""
	}
	lines := strings.Split(string(data), "\n")
	blockIndent := -1 // indentation of the line that opened a block scalar
	open := byte(0)   // the quote of a quoted scalar continued on the next line
	flow := 0         // depth of [ ] and { } (flow context)
	for i, line := range lines {
		n := i + 1
		indent := len(line) - len(strings.TrimLeft(line, " "))
		if blockIndent >= 0 {
			if strings.TrimSpace(line) == "" || indent > blockIndent {
				lines[i] = varRe.ReplaceAllStringFunc(line, func(m string) string { return value(n, m) })
				continue
			}
			blockIndent = -1
		}
		var out strings.Builder
		rest := line
		if open != 0 { // a quoted scalar continued from the line before
			end, closed := quotedEnd(rest, open)
			out.WriteString(expandQuoted(rest[:end], open, n, value))
			rest = rest[end:]
			if closed {
				open = 0
			}
		}
		for rest != "" && open == 0 {
			c := rest[0]
			switch {
			case c == ' ' || c == '\t' || c == ',':
				out.WriteByte(c)
				rest = rest[1:]
			case c == '[' || c == '{':
				flow++
				out.WriteByte(c)
				rest = rest[1:]
			case c == ']' || c == '}':
				flow = max(flow-1, 0)
				out.WriteByte(c)
				rest = rest[1:]
			case c == '#':
				out.WriteString(rest) // a comment: left as it is
				rest = ""
			case (c == '-' || c == ':' || c == '?') && (len(rest) == 1 || rest[1] == ' '):
				out.WriteByte(c)
				rest = rest[1:]
			case c == '"' || c == '\'':
				end, closed := quotedEnd(rest[1:], c)
				out.WriteString(expandQuoted(rest[:1+end], c, n, value))
				rest = rest[1+end:]
				if !closed {
					open = c
				}
			default:
				end := plainEnd(rest, flow > 0)
				if end == 0 { // a lone ':' or '#' that plainEnd stops at
					end = 1
				}
				out.WriteString(expandPlain(rest[:end], n, value))
				rest = rest[end:]
			}
		}
		lines[i] = out.String()
		if open == 0 && flow == 0 && blockScalarRe.MatchString(line) {
			blockIndent = indent
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return []byte(strings.Join(lines, "\n")), nil
}

// quotedEnd returns the length of a quoted scalar's text in s, which
// starts after the opening quote q, up to and including the closing quote,
// and whether it closes on this line (else the length is len(s)).
func quotedEnd(s string, q byte) (int, bool) {
	for i := 0; i < len(s); i++ {
		switch {
		case q == '"' && s[i] == '\\':
			i++
		case s[i] == q:
			if q == '\'' && i+1 < len(s) && s[i+1] == '\'' {
				i++
				continue
			}
			return i + 1, true
		}
	}
	return len(s), false
}

// plainEnd returns the length of the plain scalar at the start of s: up
// to ": ", a trailing ":", " #", the end of the line, and in flow context
// ("[a, b]") also ",", "]" and "}".
func plainEnd(s string, flow bool) int {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '$' && strings.HasPrefix(s[i:], "${"):
			if loc := varRe.FindStringIndex(s[i:]); loc != nil && loc[0] == 0 {
				i += loc[1] - 1 // a variable is part of the scalar, braces and all
			}
		case s[i] == ':' && (i+1 == len(s) || s[i+1] == ' '):
			return i
		case s[i] == '#' && i > 0 && (s[i-1] == ' ' || s[i-1] == '\t'):
			return len(strings.TrimRight(s[:i], " \t"))
		case flow && (s[i] == ',' || s[i] == ']' || s[i] == '}'):
			return i
		}
	}
	return len(strings.TrimRight(s, " \t"))
}

// expandQuoted expands the variables of a quoted scalar's text (quotes
// included), escaping each value for the quoting style.
// A single-quoted scalar cannot hold a line break: one whose value has
// one is written double-quoted instead (when it is all on this line).
func expandQuoted(s string, q byte, line int, value func(int, string) string) string {
	if q == '\'' && len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		broken := false
		inner := varRe.ReplaceAllStringFunc(strings.ReplaceAll(s[1:len(s)-1], "''", "'"), func(m string) string {
			v := value(line, m)
			broken = broken || strings.ContainsAny(v, "\r\n")
			return v
		})
		if broken {
			return `"` + escapeDouble(inner) + `"`
		}
		return "'" + strings.ReplaceAll(inner, "'", "''") + "'"
	}
	return varRe.ReplaceAllStringFunc(s, func(m string) string {
		v := value(line, m)
		if q == '"' {
			return escapeDouble(v)
		}
		return strings.ReplaceAll(v, "'", "''")
	})
}

// expandPlain expands the variables of a plain scalar. If a value would
// not read back as the same text in a plain scalar, the whole scalar is
// written double-quoted instead.
func expandPlain(s string, line int, value func(int, string) string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	safe := true
	expanded := varRe.ReplaceAllStringFunc(s, func(m string) string {
		v := value(line, m)
		if !plainSafe(v) {
			safe = false
		}
		return v
	})
	if safe && plainSafe(expanded) {
		return expanded
	}
	return `"` + escapeDouble(expanded) + `"`
}

// plainSafe reports whether s, written as a plain scalar in block or flow
// context, reads back as exactly s.
func plainSafe(s string) bool {
	if s == "" {
		return true // an empty default stays an empty (null) value, as before
	}
	if strings.TrimSpace(s) != s || strings.ContainsAny(s, "\n\r\t,[]{}\"'`\\") ||
		strings.Contains(s, ": ") || strings.HasSuffix(s, ":") || strings.Contains(s, " #") {
		return false
	}
	switch s[0] {
	case '#', '&', '*', '!', '|', '>', '%', '@', '\'', '"', '`':
		return false
	case '-', '?', ':':
		return len(s) > 1 && s[1] != ' '
	}
	return true
}

// escapeDouble escapes s for the inside of a double-quoted YAML scalar.
func escapeDouble(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}
