package hub

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/walrelay/walrelay"
)

// roomy is a recorder with a small queue that the test drains, as a ws
// connection's write loop does.
type roomy struct {
	recorder
	max, queued, peak int
	grown             chan struct{}
}

func (r *roomy) Room() (int, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.grown == nil {
		r.grown = make(chan struct{})
	}
	return r.max - r.queued, r.grown
}

func (r *roomy) Receive(ds []Delivery) {
	r.recorder.Receive(ds)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queued += len(ds)
	r.peak = max(r.peak, r.queued)
}

// drain empties the queue and wakes whoever waits for room.
func (r *roomy) drain() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queued = 0
	if r.grown != nil {
		close(r.grown)
		r.grown = nil
	}
}

// drainUntil drains r until it has received n deliveries, within a
// generous deadline, and returns what it got.
func (r *roomy) drainUntil(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := r.got()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d deliveries within 10s, want %d: %q", len(got), n, got)
		}
		r.drain()
		time.Sleep(time.Millisecond) // polling a condition with a deadline
	}
}

func createdIDs(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("Message:list created %d", i))
	}
	return out
}

// A replay bigger than the receiver's queue is handed on as the queue
// drains, never more than it has room for, then live events follow with
// no gap and nothing twice, even those delivered while it catches up.
func TestReplayPacedByRoom(t *testing.T) {
	h := newStartedHub()
	for i := range 20 {
		deliverTxn(t, h, txnOf(walrelay.LSN(1100+i), uint32(600+i), ins(i, 5)))
	}
	r := &roomy{max: 4}
	if _, exact := resume(h, r, mustChannel(t, "Message:list"), nil, walrelay.Cursor{LSN: 1100, Seq: 0}); !exact {
		t.Fatal("a replay bigger than the receiver's room was not exact")
	}
	if got := r.got(); len(got) == 0 || len(got) > 4 {
		t.Fatalf("first part of the replay: %q", got)
	}
	// Live transactions while the replay is in progress.
	deliverTxn(t, h, txnOf(1200, 700, ins(20, 5)))
	deliverTxn(t, h, txnOf(1201, 701, ins(21, 5)))
	r.drainUntil(t, 21)
	deliverTxn(t, h, txnOf(1202, 702, ins(22, 5)))
	if got, want := r.drainUntil(t, 22), createdIDs(1, 22); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if r.peak > r.max {
		t.Fatalf("%d deliveries queued at once, room %d", r.peak, r.max)
	}
	if len(r.resyncs) != 0 {
		t.Fatalf("resyncs %q", r.resyncs)
	}
}

// A snapshot cursor's replay is paced too, and skips what the read saw.
func TestReplayPacedSnapshotCursor(t *testing.T) {
	h := newStartedHub()
	for i := range 10 {
		deliverTxn(t, h, txnOf(walrelay.LSN(1100+i), uint32(600+i), ins(i, 5)))
	}
	r := &roomy{max: 2}
	snap := walrelay.Cursor{LSN: 1102, Snapshot: true, Xmin: 602, Xmax: 604, Xip: []uint64{602}}
	if _, exact := resume(h, r, mustChannel(t, "Message:list"), nil, snap); !exact {
		t.Fatal("not exact")
	}
	want := append([]string{"Message:list created 2"}, createdIDs(4, 9)...)
	if got := r.drainUntil(t, len(want)); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// When the history is evicted past where a paced replay got to, the
// subscription is told to resync and continues live.
func TestReplayPacedEvicted(t *testing.T) {
	h := newStartedHub(WithHistory(10, time.Hour))
	for i := range 10 {
		deliverTxn(t, h, txnOf(walrelay.LSN(1100+i), uint32(600+i), ins(i, 5)))
	}
	r := &roomy{max: 4}
	if _, exact := resume(h, r, mustChannel(t, "Message:list"), nil, walrelay.Cursor{LSN: 1099, Seq: maxSeq}); !exact {
		t.Fatal("not exact")
	}
	for i := 10; i < 20; i++ {
		deliverTxn(t, h, txnOf(walrelay.LSN(1100+i), uint32(600+i), ins(i, 5)))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		n := len(r.resyncs)
		r.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no resync within 10s")
		}
		r.drain()
		time.Sleep(time.Millisecond) // polling a condition with a deadline
	}
	if want := []string{"Message:list cursor_expired"}; !reflect.DeepEqual(r.resyncs, want) {
		t.Fatalf("resyncs %q", r.resyncs)
	}
	n := len(r.got())
	deliverTxn(t, h, txnOf(1200, 700, ins(20, 5)))
	if got := r.drainUntil(t, n+1); got[n] != "Message:list created 20" {
		t.Fatalf("after resync: %q", got[n:])
	}
}

// A paced replay that reaches the end of the history while a chunked
// transaction is being streamed waits for it and replays it whole.
func TestReplayPacedWaitsForChunked(t *testing.T) {
	h := newStartedHub()
	for i := range 6 {
		deliverTxn(t, h, txnOf(walrelay.LSN(1100+i), uint32(600+i), ins(i, 5)))
	}
	r := &roomy{max: 2}
	if _, exact := resume(h, r, mustChannel(t, "Message:list"), nil, walrelay.Cursor{LSN: 1099, Seq: maxSeq}); !exact {
		t.Fatal("not exact")
	}
	cs := chunks(1200, 700, 2, ins(6, 5), ins(7, 5), ins(8, 5))
	deliverTxn(t, h, cs[0])
	r.drainUntil(t, 6)
	deliverTxn(t, h, cs[1])
	deliverTxn(t, h, txnOf(1300, 701, ins(9, 5)))
	if got, want := r.drainUntil(t, 10), createdIDs(0, 9); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// Nothing of a paced replay arrives after Unsubscribe returns.
func TestReplayPacedUnsubscribe(t *testing.T) {
	h := newStartedHub()
	for i := range 10 {
		deliverTxn(t, h, txnOf(walrelay.LSN(1100+i), uint32(600+i), ins(i, 5)))
	}
	r := &roomy{max: 2}
	since := walrelay.Cursor{LSN: 1099, Seq: maxSeq}
	s := h.Resume(r, nil, mustChannel(t, "Message:list"), nil, ReadAll, &since, func(walrelay.Cursor, bool) {})
	h.Unsubscribe(s)
	n := len(r.got())
	for i := range 5 {
		r.drain()
		deliverTxn(t, h, txnOf(walrelay.LSN(1200+i), uint32(700+i), ins(99, 5)))
	}
	if got := r.got(); len(got) != n {
		t.Fatalf("after Unsubscribe: %q", got[n:])
	}
}

var fenceModel = &walrelay.Model{
	Name: "Fence", Schema: "public", Table: "fences", PrimaryKey: "id",
	Subscribe: []walrelay.ChannelKind{walrelay.KindList},
	Broadcast: []walrelay.Op{walrelay.OpCreated},
}

// While a paced replay is in progress, the Receiver's other subscriptions
// (made before or during it) get nothing ahead of it: everything the
// Receiver gets is in commit order, so an event on one channel (a fence)
// arrives after every earlier event of the replayed one.
func TestReplayPacedKeepsCommitOrder(t *testing.T) {
	h := newStartedHub()
	r := &roomy{max: 4}
	h.Subscribe(r, walrelay.Channel{Model: "Fence", Kind: walrelay.KindList}, nil, ReadAll)
	for i := range 20 {
		deliverTxn(t, h, txnOf(walrelay.LSN(1100+i), uint32(600+i), ins(i, 5)))
	}
	if _, exact := resume(h, r, mustChannel(t, "Message:list"), nil, walrelay.Cursor{LSN: 1100, Seq: 0}); !exact {
		t.Fatal("not exact")
	}
	fence := &walrelay.Event{Model: fenceModel, Op: walrelay.OpCreated, New: walrelay.Row{"id": 1}}
	deliverTxn(t, h, txnOf(1200, 700, ins(20, 5), fence))
	h.Subscribe(r, mustChannel(t, "Message:created"), nil, ReadAll)
	deliverTxn(t, h, txnOf(1201, 701, ins(21, 5)))
	want := append(createdIDs(1, 20), "Fence:list created 1", "Message:list created 21", "Message:created created 21")
	if got := r.drainUntil(t, len(want)); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	deliverTxn(t, h, txnOf(1202, 702, ins(22, 5)))
	if got := r.drainUntil(t, len(want)+2); !reflect.DeepEqual(got[len(want):], []string{"Message:list created 22", "Message:created created 22"}) {
		t.Fatalf("live after the replay: %q", got[len(want):])
	}
}
