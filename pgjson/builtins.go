package pgjson

import "github.com/jackc/pgx/v5/pgtype"

// builtins maps the built-in scalar types, plus every built-in array type
// pgx knows (filled in by init), to their decoding. It is read-only after
// init.
var builtins = map[uint32]typeInfo{
	pgtype.Int2OID:        {kind: kindInt},
	pgtype.Int4OID:        {kind: kindInt},
	pgtype.OIDOID:         {kind: kindInt},
	pgtype.Int8OID:        {kind: kindInt8},
	pgtype.NumericOID:     {kind: kindNumeric},
	pgtype.Float4OID:      {kind: kindFloat},
	pgtype.Float8OID:      {kind: kindFloat},
	pgtype.BoolOID:        {kind: kindBool},
	pgtype.JSONOID:        {kind: kindJSON},
	pgtype.JSONBOID:       {kind: kindJSON},
	pgtype.TimestamptzOID: {kind: kindTimestamptz},
	pgtype.TimestampOID:   {kind: kindTimestamp},
	pgtype.DateOID:        {kind: kindDate},
	pgtype.IntervalOID:    {kind: kindInterval},
	pgtype.ByteaOID:       {kind: kindBytea},
	// Strings: listed so that Known reports them.
	pgtype.TextOID:    {kind: kindString},
	pgtype.VarcharOID: {kind: kindString},
	pgtype.BPCharOID:  {kind: kindString},
	pgtype.NameOID:    {kind: kindString},
	pgtype.QCharOID:   {kind: kindString},
	pgtype.UUIDOID:    {kind: kindString},
	pgtype.InetOID:    {kind: kindString},
	pgtype.CIDROID:    {kind: kindString},
	pgtype.MacaddrOID: {kind: kindString},
	pgtype.TimeOID:    {kind: kindString}, // already "17:00:00.123"
	pgtype.TimetzOID:  {kind: kindString},
	pgtype.XMLOID:     {kind: kindString},
}

func init() {
	m := pgtype.NewMap()
	for oid := uint32(1); oid < 20000; oid++ {
		t, ok := m.TypeForOID(oid)
		if !ok {
			continue
		}
		if ac, ok := t.Codec.(*pgtype.ArrayCodec); ok && ac.ElementType != nil {
			delim := ac.Delimiter
			if delim == 0 {
				delim = ','
			}
			builtins[oid] = typeInfo{kind: kindArray, elem: ac.ElementType.OID, delim: delim}
		} else if _, ok := builtins[oid]; !ok {
			builtins[oid] = typeInfo{kind: kindString}
		}
	}
}
