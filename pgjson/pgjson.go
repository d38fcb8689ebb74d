// Package pgjson converts Postgres values, in text format, to JSON-ready Go
// values. REST reads (store, with text result format) and WAL events (cdc,
// pgoutput text tuples) both go through Decoder.Decode, so a row reads the
// same over both.
//
// STUB: the full mapping is being written (see docs/types.md when it lands).
package pgjson

import (
	"github.com/jackc/pgx/v5/pgtype"
)

// Decoder decodes text-format values by type OID. It is safe for concurrent
// use once built.
type Decoder struct {
	m *pgtype.Map
}

// NewDecoder returns a Decoder for the built-in types.
func NewDecoder() *Decoder { return &Decoder{m: pgtype.NewMap()} }

// Decode converts one text-format value of type oid to a JSON-ready value:
// nil for SQL NULL (text == nil).
func (d *Decoder) Decode(oid uint32, text []byte) (any, error) {
	if text == nil {
		return nil, nil
	}
	return string(text), nil
}
