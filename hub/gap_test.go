package hub

import (
	"reflect"
	"testing"

	"github.com/walrelay/walrelay"
)

// stoppedModel is a version of testModel whose table no longer fits.
var stoppedModel = func() *walrelay.Model {
	m := *testModel
	m.Unavailable = &walrelay.Mismatch{Model: m.Name}
	m.Unavailable.Add("w.yaml:3", "hide column %q is no longer in %s", "ip", m.QualifiedTable())
	return &m
}()

func insStopped(id, room int) *walrelay.Event {
	ev := ins(id, room)
	ev.Model = stoppedModel
	return ev
}

// Events of a stopped model version are never routed or kept; each
// subscription is told to resync once per stop, and again when the model
// resumes (by its events, or by EndGap); a cursor from before the gap no
// longer resumes exactly, a snapshot that shows the dropped transaction
// does.
func TestStoppedModelLeavesAGap(t *testing.T) {
	h := newStartedHub()
	r := &recorder{}
	list := mustChannel(t, "Message:list")
	h.Subscribe(r, list, nil, ReadAll)
	item := &recorder{}
	h.Subscribe(item, mustChannel(t, "Message:item:2"), nil, ReadAll)

	deliverTxn(t, h, txnOf(1100, 600, ins(1, 5)))
	deliverTxn(t, h, txnOf(1200, 601, upd(3, 5, 5), insStopped(2, 5)))
	deliverTxn(t, h, txnOf(1300, 602, insStopped(4, 5)))
	if got, want := r.got(), []string{"Message:list created 1", "Message:list updated 3"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("delivered %q, want %q (nothing stopped)", got, want)
	}
	if want := []string{"Message:list schema_changed"}; !reflect.DeepEqual(r.resyncs, want) {
		t.Fatalf("resyncs %q, want %q", r.resyncs, want)
	}
	if want := []string{"Message:item:2 schema_changed"}; !reflect.DeepEqual(item.resyncs, want) {
		t.Fatalf("item resyncs %q, want %q", item.resyncs, want)
	}
	if n := h.HistoryLen("Message"); n != 0 {
		t.Fatalf("history holds %d events across the gap", n)
	}
	if _, exact := resume(h, &recorder{}, list, nil, walrelay.Cursor{LSN: 1100, Seq: 0}); exact {
		t.Fatal("a cursor from before the gap resumed exactly")
	}
	if _, exact := resume(h, &recorder{}, list, nil, walrelay.Cursor{Snapshot: true, Xmin: 603, Xmax: 603}); !exact {
		t.Fatal("a snapshot showing the dropped transactions did not resume exactly")
	}
	// A subscription made during the stop is told at the next gap.
	late := &recorder{}
	h.Subscribe(late, list, nil, ReadAll)
	deliverTxn(t, h, txnOf(1400, 603, insStopped(5, 5)))
	if len(late.resyncs) != 1 || len(r.resyncs) != 1 {
		t.Fatalf("resyncs: late %q, first %q", late.resyncs, r.resyncs)
	}

	// Resumed by its events: told again, then served.
	deliverTxn(t, h, txnOf(1500, 604, ins(6, 5)))
	if want := []string{"Message:list schema_changed", "Message:list schema_changed"}; !reflect.DeepEqual(r.resyncs, want) {
		t.Fatalf("resyncs after the model resumed %q, want %q", r.resyncs, want)
	}
	if got := r.got(); got[len(got)-1] != "Message:list created 6" {
		t.Fatalf("delivered %q after the model resumed", got)
	}
	// EndGap after that tells nobody again; after another stop it does.
	h.EndGap("Message")
	if len(r.resyncs) != 2 {
		t.Fatalf("EndGap without a stop sent resync: %q", r.resyncs)
	}
	deliverTxn(t, h, txnOf(1600, 605, insStopped(7, 5)))
	h.EndGap("Message")
	if len(r.resyncs) != 4 {
		t.Fatalf("resyncs after stop and EndGap: %q", r.resyncs)
	}
}

// A chunked transaction with a stopped event is not kept in the history;
// its later events of the resumed version are sent after another resync.
func TestStoppedModelInChunkedTransaction(t *testing.T) {
	h := newStartedHub()
	r := &recorder{}
	h.Subscribe(r, mustChannel(t, "Message:list"), nil, ReadAll)
	for _, c := range chunks(1100, 600, 1, ins(1, 5), insStopped(2, 5), ins(3, 5)) {
		deliverTxn(t, h, c)
	}
	if n := h.HistoryLen("Message"); n != 0 {
		t.Fatalf("history holds %d events of a transaction with a gap", n)
	}
	if len(r.resyncs) != 2 {
		t.Fatalf("resyncs %q, want two", r.resyncs)
	}
	if got, want := r.got(), []string{"Message:list created 1", "Message:list created 3"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}
}
