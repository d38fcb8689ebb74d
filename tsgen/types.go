package tsgen

import (
	"strings"

	"github.com/jackc/pgx/v5/pgtype"
)

// The TypeScript types of the JSON values walrelay sends (docs/types.md).
const (
	tsNumber  = "number"
	tsWide    = "number | string" // int8, numeric, float: a string when a number would lose precision or is NaN/Infinity
	tsBoolean = "boolean"
	tsString  = "string"
	tsJSON    = "Json"
)

// scalars maps built-in types that are not strings to their TypeScript
// type; every type not listed here and not an enum, domain or array is sent
// as a string.
var scalars = map[uint32]string{
	pgtype.Int2OID:    tsNumber,
	pgtype.Int4OID:    tsNumber,
	pgtype.OIDOID:     tsNumber,
	pgtype.Int8OID:    tsWide,
	pgtype.NumericOID: tsWide,
	pgtype.Float4OID:  tsWide,
	pgtype.Float8OID:  tsWide,
	pgtype.BoolOID:    tsBoolean,
	pgtype.JSONOID:    tsJSON,
	pgtype.JSONBOID:   tsJSON,
}

// resolve follows domains to the type that decides the JSON shape.
func (c *catalog) resolve(oid uint32) *pgType {
	for range maxTypeDepth {
		t := c.types[oid]
		if t == nil || t.typtype != "d" || t.base == 0 {
			return t
		}
		oid = t.base
	}
	return nil
}

// isArray reports whether t is an array type with a known element.
func isArray(t *pgType) bool { return t != nil && t.category == "A" && t.elem != 0 }

// tsType returns the TypeScript type of a non-null value of type oid, with
// enums named by enumNames. dims is the column's declared number of array
// dimensions (pg_attribute.attndims); it only adds levels to an array.
func (c *catalog) tsType(oid uint32, dims int, enumNames map[uint32]string) string {
	return c.tsTypeDepth(oid, dims, enumNames, 0)
}

func (c *catalog) tsTypeDepth(oid uint32, dims int, enumNames map[uint32]string, depth int) string {
	if s, ok := scalars[oid]; ok {
		return s
	}
	t := c.resolve(oid)
	switch {
	case t == nil || depth > maxTypeDepth:
		return tsString
	case t.oid != oid:
		return c.tsTypeDepth(t.oid, dims, enumNames, depth+1)
	case t.typtype == "e":
		if name, ok := enumNames[t.oid]; ok {
			return name
		}
		return tsString
	case isArray(t):
		elem := c.tsTypeDepth(t.elem, 0, enumNames, depth+1)
		var arr string
		if elem == tsJSON {
			arr = tsJSON + "[]" // Json includes null
		} else {
			arr = "(" + elem + " | null)[]"
		}
		// Postgres does not enforce dimensions; the declared ones are the
		// best guess at the values' shape.
		return arr + strings.Repeat("[]", max(dims-1, 0))
	}
	return tsString
}
