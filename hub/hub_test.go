package hub

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/walrelay/walrelay"
)

var testModel = &walrelay.Model{
	Name: "Message", Schema: "public", Table: "messages", PrimaryKey: "id",
	Subscribe: []walrelay.ChannelKind{walrelay.KindList, walrelay.KindItem},
	Broadcast: []walrelay.Op{walrelay.OpCreated, walrelay.OpUpdated, walrelay.OpDeleted, walrelay.OpTruncated},
}

// recorder is a Receiver that records what it gets.
type recorder struct {
	mu      sync.Mutex
	calls   [][]Delivery
	resyncs []string
}

func (r *recorder) Room() (int, <-chan struct{}) { return 1 << 30, nil }

func (r *recorder) Resync(s *Subscription, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resyncs = append(r.resyncs, s.Channel.String()+" "+reason)
}

func (r *recorder) Receive(ds []Delivery) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, ds)
}

// got returns "channel event id" for every delivery, in order.
func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ds := range r.calls {
		for _, d := range ds {
			out = append(out, fmt.Sprintf("%s %s %v", d.Msg.Channel, d.Msg.Op, d.Msg.Event.ID()))
		}
	}
	return out
}

// roomIs matches rows whose room_id equals the value.
type roomIs int

func (f roomIs) Match(row walrelay.Row) bool { return row["room_id"] == int(f) }

func ins(id, room int) *walrelay.Event {
	return &walrelay.Event{Model: testModel, Op: walrelay.OpCreated, New: walrelay.Row{"id": id, "room_id": room}}
}

func upd(id, oldRoom, newRoom int) *walrelay.Event {
	return &walrelay.Event{Model: testModel, Op: walrelay.OpUpdated,
		Old: walrelay.Row{"id": id, "room_id": oldRoom}, New: walrelay.Row{"id": id, "room_id": newRoom}}
}

func del(id, room int) *walrelay.Event {
	return &walrelay.Event{Model: testModel, Op: walrelay.OpDeleted, Old: walrelay.Row{"id": id, "room_id": room}}
}

var lsn walrelay.LSN = 100

func mustDeliver(t testing.TB, h *Hub, evs ...*walrelay.Event) *walrelay.Txn {
	t.Helper()
	lsn += 10
	txn := &walrelay.Txn{CommitLSN: lsn, EndLSN: lsn + 1, Events: evs}
	for i, ev := range evs {
		ev.LSN, ev.Seq = lsn, i
	}
	if err := h.Deliver(context.Background(), txn); err != nil {
		t.Fatal(err)
	}
	return txn
}

func mustChannel(t testing.TB, s string) walrelay.Channel {
	t.Helper()
	ch, err := walrelay.ParseChannel(s)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func TestRoutingByChannelKind(t *testing.T) {
	h := New(nil)
	subs := map[string]*recorder{}
	for _, name := range []string{"Message:list", "Message:created", "Message:item:1", "Message:item:2",
		"Message:updated:1", "Message:deleted:1", "Other:list"} {
		r := &recorder{}
		h.Subscribe(r, mustChannel(t, name), nil, ReadAll)
		subs[name] = r
	}
	mustDeliver(t, h, ins(1, 5), upd(1, 5, 6), ins(2, 5))
	mustDeliver(t, h, del(1, 6), &walrelay.Event{Model: testModel, Op: walrelay.OpTruncated},
		&walrelay.Event{Op: walrelay.OpMessage, Prefix: "walrelay"})

	want := map[string][]string{
		"Message:list": {"Message:list created 1", "Message:list updated 1", "Message:list created 2",
			"Message:list deleted 1", "Message:list truncated <nil>"},
		"Message:created":   {"Message:created created 1", "Message:created created 2"},
		"Message:item:1":    {"Message:item:1 updated 1", "Message:item:1 deleted 1"},
		"Message:item:2":    nil,
		"Message:updated:1": {"Message:updated:1 updated 1"},
		"Message:deleted:1": {"Message:deleted:1 deleted 1"},
		"Other:list":        nil,
	}
	for name, w := range want {
		if got := subs[name].got(); !reflect.DeepEqual(got, w) {
			t.Errorf("%s got %q, want %q", name, got, w)
		}
	}
	// One Receive call per transaction with deliveries.
	if n := len(subs["Message:list"].calls); n != 2 {
		t.Errorf("list receiver called %d times, want 2 (one per txn)", n)
	}
}

func TestBroadcastListLimitsOps(t *testing.T) {
	m := *testModel
	m.Broadcast = []walrelay.Op{walrelay.OpCreated}
	h := New(nil)
	r := &recorder{}
	h.Subscribe(r, mustChannel(t, "Message:list"), nil, ReadAll)
	e1, e2, e3 := ins(1, 5), upd(1, 5, 5), &walrelay.Event{Model: &m, Op: walrelay.OpTruncated}
	e1.Model, e2.Model = &m, &m
	mustDeliver(t, h, e1, e2, e3)
	if got, want := r.got(), []string{"Message:list created 1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestListFilterTransitions(t *testing.T) {
	h := New(nil)
	r := &recorder{}
	h.Subscribe(r, mustChannel(t, "Message:list"), roomIs(5), ReadAll)
	mustDeliver(t, h,
		ins(1, 5),    // matches: created
		ins(2, 6),    // no match: nothing
		upd(1, 5, 5), // stays in: updated
		upd(1, 5, 6), // leaves: deleted
		upd(2, 6, 5), // enters: created
		upd(3, 7, 8), // never in: nothing
		del(2, 5),    // matches on the old row: deleted
		del(4, 6),    // no match: nothing
	)
	noOld := &walrelay.Event{Model: testModel, Op: walrelay.OpUpdated, New: walrelay.Row{"id": 9, "room_id": 7}}
	mustDeliver(t, h, noOld) // cannot know: deleted
	want := []string{"Message:list created 1", "Message:list updated 1", "Message:list deleted 1",
		"Message:list created 2", "Message:list deleted 2", "Message:list deleted 9"}
	if got := r.got(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestFilterOnItemAndSharedMessages(t *testing.T) {
	h := New(nil)
	a, b, c := &recorder{}, &recorder{}, &recorder{}
	h.Subscribe(a, mustChannel(t, "Message:item:1"), roomIs(5), ReadAll)
	h.Subscribe(b, mustChannel(t, "Message:item:1"), nil, ReadAll)
	h.Subscribe(c, mustChannel(t, "Message:list"), nil, ReadAll)
	h.Subscribe(c, mustChannel(t, "Message:created"), nil, ReadAll)
	mustDeliver(t, h, ins(1, 5), upd(1, 5, 6))
	if got, want := a.got(), []string(nil); !reflect.DeepEqual(got, want) {
		t.Errorf("filtered item got %q, want %q", got, want)
	}
	if got, want := b.got(), []string{"Message:item:1 updated 1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("item got %q, want %q", got, want)
	}
	// c gets both channels' deliveries in one call, in commit order.
	if len(c.calls) != 1 || len(c.calls[0]) != 3 {
		t.Fatalf("c calls = %v", c.got())
	}
	if got, want := c.got(), []string{"Message:list created 1", "Message:created created 1", "Message:list updated 1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("c got %q, want %q", got, want)
	}

	// Subscribers of one channel share one Message.
	h2 := New(nil)
	x, y := &recorder{}, &recorder{}
	h2.Subscribe(x, mustChannel(t, "Message:list"), nil, ReadAll)
	h2.Subscribe(y, mustChannel(t, "Message:list"), nil, ReadAll)
	mustDeliver(t, h2, ins(1, 5))
	if x.calls[0][0].Msg != y.calls[0][0].Msg {
		t.Error("subscribers of one channel got different Message values")
	}
	calls := 0
	enc := func(*Message) ([]byte, error) { calls++; return []byte("x"), nil }
	x.calls[0][0].Msg.Encoded(enc)
	y.calls[0][0].Msg.Encoded(enc)
	if calls != 1 {
		t.Errorf("encode called %d times, want 1", calls)
	}
}

func TestUnsubscribeAndPosition(t *testing.T) {
	h := New(nil)
	r := &recorder{}
	if pos := h.Position(); !reflect.DeepEqual(pos, walrelay.Cursor{}) {
		t.Fatalf("initial position %+v", pos)
	}
	s, cur := h.Subscribe(r, mustChannel(t, "Message:item:1"), nil, ReadAll)
	if !reflect.DeepEqual(cur, walrelay.Cursor{}) {
		t.Fatalf("cursor %+v", cur)
	}
	txn := mustDeliver(t, h, ins(1, 5), upd(1, 5, 5))
	if want := (walrelay.Cursor{LSN: txn.CommitLSN, Seq: 1}); !reflect.DeepEqual(h.Position(), want) {
		t.Fatalf("position %+v, want %+v", h.Position(), want)
	}
	_, cur = h.Subscribe(&recorder{}, mustChannel(t, "Message:list"), nil, ReadAll)
	if !reflect.DeepEqual(cur, h.Position()) {
		t.Fatalf("subscribe cursor %+v, want %+v", cur, h.Position())
	}
	h.Unsubscribe(s)
	h.Unsubscribe(s)
	mustDeliver(t, h, upd(1, 5, 5))
	if got, want := r.got(), []string{"Message:item:1 updated 1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if h.Len() != 1 {
		t.Fatalf("Len = %d, want 1", h.Len())
	}
}

// TestConcurrentSubscribe runs Subscribe/Unsubscribe against Deliver; with
// -race it checks the locking, and every subscription's deliveries must
// start exactly after its cursor.
func TestConcurrentSubscribe(t *testing.T) {
	h := New(nil)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			mustDeliver(t, h, ins(i, 5))
		}
	}()
	for range 200 {
		r := &recorder{}
		s, cur := h.Subscribe(r, mustChannel(t, "Message:list"), nil, ReadAll)
		h.Unsubscribe(s)
		for _, ds := range r.calls {
			for _, d := range ds {
				if d.Msg.Event.LSN <= cur.LSN {
					t.Errorf("got event at %v, subscribed after %v", d.Msg.Event.LSN, cur.LSN)
				}
			}
		}
	}
	close(stop)
	wg.Wait()
}

func TestReplace(t *testing.T) {
	h := New(nil)
	r := &recorder{}
	s, _ := h.Subscribe(r, mustChannel(t, "Message:list"), roomIs(5), ReadAll)
	mustDeliver(t, h, ins(1, 5), ins(2, 6))
	s2, _ := h.Replace(s, roomIs(6), ReadAll)
	if s2.Channel != s.Channel || s2.Receiver() != r {
		t.Fatalf("replaced subscription %+v", s2)
	}
	mustDeliver(t, h, ins(3, 5), ins(4, 6))
	if got, want := r.got(), []string{"Message:list created 1", "Message:list created 4"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if h.Len() != 1 {
		t.Fatalf("Len = %d", h.Len())
	}
}

func TestEpoch(t *testing.T) {
	h := New(nil)
	h.SetEpoch(7)
	_, cur := h.Subscribe(&recorder{}, mustChannel(t, "Message:list"), nil, ReadAll)
	txn := mustDeliver(t, h, ins(1, 5))
	if cur.Epoch != 7 || h.Position().Epoch != 7 || h.Position().LSN != txn.CommitLSN {
		t.Fatalf("cursor %+v, position %+v", cur, h.Position())
	}
}
