package cluster

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/cluster/natstest"
)

func lsns(txs []*walrelay.Txn) []walrelay.LSN {
	var out []walrelay.LSN
	for _, tx := range txs {
		out = append(out, tx.CommitLSN)
	}
	return out
}

// What the leader publishes reaches a follower whole and in order: a
// transaction larger than a part, the chunks of a large transaction, and
// a transaction published again (a takeover) is stored once. A node that
// starts later reads the stream from its first message.
func TestPublishedTransactionsReachFollowers(t *testing.T) {
	ns := natstest.MustStart(t)
	a := mustNode(t, ns.URL(), Config{})
	if _, ok, err := a.StreamStart(context.Background(), 5); err != nil || ok {
		t.Fatalf("empty stream: ok=%v err=%v", ok, err)
	}
	la := newLocal()
	if err := a.Follow(la, constEpoch(5), nopHub{}); err != nil {
		t.Fatal(err)
	}
	run(t, a)
	pub := a.Publisher(5)
	mustStart(t, pub)

	big := strings.Repeat("y", maxPart)
	t1 := txnAt(100, 0, false, "a", big, "c")
	t2a := txnAt(200, 0, true, "d", "e")
	t2b := txnAt(200, 2, false, "f")
	t3 := txnAt(300, 0, false, "g")
	mustDeliver(t, pub, t1, t2a, t2b)
	stored := a.Published()
	// A new term re-streams from the slot's position: duplicates.
	mustStart(t, pub)
	mustDeliver(t, pub, t1, t2a, t2b)
	if a.Published() != stored {
		t.Fatalf("a duplicate was stored: %d parts, was %d", a.Published(), stored)
	}
	mustDeliver(t, pub, t3)

	got := la.upTo(t, 300)
	if want := []walrelay.LSN{100, 200, 200, 300}; !reflect.DeepEqual(lsns(got), want) {
		t.Fatalf("follower got %v, want %v", lsns(got), want)
	}
	for i, want := range []*walrelay.Txn{t1, t2a, t2b, t3} {
		if !reflect.DeepEqual(got[i], want) {
			t.Fatalf("txn %d:\n got %+v\nwant %+v", i, got[i], want)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for st := a.Status(); !st.CaughtUp || st.Pending != 0 || !st.Connected; st = a.Status() {
		if time.Now().After(deadline) {
			t.Fatalf("status %+v, want caught up", st)
		}
		time.Sleep(20 * time.Millisecond) // polling
	}

	// A node that starts now rebuilds from the stream's first message.
	b := mustNode(t, ns.URL(), Config{})
	first, ok, err := b.StreamStart(context.Background(), 5)
	if err != nil || !ok || first != 100 {
		t.Fatalf("StreamStart = %v %v %v, want 100 true", first, ok, err)
	}
	if b.Status().CaughtUp {
		t.Fatal("a node that has not read the stream reports caught up")
	}
	lb := newLocal()
	if err := b.Follow(lb, constEpoch(5), nopHub{}); err != nil {
		t.Fatal(err)
	}
	run(t, b)
	if got := lsns(lb.upTo(t, 300)); !reflect.DeepEqual(got, []walrelay.LSN{100, 200, 200, 300}) {
		t.Fatalf("late node got %v", got)
	}
	// Of another epoch, the first message is no start.
	if _, ok, err := b.StreamStart(context.Background(), 6); err != nil || ok {
		t.Fatalf("StreamStart of another epoch: ok=%v err=%v", ok, err)
	}
}

// A leader that lost the slot cannot publish once the new one has: its
// expected last sequence is refused.
func TestStaleLeaderIsRefused(t *testing.T) {
	ns := natstest.MustStart(t)
	a := mustNode(t, ns.URL(), Config{})
	b := mustNode(t, ns.URL(), Config{})
	defer a.Close()
	defer b.Close()
	pa, pb := a.Publisher(1), b.Publisher(1)
	mustStart(t, pa)
	mustDeliver(t, pa, txnAt(100, 0, false, "a"))
	mustStart(t, pb)                              // b takes over
	mustDeliver(t, pb, txnAt(100, 0, false, "a")) // re-streamed: a duplicate
	mustDeliver(t, pb, txnAt(200, 0, false, "b")) // new
	err := pa.Deliver(context.Background(), txnAt(300, 0, false, "c"))
	if err == nil {
		err = pa.Flush(context.Background())
	}
	if err == nil || !strings.Contains(err.Error(), "wrong last msg ID") {
		t.Fatalf("stale leader's publish: err = %v, want wrong last msg ID", err)
	}
}

// A new epoch (the slot was recreated) resets the followers once, by the
// marker; messages of the old epoch that come later are skipped.
func TestNewEpochResetsFollowers(t *testing.T) {
	ns := natstest.MustStart(t)
	a := mustNode(t, ns.URL(), Config{})
	if _, _, err := a.StreamStart(context.Background(), 5); err != nil {
		t.Fatal(err)
	}
	la := newLocal()
	dbEpoch := uint32(5)
	calls := 0
	if err := a.Follow(la, func(context.Context) (uint32, error) { calls++; return dbEpoch, nil }, nopHub{}); err != nil {
		t.Fatal(err)
	}
	run(t, a)
	pub := a.Publisher(5)
	mustStart(t, pub)
	mustDeliver(t, pub, txnAt(100, 0, false, "old"))
	la.next(t)

	dbEpoch = 6 // read by the follower's goroutine only after the marker below
	pub.Reset(6)
	mustStart(t, pub)
	mustDeliver(t, pub, txnAt(50, 0, false, "new"))
	select {
	case e := <-la.resets:
		if e != 6 {
			t.Fatalf("reset to %d, want 6", e)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no reset")
	}
	if tx := la.next(t); tx.Events[0].New["v"] != "new" {
		t.Fatalf("after the reset got %v", tx.Events[0].New)
	}
	stale := mustNode(t, ns.URL(), Config{})
	defer stale.Close()
	sp := stale.Publisher(5)
	mustStart(t, sp)
	mustDeliver(t, sp, txnAt(400, 0, false, "stale"), txnAt(401, 0, false, "stale"))
	mustStart(t, pub)
	mustDeliver(t, pub, txnAt(60, 0, false, "marker"))
	if got := la.upTo(t, 60); len(got) != 1 {
		t.Fatalf("stale epoch delivered: %v", lsns(got))
	}
	if calls != 1 {
		t.Fatalf("the database was asked %d times, want 1 (for epoch 6; 5 is known to be old)", calls)
	}
}

// NATS stops while the leader publishes: publishes fail (the consumer
// would re-stream them), and once NATS is back the follower gets every
// transaction once, in order.
func TestNATSRestartLosesNothing(t *testing.T) {
	ns := natstest.MustStart(t)
	a := mustNode(t, ns.URL(), Config{PublishTimeout: time.Second})
	if _, _, err := a.StreamStart(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	la := newLocal()
	if err := a.Follow(la, constEpoch(1), nopHub{}); err != nil {
		t.Fatal(err)
	}
	run(t, a)
	pub := a.Publisher(1)
	mustStart(t, pub)
	mustDeliver(t, pub, txnAt(100, 0, false, "a"), txnAt(200, 0, false, "b"))
	ns.Stop()
	err := pub.Deliver(context.Background(), txnAt(300, 0, false, "c"))
	if err == nil {
		err = pub.Flush(context.Background())
	}
	if err == nil {
		t.Fatal("publish with NATS down succeeded")
	}
	ns.MustRestart()
	// As the cdc consumer does: start again, re-stream from the last
	// acknowledged transaction.
	deadline := time.Now().Add(20 * time.Second)
	for pub.StreamStarted(context.Background()) != nil {
		if time.Now().After(deadline) {
			t.Fatal("NATS did not come back")
		}
		time.Sleep(50 * time.Millisecond) // polling for the reconnect
	}
	mustDeliver(t, pub, txnAt(200, 0, false, "b"), txnAt(300, 0, false, "c"), txnAt(400, 0, false, "d"))
	if got := lsns(la.upTo(t, 400)); !reflect.DeepEqual(got, []walrelay.LSN{100, 200, 300, 400}) {
		t.Fatalf("follower got %v", got)
	}
}

// Messages removed from the stream before a node read them (it fell
// behind by more than the max age) are not skipped silently: the node
// starts over, so its clients resync.
func TestStreamGapResets(t *testing.T) {
	ns := natstest.MustStart(t)
	a := mustNode(t, ns.URL(), Config{})
	defer a.Close()
	pub := a.Publisher(3)
	mustStart(t, pub)
	mustDeliver(t, pub, txnAt(100, 0, false, "a"), txnAt(200, 0, false, "b"), txnAt(300, 0, false, "c"))
	ctx := context.Background()
	s, err := a.js.Stream(ctx, a.names.stream)
	if err != nil {
		t.Fatal(err)
	}
	b := mustNode(t, ns.URL(), Config{})
	if _, _, err := b.StreamStart(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMsg(ctx, 2); err != nil { // t at 200
		t.Fatal(err)
	}
	lb := newLocal()
	if err := b.Follow(lb, constEpoch(3), nopHub{}); err != nil {
		t.Fatal(err)
	}
	run(t, b)
	if tx := lb.next(t); tx.CommitLSN != 100 {
		t.Fatalf("first %v", tx.CommitLSN)
	}
	select {
	case e := <-lb.resets:
		if e != 3 {
			t.Fatalf("reset to %d", e)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("a gap in the stream did not reset the node")
	}
	if tx := lb.next(t); tx.CommitLSN != 300 {
		t.Fatalf("after the gap %v", tx.CommitLSN)
	}
}
