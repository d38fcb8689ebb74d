package hub

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/walrelay/walrelay"
)

// txnOf makes a transaction of evs at lsn with xid, numbering the events.
func txnOf(lsn walrelay.LSN, xid uint32, evs ...*walrelay.Event) *walrelay.Txn {
	for i, ev := range evs {
		ev.LSN, ev.Seq, ev.XID = lsn, i, xid
	}
	return &walrelay.Txn{XID: xid, CommitLSN: lsn, EndLSN: lsn + 1, Events: evs}
}

func deliverTxn(t *testing.T, h *Hub, txn *walrelay.Txn) {
	t.Helper()
	if err := h.Deliver(context.Background(), txn); err != nil {
		t.Fatal(err)
	}
}

// resume subscribes r with since and returns the subscribed cursor and
// whether since was honoured.
func resume(h *Hub, r Receiver, ch walrelay.Channel, f Matcher, since walrelay.Cursor) (walrelay.Cursor, bool) {
	var pos walrelay.Cursor
	var exact bool
	h.Resume(r, nil, ch, f, ReadAll, &since, func(p walrelay.Cursor, e bool) { pos, exact = p, e })
	return pos, exact
}

func newStartedHub(opts ...Option) *Hub {
	h := New(nil, opts...)
	h.SetStart(1000, 500)
	return h
}

// TestReplayMatchesLive: for every channel kind and a filter with view
// transitions, a subscription resumed from a cursor receives exactly what
// a live subscription made at that cursor received, no more, no less,
// across the seam between replay and live delivery.
func TestReplayMatchesLive(t *testing.T) {
	h := newStartedHub()
	chans := []string{"Message:list", "Message:created", "Message:item:1", "Message:updated:1", "Message:deleted:1"}
	live := map[string]*recorder{}
	txns := []*walrelay.Txn{
		txnOf(1100, 600, ins(1, 5), ins(2, 6)),
		txnOf(1200, 601, upd(1, 5, 6), upd(2, 6, 5)), // view transitions for room 5
		txnOf(1300, 602, upd(1, 6, 6), del(2, 5), &walrelay.Event{Model: testModel, Op: walrelay.OpTruncated}),
		txnOf(1400, 603, del(1, 6), ins(3, 5)),
	}
	deliverTxn(t, h, txns[0])
	// Live subscribers start after event 0 of txn 0 (by filtering that event
	// out: they subscribe with since = that event, before the replay exists).
	since := walrelay.Cursor{LSN: 1100, Seq: 0}
	replayed := map[string]*recorder{}
	for _, name := range chans {
		live[name] = &recorder{}
		replayed[name] = &recorder{}
	}
	// Deliver the rest; the "live" recorders subscribe at the very start
	// (registered before txn 1, receiving txn 0's event 1 by hand below).
	h2 := newStartedHub()
	for _, name := range chans {
		h2.Subscribe(live[name], mustChannel(t, name), roomIs(5), ReadAll)
	}
	deliverTxn(t, h2, txnOf(1100, 600, ins(2, 6))) // txn 0 minus event 0, as seen live after it
	for _, txn := range txns[1:3] {
		deliverTxn(t, h, txn)
		deliverTxn(t, h2, cloneTxn(txn))
	}
	for _, name := range chans {
		if _, exact := resume(h, replayed[name], mustChannel(t, name), roomIs(5), since); !exact {
			t.Fatalf("%s: resume from %v not exact", name, since)
		}
	}
	deliverTxn(t, h, txns[3])
	deliverTxn(t, h2, cloneTxn(txns[3]))
	for _, name := range chans {
		got, want := replayed[name].got(), live[name].got()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: replay+live %q, live %q", name, got, want)
		}
	}
	if n := len(replayed["Message:list"].got()); n == 0 {
		t.Fatal("nothing replayed")
	}
}

func cloneTxn(t *walrelay.Txn) *walrelay.Txn {
	c := *t
	c.Events = nil
	for _, ev := range t.Events {
		e := *ev
		c.Events = append(c.Events, &e)
	}
	return &c
}

func TestResumeEventCursorSeam(t *testing.T) {
	h := newStartedHub()
	deliverTxn(t, h, txnOf(1100, 600, ins(1, 5), ins(2, 5)))
	deliverTxn(t, h, txnOf(1200, 601, ins(3, 5)))
	r := &recorder{}
	pos, exact := resume(h, r, mustChannel(t, "Message:list"), nil, walrelay.Cursor{LSN: 1100, Seq: 0})
	if !exact || pos.LSN != 1200 {
		t.Fatalf("exact %v pos %v", exact, pos)
	}
	deliverTxn(t, h, txnOf(1300, 602, ins(4, 5)))
	want := []string{"Message:list created 2", "Message:list created 3", "Message:list created 4"}
	if got := r.got(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	// A cursor ahead of the hub (e.g. after a restart): nothing replayed,
	// live events up to it dropped.
	r2 := &recorder{}
	if _, exact := resume(h, r2, mustChannel(t, "Message:list"), nil, walrelay.Cursor{LSN: 1400, Seq: 0}); !exact {
		t.Fatal("cursor ahead of the hub not exact")
	}
	deliverTxn(t, h, txnOf(1400, 603, ins(5, 5), ins(6, 5)))
	if got := r2.got(); !reflect.DeepEqual(got, []string{"Message:list created 6"}) {
		t.Fatalf("ahead: got %q", got)
	}
}

func TestResumeSnapshotCursor(t *testing.T) {
	h := newStartedHub()                          // startXmax 500
	deliverTxn(t, h, txnOf(1100, 600, ins(1, 5))) // in xip: not seen by the read
	deliverTxn(t, h, txnOf(1200, 601, ins(2, 5))) // visible
	deliverTxn(t, h, txnOf(1300, 603, ins(3, 5))) // >= xmax: not seen
	r := &recorder{}
	snap := walrelay.Cursor{LSN: 1250, Snapshot: true, Xmin: 600, Xmax: 603, Xip: []uint64{600, 602}}
	if _, exact := resume(h, r, mustChannel(t, "Message:list"), nil, snap); !exact {
		t.Fatal("not exact")
	}
	deliverTxn(t, h, txnOf(1400, 602, ins(4, 5))) // in xip, committed later: delivered
	deliverTxn(t, h, txnOf(1500, 599, ins(5, 5))) // below xmin (visible): dropped
	want := []string{"Message:list created 1", "Message:list created 3", "Message:list created 4"}
	if got := r.got(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	// A snapshot whose xmin does not exceed every xid before the start.
	if _, exact := resume(h, &recorder{}, mustChannel(t, "Message:list"), nil,
		walrelay.Cursor{Snapshot: true, Xmin: 499, Xmax: 610}); exact {
		t.Fatal("xmin <= startXmax-1: exact")
	}
	// Without a startXmax nothing before the start is known.
	h2 := New(nil)
	h2.SetStart(1000, 0)
	if _, exact := resume(h2, &recorder{}, mustChannel(t, "Message:list"), nil,
		walrelay.Cursor{Snapshot: true, Xmin: 600, Xmax: 610}); exact {
		t.Fatal("unknown start xmax: exact")
	}
}

func TestResyncWhenEvicted(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	h := newStartedHub(WithHistory(3, time.Minute), WithClock(func() time.Time { return now }))
	deliverTxn(t, h, txnOf(1100, 600, ins(1, 5), ins(2, 5)))
	deliverTxn(t, h, txnOf(1200, 601, ins(3, 5)))
	deliverTxn(t, h, txnOf(1300, 602, ins(4, 5))) // 4 events > 3: txn 1100 evicted
	if n := h.HistoryLen("Message"); n != 2 {
		t.Fatalf("history holds %d events, want 2", n)
	}
	list := mustChannel(t, "Message:list")
	cases := map[string]struct {
		c     walrelay.Cursor
		exact bool
	}{
		"in evicted txn":          {walrelay.Cursor{LSN: 1100, Seq: 0}, false},
		"last of evicted txn":     {walrelay.Cursor{LSN: 1100, Seq: 1}, true},
		"before start":            {walrelay.Cursor{LSN: 900}, false},
		"wrong epoch":             {walrelay.Cursor{Epoch: 9, LSN: 1300}, false},
		"snapshot sees evicted":   {walrelay.Cursor{Snapshot: true, Xmin: 601, Xmax: 601}, true},
		"snapshot misses evicted": {walrelay.Cursor{Snapshot: true, Xmin: 590, Xmax: 601, Xip: []uint64{600}}, false},
	}
	for name, tc := range cases {
		if _, exact := resume(h, &recorder{}, list, nil, tc.c); exact != tc.exact {
			t.Errorf("%s: exact %v, want %v", name, exact, tc.exact)
		}
	}
	// Age: past max age the rest goes, Retained releases it.
	if got := h.Retained(); got != 1200 {
		t.Fatalf("Retained = %v, want 1200", got)
	}
	now = now.Add(2 * time.Minute)
	if got := h.Retained(); got != 0 {
		t.Fatalf("Retained after max age = %v, want 0", got)
	}
	if _, exact := resume(h, &recorder{}, list, nil, walrelay.Cursor{LSN: 1200, Seq: 0}); exact {
		t.Fatal("aged out cursor exact")
	}
	if _, exact := resume(h, &recorder{}, list, nil, walrelay.Cursor{LSN: 1300, Seq: 0}); !exact {
		t.Fatal("cursor at the last event not exact")
	}
}

func TestDroppedXidsBounded(t *testing.T) {
	h := newStartedHub(WithHistory(1, time.Hour), WithMaxDroppedXids(2))
	for i := range 4 { // xids 600..603, all but the last evicted
		deliverTxn(t, h, txnOf(walrelay.LSN(1100+100*i), uint32(600+i), ins(i, 5)))
	}
	list := mustChannel(t, "Message:list")
	// 600 fell off the kept list: droppedMax is 600, so xmin must exceed it.
	if _, exact := resume(h, &recorder{}, list, nil, walrelay.Cursor{Snapshot: true, Xmin: 600, Xmax: 610, Xip: []uint64{}}); exact {
		t.Fatal("xmin 600 <= droppedMax 600: exact")
	}
	if _, exact := resume(h, &recorder{}, list, nil, walrelay.Cursor{Snapshot: true, Xmin: 601, Xmax: 610, Xip: []uint64{601}}); exact {
		t.Fatal("kept evicted xid 601 in xip: exact")
	}
	if _, exact := resume(h, &recorder{}, list, nil, walrelay.Cursor{Snapshot: true, Xmin: 601, Xmax: 610, Xip: []uint64{605}}); !exact {
		t.Fatal("evicted 601, 602 visible: not exact")
	}
}

func TestDedupeByCommitLSN(t *testing.T) {
	h := newStartedHub()
	r := &recorder{}
	h.Subscribe(r, mustChannel(t, "Message:list"), nil, ReadAll)
	deliverTxn(t, h, txnOf(1000, 590, ins(9, 5))) // at the start: re-streamed by the slot, kept
	deliverTxn(t, h, txnOf(1100, 600, ins(1, 5)))
	deliverTxn(t, h, txnOf(1100, 600, ins(1, 5))) // re-streamed
	deliverTxn(t, h, txnOf(1050, 599, ins(2, 5))) // older
	deliverTxn(t, h, txnOf(1200, 601, ins(3, 5)))
	want := []string{"Message:list created 9", "Message:list created 1", "Message:list created 3"}
	if got := r.got(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if n := h.HistoryLen("Message"); n != 3 {
		t.Fatalf("history %d, want 3", n)
	}
	if got := h.Retained(); got != 1000 {
		t.Fatalf("Retained = %v, want 1000", got)
	}
}

func TestReset(t *testing.T) {
	h := newStartedHub()
	h.SetEpoch(1)
	a, b := &recorder{}, &recorder{}
	h.Subscribe(a, mustChannel(t, "Message:list"), nil, ReadAll)
	h.Subscribe(a, mustChannel(t, "Message:item:1"), nil, ReadAll)
	h.Subscribe(b, mustChannel(t, "Message:created"), nil, ReadAll)
	deliverTxn(t, h, txnOf(1100, 600, ins(1, 5)))
	h.Reset(2)
	if h.Epoch() != 2 || h.HistoryLen("Message") != 0 || h.Retained() != 0 {
		t.Fatalf("epoch %d history %d", h.Epoch(), h.HistoryLen("Message"))
	}
	slices.Sort(a.resyncs)
	if want := []string{"Message:item:1 reset", "Message:list reset"}; !reflect.DeepEqual(a.resyncs, want) {
		t.Fatalf("a resyncs %q", a.resyncs)
	}
	if want := []string{"Message:created reset"}; !reflect.DeepEqual(b.resyncs, want) {
		t.Fatalf("b resyncs %q", b.resyncs)
	}
	list := mustChannel(t, "Message:list")
	// No event cursor resumes before the new stream's first transaction.
	if _, exact := resume(h, &recorder{}, list, nil, walrelay.Cursor{Epoch: 2, LSN: 1100}); exact {
		t.Fatal("resumed before the new stream started")
	}
	deliverTxn(t, h, txnOf(1050, 700, ins(2, 5))) // the new stream may restart anywhere
	if got := a.got(); len(got) != 2 {
		t.Fatalf("subscriptions after reset got %q", got)
	}
	if _, exact := resume(h, &recorder{}, list, nil, walrelay.Cursor{Epoch: 1, LSN: 1050}); exact {
		t.Fatal("old epoch resumed")
	}
	if _, exact := resume(h, &recorder{}, list, nil, walrelay.Cursor{Epoch: 2, LSN: 1049, Seq: maxSeq}); !exact {
		t.Fatal("cursor just before the new stream's first transaction not exact")
	}
}

// chunks splits evs (numbered across the transaction) into chunked Txns.
func chunks(lsn walrelay.LSN, xid uint32, size int, evs ...*walrelay.Event) []*walrelay.Txn {
	txnOf(lsn, xid, evs...)
	var out []*walrelay.Txn
	for i := 0; i < len(evs); i += size {
		j := min(i+size, len(evs))
		out = append(out, &walrelay.Txn{XID: xid, CommitLSN: lsn, EndLSN: lsn + 1, Events: evs[i:j], More: j < len(evs)})
	}
	return out
}

func TestChunkedTransaction(t *testing.T) {
	h := newStartedHub(WithHistory(3, time.Hour))
	before := &recorder{}
	h.Subscribe(before, mustChannel(t, "Message:list"), nil, ReadAll)
	cs := chunks(1100, 600, 2, ins(1, 5), ins(2, 5), ins(3, 5), ins(4, 5), ins(5, 5))
	deliverTxn(t, h, cs[0])
	if p := h.Position(); p.LSN != 999 {
		t.Fatalf("position moved mid-transaction: %v", p)
	}
	// Made mid-transaction: receives none of it, and says so in its cursor.
	during := &recorder{}
	_, pos := h.Subscribe(during, mustChannel(t, "Message:list"), nil, ReadAll)
	if pos.LSN != 1100 || pos.Seq != maxSeq {
		t.Fatalf("cursor of a subscription made mid-transaction: %+v", pos)
	}
	// Resuming from before the transaction cannot be exact.
	if _, exact := resume(h, &recorder{}, mustChannel(t, "Message:list"), nil, walrelay.Cursor{LSN: 1000, Seq: maxSeq}); exact {
		t.Fatal("resumed across a partial transaction")
	}
	deliverTxn(t, h, cs[1])
	deliverTxn(t, h, cs[1]) // a re-sent chunk is dropped
	deliverTxn(t, h, cs[2])
	if p := h.Position(); p.LSN != 1100 || p.Seq != 4 {
		t.Fatalf("position after the last chunk: %+v", p)
	}
	deliverTxn(t, h, txnOf(1200, 601, ins(6, 5)))
	if got := before.got(); len(got) != 6 || got[4] != "Message:list created 5" {
		t.Fatalf("subscriber from before got %q", got)
	}
	if got := during.got(); !reflect.DeepEqual(got, []string{"Message:list created 6"}) {
		t.Fatalf("subscriber from during got %q", got)
	}
	// 5 events > MaxEvents 3: not kept; the history continues after it.
	if n := h.HistoryLen("Message"); n != 1 {
		t.Fatalf("history %d events, want 1", n)
	}
	if _, exact := resume(h, &recorder{}, mustChannel(t, "Message:list"), nil, walrelay.Cursor{LSN: 1100, Seq: 2}); exact {
		t.Fatal("resumed inside a transaction too big to keep")
	}
	r := &recorder{}
	if _, exact := resume(h, r, mustChannel(t, "Message:list"), nil, walrelay.Cursor{LSN: 1100, Seq: maxSeq}); !exact {
		t.Fatal("cursor after the big transaction not exact")
	}
	if got := r.got(); !reflect.DeepEqual(got, []string{"Message:list created 6"}) {
		t.Fatalf("replay %q", got)
	}
}
