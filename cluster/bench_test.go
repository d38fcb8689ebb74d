package cluster

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/cluster/natstest"
)

// chatTxn is a one-row transaction shaped like a chat message.
func chatTxn(lsn walrelay.LSN) *walrelay.Txn {
	at := time.Unix(1764000000, 0).UTC()
	row := walrelay.Row{
		"id": int64(lsn), "room_id": int64(7), "author_id": "alice", "body": "hello, this is a chat message of ordinary length",
		"meta": json.RawMessage(`{}`), "ip_address": "10.0.0.1", "created_at": "2026-11-25T17:00:00.123Z", "edited_at": nil,
	}
	return &walrelay.Txn{XID: uint32(lsn), CommitLSN: lsn, EndLSN: lsn + 1, CommitTime: at, Events: []*walrelay.Event{
		{Op: walrelay.OpCreated, Model: testModel, New: row, XID: uint32(lsn), LSN: lsn, CommitTime: at},
	}}
}

// The encoding a follower decodes once per transaction (per node, not
// per subscriber).
func BenchmarkCodecChatRow(b *testing.B) {
	tx := chatTxn(100)
	h := txnHeader{XID: tx.XID, CommitLSN: tx.CommitLSN}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = appendEvent(buf[:0], tx.Events[0])
		if _, err := decodeEvents(buf, h, testSchema); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

// One-row transactions from the leader's Publisher through an embedded
// JetStream to a follower: the cluster's added path, per transaction.
func BenchmarkPublishFollow(b *testing.B) {
	ns := natstest.MustStart(b)
	n := mustNodeB(b, ns.URL())
	if _, _, err := n.StreamStart(context.Background(), 1); err != nil {
		b.Fatal(err)
	}
	got := make(chan *walrelay.Txn, 1<<16)
	if err := n.Follow(chanLocal(got), constEpoch(1), nopHub{}); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = n.Run(ctx) }()
	defer func() { cancel(); <-done; n.Close() }()
	pub := n.Publisher(1)
	if err := pub.StreamStarted(ctx); err != nil {
		b.Fatal(err)
	}
	lsn := walrelay.LSN(100)
	b.ReportAllocs()
	for b.Loop() {
		lsn += 100
		if err := pub.Deliver(ctx, chatTxn(lsn)); err != nil {
			b.Fatal(err)
		}
	}
	for tx := range got {
		if tx.CommitLSN == lsn {
			break
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "txn/s")
}

type chanLocal chan *walrelay.Txn

func (c chanLocal) Deliver(ctx context.Context, tx *walrelay.Txn) error {
	select {
	case c <- tx:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c chanLocal) Reset(uint32) {}

func mustNodeB(b *testing.B, url string) *Node {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := New(ctx, Config{URL: url, Name: "bench", Schema: testSchema})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
