package pgjson

// JSONSchema returns a JSON Schema (draft 2020-12, as OpenAPI 3.1 uses) of
// the non-null JSON values Decode produces for type oid, following
// docs/types.md: integers, wide numbers that become strings when a number
// would lose precision, strings, booleans, embedded JSON (any value) and
// arrays of nullable elements. Types the Decoder does not know are their
// text, a string. The result is a fresh map the caller may change.
func (d *Decoder) JSONSchema(oid uint32) map[string]any {
	types := *d.types.Load()
	return schemaOf(types, types[oid], 0)
}

func schemaOf(types map[uint32]typeInfo, ti typeInfo, depth int) map[string]any {
	switch ti.kind {
	case kindInt:
		return map[string]any{"type": "integer"}
	case kindInt8:
		return map[string]any{
			"type":        []any{"integer", "string"},
			"pattern":     "^-?[0-9]+$",
			"description": "bigint: a number within ±(2^53−1), else a string of its decimal digits",
		}
	case kindNumeric:
		return map[string]any{
			"type":        []any{"number", "string"},
			"description": "numeric: a number when a double holds it exactly, else a string (also NaN, Infinity, -Infinity)",
		}
	case kindFloat:
		return map[string]any{"anyOf": []any{
			map[string]any{"type": "number"},
			map[string]any{"enum": []any{"NaN", "Infinity", "-Infinity"}},
		}}
	case kindBool:
		return map[string]any{"type": "boolean"}
	case kindJSON:
		return map[string]any{"description": "any JSON value, embedded"}
	case kindTimestamptz:
		return map[string]any{"type": "string", "description": "RFC 3339 in UTC, e.g. 2026-11-25T17:00:00.123Z (or infinity, -infinity)"}
	case kindTimestamp:
		return map[string]any{"type": "string", "description": "RFC 3339 without offset, e.g. 2026-11-25T17:00:00.123"}
	case kindDate:
		return map[string]any{"type": "string", "description": "date, e.g. 2026-11-25"}
	case kindInterval:
		return map[string]any{"type": "string", "description": "ISO 8601 duration, e.g. P1DT2H"}
	case kindBytea:
		return map[string]any{"type": "string", "contentEncoding": "base64"}
	case kindArray:
		items := map[string]any{}
		if depth < 16 {
			items = Nullable(schemaOf(types, types[ti.elem], depth+1))
		}
		// Multi-dimensional arrays nest: an element may itself be an array.
		return map[string]any{"type": "array", "items": map[string]any{"anyOf": []any{items, map[string]any{"type": "array"}}}}
	}
	return map[string]any{"type": "string"}
}

// Nullable returns s widened to also allow null: "null" joins its type,
// or an anyOf gains {"type":"null"}; a schema without a type already
// allows null. It changes and returns s.
func Nullable(s map[string]any) map[string]any {
	switch t := s["type"].(type) {
	case string:
		s["type"] = []any{t, "null"}
		return s
	case []any:
		s["type"] = append(t, "null")
		return s
	}
	if alts, ok := s["anyOf"].([]any); ok {
		s["anyOf"] = append(alts, map[string]any{"type": "null"})
	}
	return s
}
