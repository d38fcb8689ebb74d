package authz

import (
	"testing"

	"github.com/walrelay/walrelay"
)

// BenchmarkAllow measures one read-rule evaluation, the per-event,
// per-subscriber cost of non-indexed rules.
func BenchmarkAllow(b *testing.B) {
	m := testModel("author_id", map[string]string{"read": "isOwner || isAdmin || row.room_id in auth.rooms"})
	p := mustPolicy(b, m)
	claims := Claims{"sub": "bob", "rooms": []any{int64(1), int64(2), int64(3)}}
	row := walrelay.Row{"id": int64(1), "room_id": int64(3), "author_id": "alice", "body": "hi"}
	rule := p.Rule(m, ActionRead)
	b.ReportAllocs()
	for b.Loop() {
		if !rule.Allow(claims, row) {
			b.Fatal("denied")
		}
	}
}

// BenchmarkReadSQL measures translating a read rule for one request.
func BenchmarkReadSQL(b *testing.B) {
	m := testModel("author_id", map[string]string{"read": "isOwner || isAdmin || row.room_id in auth.rooms"})
	p := mustPolicy(b, m)
	claims := Claims{"sub": "bob", "rooms": []any{int64(1), int64(2), int64(3)}}
	b.ReportAllocs()
	args := make([]any, 0, 4)
	for b.Loop() {
		args = args[:0]
		if _, err := p.ReadSQL(m, claims, &args); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAllowRoomIn evaluates the chat scenario's rule,
// row.room_id in auth.rooms, for one subscriber and one row: what a
// non-indexable rule costs per event and subscriber.
func BenchmarkAllowRoomIn(b *testing.B) {
	m := testModel("author_id", map[string]string{"read": "row.room_id in auth.rooms"})
	rule := mustPolicy(b, m).Rule(m, ActionRead)
	claims := Claims{"sub": "bob", "rooms": []any{int64(42)}}
	row := walrelay.Row{"id": int64(1), "room_id": int64(42), "author_id": "alice", "body": "hi"}
	b.ReportAllocs()
	for b.Loop() {
		if !rule.Allow(claims, row) {
			b.Fatal("denied")
		}
	}
}

// BenchmarkRowKey computes an indexed rule's key of a row
// (row.user_id == auth.sub), the per-event cost of index routing.
func BenchmarkRowKey(b *testing.B) {
	m := testModel("author_id", map[string]string{"read": "row.author_id == auth.sub"})
	rule := mustPolicy(b, m).Rule(m, ActionRead)
	if _, ok := rule.Index(); !ok {
		b.Fatal("not indexable")
	}
	row := walrelay.Row{"id": int64(1), "room_id": int64(42), "author_id": "alice", "body": "hi"}
	b.ReportAllocs()
	for b.Loop() {
		if rule.RowKey(row) != "alice" {
			b.Fatal("wrong key")
		}
	}
}
