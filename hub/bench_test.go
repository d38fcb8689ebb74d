package hub

import (
	"strconv"
	"testing"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/authz"
	"github.com/walrelay/walrelay/filter"
)

type nopReceiver struct{ n int }

func (r *nopReceiver) Receive(ds []Delivery)                 { r.n += len(ds) }
func (r *nopReceiver) Room() (int, <-chan struct{})          { return 1 << 30, nil }
func (r *nopReceiver) Resync(s *Subscription, reason string) {}

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
				h.Subscribe(r, walrelay.Channel{Model: "Message", Kind: walrelay.KindItem, ID: strconv.Itoa(i)}, nil, ReadAll)
			}
			ev := upd(0, 5, 5)
			txn := &walrelay.Txn{CommitLSN: 1, Events: []*walrelay.Event{ev}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				txn.CommitLSN++
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

// ownerPolicy compiles "row.user_id == auth.sub" (indexable) and an
// equivalent rule that is not indexable, over a hand-made model.
func ownerPolicy(b *testing.B) (*walrelay.Model, *authz.Policy) {
	m := &walrelay.Model{
		Name: "Notification", Schema: "public", Table: "notifications", PrimaryKey: "id",
		Subscribe:   []walrelay.ChannelKind{walrelay.KindList},
		Broadcast:   []walrelay.Op{walrelay.OpCreated},
		Permissions: map[string]string{"subscribe": "authenticated", "read": "row.user_id == auth.sub"},
		Columns: []walrelay.Column{
			{Name: "id", TypeOID: 20, Type: "bigint", NotNull: true},
			{Name: "user_id", TypeOID: 25, Type: "text", NotNull: true},
		},
	}
	p, err := authz.Compile(walrelay.NewSchema([]*walrelay.Model{m}))
	if err != nil {
		b.Fatal(err)
	}
	return m, p
}

// BenchmarkDeliverListIndexed routes one created event among n :list
// subscribers with distinct sub claims under the indexed rule
// row.user_id == auth.sub: exactly one receives it, and the cost must not
// grow with n (the 10,000 case within 2x of the 10 case).
func BenchmarkDeliverListIndexed(b *testing.B) {
	benchmarkList(b, true)
}

// BenchmarkDeliverListPerSubscriber is the same with the rule evaluated
// per subscriber (no index), for comparison: it grows with n.
func BenchmarkDeliverListPerSubscriber(b *testing.B) {
	benchmarkList(b, false)
}

func benchmarkList(b *testing.B, indexed bool) {
	m, p := ownerPolicy(b)
	rule := p.Rule(m, authz.ActionRead)
	if _, ok := rule.Index(); !ok {
		b.Fatal("rule is not indexable")
	}
	for _, n := range []int{10, 10_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			h := New(nil)
			if indexed {
				h.SetReadIndex(m.Name, rule.RowKey)
			}
			hit := &nopReceiver{}
			ch := walrelay.Channel{Model: m.Name, Kind: walrelay.KindList}
			for i := range n {
				r := &nopReceiver{}
				if i == n/2 {
					r = hit
				}
				claims := authz.Claims{"sub": "user-" + strconv.Itoa(i)}
				a := Access{Allow: func(row walrelay.Row) bool { return rule.Allow(claims, row) }}
				if indexed {
					key, all, none := rule.SubscriberKey(claims)
					a = Access{Key: key, All: all, None: none}
				}
				h.Subscribe(r, ch, nil, a)
			}
			ev := &walrelay.Event{Model: m, Op: walrelay.OpCreated,
				New: walrelay.Row{"id": int64(1), "user_id": "user-" + strconv.Itoa(n/2)}}
			txn := &walrelay.Txn{CommitLSN: 1, Events: []*walrelay.Event{ev}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				txn.CommitLSN++
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

// chatModel is the load tool's messages table with the chat scenario's
// rule, row.room_id in auth.rooms (not indexable: CEL per subscriber).
func chatModel(b *testing.B) (*walrelay.Model, *authz.Policy) {
	m := &walrelay.Model{
		Name: "Message", Schema: "walrelay_load", Table: "messages", PrimaryKey: "id",
		Subscribe:   []walrelay.ChannelKind{walrelay.KindList},
		Broadcast:   []walrelay.Op{walrelay.OpCreated},
		Permissions: map[string]string{"subscribe": "authenticated", "read": "row.room_id in auth.rooms"},
		Columns: []walrelay.Column{
			{Name: "id", TypeOID: 20, Type: "bigint", NotNull: true},
			{Name: "room_id", TypeOID: 23, Type: "integer", NotNull: true},
			{Name: "user_id", TypeOID: 25, Type: "text", NotNull: true},
			{Name: "body", TypeOID: 25, Type: "text", NotNull: true},
		},
	}
	p, err := authz.Compile(walrelay.NewSchema([]*walrelay.Model{m}))
	if err != nil {
		b.Fatal(err)
	}
	return m, p
}

// BenchmarkDeliverChat routes one created event of room 1 among the chat
// scenario's subscriptions: n :list subscribers spread over n/10 rooms,
// each with filter room_id=eq.N and the rule row.room_id in auth.rooms
// for its room; 10 receive it. Its cost should follow the 10 receivers,
// not the n subscriptions.
func BenchmarkDeliverChat(b *testing.B) {
	m, p := chatModel(b)
	rule := p.Rule(m, authz.ActionRead)
	for _, n := range []int{100, 1000, 10_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			h := New(nil)
			rooms := n / 10
			hits := make([]*nopReceiver, 0, 10)
			for i := range n {
				room := int64(i%rooms) + 1
				r := &nopReceiver{}
				if room == 1 {
					hits = append(hits, r)
				}
				claims := authz.Claims{"sub": "u" + strconv.Itoa(i), "rooms": []any{room}}
				f, err := filter.ParseString(m, "room_id=eq."+strconv.FormatInt(room, 10))
				if err != nil {
					b.Fatal(err)
				}
				h.Subscribe(r, walrelay.Channel{Model: m.Name, Kind: walrelay.KindList}, f,
					Access{Allow: func(row walrelay.Row) bool { return rule.Allow(claims, row) }})
			}
			ev := &walrelay.Event{Model: m, Op: walrelay.OpCreated,
				New: walrelay.Row{"id": int64(1), "room_id": int64(1), "user_id": "u0", "body": "hi"}}
			txn := &walrelay.Txn{CommitLSN: 1, Events: []*walrelay.Event{ev}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				txn.CommitLSN++
				if err := h.Deliver(b.Context(), txn); err != nil {
					b.Fatal(err)
				}
			}
			for _, r := range hits {
				if r.n == 0 {
					b.Fatal("a subscriber of room 1 got nothing")
				}
			}
		})
	}
}

// BenchmarkDeliverFanout routes one created event to n :list subscribers
// that all read it (the fanout scenario's shape): the per-receiver cost of
// routing, without the sockets.
func BenchmarkDeliverFanout(b *testing.B) {
	m, _ := chatModel(b)
	for _, n := range []int{1000, 10_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			h := New(nil)
			rs := make([]*nopReceiver, n)
			for i := range rs {
				rs[i] = &nopReceiver{}
				h.Subscribe(rs[i], walrelay.Channel{Model: m.Name, Kind: walrelay.KindList}, nil, ReadAll)
			}
			ev := &walrelay.Event{Model: m, Op: walrelay.OpCreated,
				New: walrelay.Row{"id": int64(1), "room_id": int64(1), "user_id": "u0", "body": "hi"}}
			txn := &walrelay.Txn{CommitLSN: 1, Events: []*walrelay.Event{ev}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				txn.CommitLSN++
				if err := h.Deliver(b.Context(), txn); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/delivery")
			if rs[n-1].n == 0 {
				b.Fatal("a subscriber got nothing")
			}
		})
	}
}
