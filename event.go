package walrelay

import (
	"fmt"
	"time"
)

// Op is the kind of a change event. Its string form is the event name sent
// to clients.
type Op string

// The change events. Created, Updated and Deleted are row changes; Truncated
// is a TRUNCATE of the whole table (no row, no id); Message is a message
// emitted from SQL with pg_logical_emit_message.
const (
	OpCreated   Op = "created"
	OpUpdated   Op = "updated"
	OpDeleted   Op = "deleted"
	OpTruncated Op = "truncated"
	OpMessage   Op = "message"
)

// ParseOp parses a broadcast event name from the config.
func ParseOp(s string) (Op, error) {
	switch op := Op(s); op {
	case OpCreated, OpUpdated, OpDeleted, OpTruncated:
		return op, nil
	}
	return "", fmt.Errorf("unknown event %q (want created, updated, deleted or truncated)", s)
}

// Row is one table row as a client sees it: column name to a JSON-ready
// value (see package pgjson for the mapping). A Row shared through an Event
// must not be modified; copy it first.
type Row map[string]any

// LSN is a position in the Postgres write-ahead log.
type LSN uint64

// String formats the LSN as Postgres does, e.g. "16/B374D848".
func (l LSN) String() string { return fmt.Sprintf("%X/%X", uint32(l>>32), uint32(l)) }

// Event is one change decoded from the WAL. Events are immutable once handed
// to the hub and are shared by every subscriber that receives them.
type Event struct {
	// Model is the configured model of the table; nil for Message events.
	Model *Model
	Op    Op
	// New is the row after the change (nil on delete and truncate); Old the
	// row before it (nil on insert and truncate). With REPLICA IDENTITY FULL
	// Old is the full previous row. Unchanged TOAST values in New are filled
	// from Old, so New is always the full row.
	New Row
	Old Row
	// XID is the id of the transaction that made the change.
	XID uint32
	// LSN is the commit LSN of that transaction; CommitTime its commit time.
	LSN        LSN
	CommitTime time.Time
	// Seq numbers the event within its transaction, from 0.
	Seq int
	// Prefix and Content carry a logical decoding message (Op == OpMessage).
	Prefix  string
	Content []byte
}

// ID returns the primary key value of the event's row (the new row, or the
// old one for deletes), or nil for truncates and messages.
func (e *Event) ID() any {
	if e.Model == nil {
		return nil
	}
	if e.New != nil {
		return e.New[e.Model.PrimaryKey]
	}
	if e.Old != nil {
		return e.Old[e.Model.PrimaryKey]
	}
	return nil
}

// Row returns the row an event is about: the new row, or the old row for
// deletes. Read rules and filters are checked against it.
func (e *Event) Row() Row {
	if e.New != nil {
		return e.New
	}
	return e.Old
}

// Txn is one committed transaction's events, in WAL order. The cdc package
// hands each Txn on whole and in commit order.
type Txn struct {
	XID uint32
	// CommitLSN is the LSN of the commit record; EndLSN the position just
	// after it, the LSN that is acknowledged to the slot once the Txn has
	// been handed on.
	CommitLSN  LSN
	EndLSN     LSN
	CommitTime time.Time
	Events     []*Event
	// More is true when further events of this transaction follow in
	// another Txn with the same XID and CommitLSN: a large transaction is
	// handed on in chunks, in order, the last one with More false. Seq
	// continues across chunks. Only the last chunk may be acknowledged.
	More bool
}

// KeyOf returns the canonical string form of a primary key value, as it
// appears in channel names such as "Message:item:42".
func KeyOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return fmt.Sprintf("%v", x)
	default:
		return fmt.Sprint(x)
	}
}
