package hub

import (
	"strconv"
	"testing"

	"github.com/walrelay/walrelay"
)

type nopReceiver struct{ n int }

func (r *nopReceiver) Receive(ds []Delivery) { r.n += len(ds) }

// BenchmarkDeliverItem delivers one update among n item subscribers of which
// one matches: the cost must not grow with n.
func BenchmarkDeliverItem(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			h := New(nil)
			hit := &nopReceiver{}
			for i := range n {
				r := &nopReceiver{}
				if i == 0 {
					r = hit
				}
				h.Subscribe(r, walrelay.Channel{Model: "Message", Kind: walrelay.KindItem, ID: strconv.Itoa(i)}, nil)
			}
			ev := upd(0, 5, 5)
			txn := &walrelay.Txn{CommitLSN: 1, Events: []*walrelay.Event{ev}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := h.Deliver(b.Context(), txn); err != nil {
					b.Fatal(err)
				}
			}
			if hit.n == 0 {
				b.Fatal("matching subscriber got nothing")
			}
		})
	}
}
