package pgjson

import (
	"fmt"
	"strings"
)

// decodeArray parses a Postgres array literal, e.g. `{1,NULL,"a b"}`,
// `{{1,2},{3,4}}` or `[0:1]={7,8}` (bounds are dropped), into nested []any
// whose elements are decoded by the element type.
func decodeArray(types map[uint32]typeInfo, ti typeInfo, s string) (any, error) {
	if s == "" {
		return nil, fmt.Errorf("decode array: empty text")
	}
	if s[0] == '[' { // explicit bounds: "[1:2][1:3]={...}"
		i := strings.Index(s, "=")
		if i < 0 {
			return nil, fmt.Errorf("decode array: bad bounds")
		}
		s = s[i+1:]
	}
	p := arrayParser{s: s, delim: ti.delim, types: types, elem: types[ti.elem]}
	if p.delim == 0 {
		p.delim = ','
	}
	v, err := p.array()
	if err != nil {
		return nil, fmt.Errorf("decode array: %w", err)
	}
	if p.i != len(p.s) {
		return nil, fmt.Errorf("decode array: trailing text")
	}
	return v, nil
}

type arrayParser struct {
	s     string
	i     int
	delim byte
	types map[uint32]typeInfo
	elem  typeInfo
}

// array parses "{" elements "}" at p.i.
func (p *arrayParser) array() ([]any, error) {
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return nil, fmt.Errorf("expected '{' at %d", p.i)
	}
	p.i++
	out := []any{}
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return out, nil
	}
	for {
		v, err := p.element()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if p.i >= len(p.s) {
			return nil, fmt.Errorf("unterminated array")
		}
		switch p.s[p.i] {
		case p.delim:
			p.i++
		case '}':
			p.i++
			return out, nil
		default:
			return nil, fmt.Errorf("unexpected %q at %d", p.s[p.i], p.i)
		}
	}
}

// element parses a nested array, a quoted or an unquoted element.
func (p *arrayParser) element() (any, error) {
	if p.i >= len(p.s) {
		return nil, fmt.Errorf("unterminated array")
	}
	switch p.s[p.i] {
	case '{':
		return p.array()
	case '"':
		var b strings.Builder
		for p.i++; p.i < len(p.s); p.i++ {
			switch c := p.s[p.i]; c {
			case '\\':
				p.i++
				if p.i < len(p.s) {
					b.WriteByte(p.s[p.i])
				}
			case '"':
				p.i++
				return decodeValue(p.types, p.elem, b.String())
			default:
				b.WriteByte(c)
			}
		}
		return nil, fmt.Errorf("unterminated quoted element")
	}
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != p.delim && p.s[p.i] != '}' {
		p.i++
	}
	text := strings.TrimSpace(p.s[start:p.i])
	if strings.EqualFold(text, "NULL") {
		return nil, nil
	}
	return decodeValue(p.types, p.elem, text)
}
