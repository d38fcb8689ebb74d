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
