// Package pgjson converts Postgres values, in text format, to JSON-ready Go
// values. REST reads (store, with text result format) and WAL events (cdc,
// pgoutput text tuples) both go through Decoder.Decode, so a row reads the
// same over both. docs/types.md documents the mapping for users.
//
// Values are expected in Postgres's default output styles (DateStyle ISO,
// bytea_output hex, IntervalStyle postgres or iso_8601), which is what a
// connection gets unless the server or role overrides them.
package pgjson

import (
	"sync"
	"sync/atomic"
)

// kind says how a type's text is mapped.
type kind uint8

const (
	kindString      kind = iota // the text as a string (also the fallback)
	kindInt                     // int2, int4, oid: number
	kindInt8                    // int8: number within ±(2^53-1), else decimal string
	kindNumeric                 // numeric: json.Number when exact in a float64, else string
	kindFloat                   // float4, float8: number; NaN and infinities as strings
	kindBool                    // bool
	kindJSON                    // json, jsonb: embedded JSON
	kindTimestamptz             // RFC 3339 in UTC
	kindTimestamp               // RFC 3339 without offset
	kindDate                    // YYYY-MM-DD
	kindInterval                // ISO 8601 duration
	kindBytea                   // standard base64
	kindArray                   // Postgres array literal: nested []any
)

// typeInfo is how one type OID decodes. For arrays, elem is the element's
// OID and delim the element separator.
type typeInfo struct {
	kind  kind
	elem  uint32
	delim byte
}

// Decoder decodes text-format values by type OID. Decode may be called
// concurrently from any number of goroutines, also while Register runs;
// a Decode that races a Register sees the type table from before or after
// it, never a mix.
type Decoder struct {
	mu    sync.Mutex                          // serializes writers (Register)
	types atomic.Pointer[map[uint32]typeInfo] // copy-on-write, never mutated once stored
}

// NewDecoder returns a Decoder for the built-in types. Types created with
// CREATE TYPE or CREATE DOMAIN (enums, domains, arrays of them) decode as
// their text until Register loads them.
func NewDecoder() *Decoder {
	d := &Decoder{}
	m := make(map[uint32]typeInfo, len(builtins))
	for oid, ti := range builtins {
		m[oid] = ti
	}
	d.types.Store(&m)
	return d
}

// Known reports whether oid is a built-in or registered type. Types that
// are not known decode as their text.
func (d *Decoder) Known(oid uint32) bool {
	_, ok := (*d.types.Load())[oid]
	return ok
}

// Decode converts one text-format value of type oid to a JSON-ready value:
// nil for SQL NULL (text == nil). See docs/types.md for the mapping. The
// result does not alias text. An error means text is not valid output of
// the type; callers may fall back to string(text).
func (d *Decoder) Decode(oid uint32, text []byte) (any, error) {
	if text == nil {
		return nil, nil
	}
	types := *d.types.Load()
	return decodeValue(types, types[oid], string(text))
}

// decodeValue maps s by ti; unknown OIDs have the zero typeInfo, kindString.
func decodeValue(types map[uint32]typeInfo, ti typeInfo, s string) (any, error) {
	switch ti.kind {
	case kindInt:
		return decodeInt(s)
	case kindInt8:
		return decodeInt8(s)
	case kindNumeric:
		return decodeNumeric(s), nil
	case kindFloat:
		return decodeFloat(s)
	case kindBool:
		return decodeBool(s)
	case kindJSON:
		return decodeJSON(s)
	case kindTimestamptz:
		return decodeTimestamptz(s)
	case kindTimestamp:
		return decodeTimestamp(s)
	case kindDate:
		return decodeDate(s)
	case kindInterval:
		return decodeInterval(s)
	case kindBytea:
		return decodeBytea(s)
	case kindArray:
		return decodeArray(types, ti, s)
	}
	return s, nil
}

// SessionParams are the output settings Decode expects. Every connection
// whose text output is decoded (REST reads, the replication stream) sets
// them, so a database with other defaults still reads the same.
func SessionParams() map[string]string {
	return map[string]string{
		"DateStyle":     "ISO, MDY",
		"IntervalStyle": "postgres",
		"bytea_output":  "hex",
	}
}
