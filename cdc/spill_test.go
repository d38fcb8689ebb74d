package cdc

import (
	"testing"

	"github.com/jackc/pglogrepl"

	"github.com/walrelay/walrelay"
)

func tuple(cols ...*pglogrepl.TupleDataColumn) *pglogrepl.TupleData {
	return &pglogrepl.TupleData{ColumnNum: uint16(len(cols)), Columns: cols}
}

func text(s string) *pglogrepl.TupleDataColumn {
	return &pglogrepl.TupleDataColumn{DataType: pglogrepl.TupleDataTypeText, Length: uint32(len(s)), Data: []byte(s)}
}

// A spilled change reads back as it was written: every op, NULLs,
// unchanged TOAST values, old tuples and key-only old tuples, messages, and
// an empty text value, which must stay an empty value, not NULL.
func TestSpillRoundTrip(t *testing.T) {
	relA, relB := &relation{}, &relation{}
	null := &pglogrepl.TupleDataColumn{DataType: pglogrepl.TupleDataTypeNull}
	toast := &pglogrepl.TupleDataColumn{DataType: pglogrepl.TupleDataTypeToast}
	changes := []*change{
		{rel: relA, op: walrelay.OpCreated, newTuple: tuple(text("1"), text(""), null, text("é \x00 bytes"))},
		{rel: relB, op: walrelay.OpUpdated, newTuple: tuple(text("2"), toast), oldTuple: tuple(text("2"), text("old"))},
		{rel: relA, op: walrelay.OpDeleted, oldTuple: tuple(text("3"), null), oldKeyOnly: true},
		{rel: relB, op: walrelay.OpTruncated},
		{op: walrelay.OpMessage, prefix: "walrelay", content: []byte(`{"channel":"c"}`)},
		{op: walrelay.OpMessage, prefix: "walrelay"},
	}
	s, err := newSpill(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	for range 3 {
		for _, c := range changes {
			if err := s.write(c); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.rewind(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 * len(changes) {
		want := changes[i%len(changes)]
		got, ok, err := s.next()
		if err != nil || !ok {
			t.Fatalf("record %d: %v %v", i, ok, err)
		}
		if !equalChange(got, want) {
			t.Fatalf("record %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
	if _, ok, err := s.next(); ok || err != nil {
		t.Fatalf("after the last record: %v %v", ok, err)
	}
}

// equalChange compares changes. A text column's data must be non-nil
// exactly when it was (nil text decodes as NULL); a message's empty and
// nil content are alike.
func equalChange(a, b *change) bool {
	if a.rel != b.rel || a.op != b.op || a.oldKeyOnly != b.oldKeyOnly || a.prefix != b.prefix ||
		string(a.content) != string(b.content) {
		return false
	}
	return equalTuple(a.newTuple, b.newTuple) && equalTuple(a.oldTuple, b.oldTuple)
}

func equalTuple(a, b *pglogrepl.TupleData) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	if a == nil {
		return true
	}
	if len(a.Columns) != len(b.Columns) {
		return false
	}
	for i := range a.Columns {
		x, y := a.Columns[i], b.Columns[i]
		if x.DataType != y.DataType || string(x.Data) != string(y.Data) ||
			x.DataType == pglogrepl.TupleDataTypeText && (x.Data == nil) != (y.Data == nil) {
			return false
		}
	}
	return true
}
