package authz

import (
	"encoding/json"
	"math"
)

// Claims are the verified claims of a JWT, as decoded from its JSON
// payload; nil means anonymous (auth == null in rules). Claims handed to
// Policy methods must not be modified afterwards.
type Claims map[string]any

// Subject returns the "sub" claim and whether it is present and not null.
func (c Claims) Subject() (any, bool) {
	v, ok := c["sub"]
	return v, ok && v != nil
}

// IsAdmin reports the isAdmin shorthand: "admin" in the "roles" claim (a
// list) or the "role" claim equal to "admin". It is false when the claims
// are nil or the claims are absent or of another type.
func (c Claims) IsAdmin() bool {
	if c == nil {
		return false
	}
	if r, ok := c["role"].(string); ok && r == "admin" {
		return true
	}
	if roles, ok := c["roles"].([]any); ok {
		for _, r := range roles {
			if s, ok := r.(string); ok && s == "admin" {
				return true
			}
		}
	}
	return false
}

// normalizeClaims turns integral JSON numbers into int64, so that a claim
// like "org_id": 5 is a CEL int and compares as such with integer columns.
func normalizeClaims(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeClaims(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalizeClaims(e)
		}
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) <= 1<<53 {
			return int64(x)
		}
		return x
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	}
	return v
}
