package filter

import (
	"testing"

	"github.com/walrelay/walrelay"
)

// BenchmarkMatch matches a row against a filter, the per-event cost of a
// filtered subscription (the chat scenario's room_id=eq.N and others).
func BenchmarkMatch(b *testing.B) {
	row := walrelay.Row{"id": int64(1), "room_id": int64(42), "body": "hello", "score": 1.5, "price": "12.50"}
	for name, q := range map[string]string{
		"int-eq":     "room_id=eq.41",
		"int-in":     "room_id=in.(1,2,42)",
		"text-eq":    "body=eq.hello",
		"numeric-gt": "price=gt.10",
	} {
		b.Run(name, func(b *testing.B) {
			f, err := ParseString(testModel(), q)
			if err != nil {
				b.Fatal(err)
			}
			want := f.Match(row)
			b.ReportAllocs()
			for b.Loop() {
				if f.Match(row) != want {
					b.Fatal("unstable")
				}
			}
		})
	}
}
