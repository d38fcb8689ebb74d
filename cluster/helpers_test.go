package cluster

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/hub"
)

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// recLocal records what a follower hands on.
type recLocal struct {
	txns   chan *walrelay.Txn
	resets chan uint32
}

func newLocal() *recLocal {
	return &recLocal{txns: make(chan *walrelay.Txn, 1000), resets: make(chan uint32, 10)}
}

func (l *recLocal) Deliver(ctx context.Context, tx *walrelay.Txn) error {
	select {
	case l.txns <- tx:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *recLocal) Reset(epoch uint32) { l.resets <- epoch }

func (l *recLocal) next(t *testing.T) *walrelay.Txn {
	t.Helper()
	select {
	case tx := <-l.txns:
		return tx
	case <-time.After(15 * time.Second):
		t.Fatal("timed out waiting for a transaction from the stream")
		return nil
	}
}

// upTo returns what arrives up to and including the last chunk of the
// transaction at lsn (a marker the caller publishes last, so that what
// arrived before it is all there is).
func (l *recLocal) upTo(t *testing.T, lsn walrelay.LSN) []*walrelay.Txn {
	t.Helper()
	var out []*walrelay.Txn
	for {
		tx := l.next(t)
		out = append(out, tx)
		if tx.CommitLSN == lsn && !tx.More {
			return out
		}
	}
}

// testNode is a Node with its Run goroutine.
type testNode struct {
	*Node
	cancel context.CancelFunc
	done   chan struct{}
}

func mustNode(t *testing.T, url string, cfg Config) *Node {
	t.Helper()
	cfg.URL = url
	if cfg.Name == "" {
		cfg.Name = "t"
	}
	if cfg.Schema == nil {
		cfg.Schema = testSchema
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// run starts n.Run; stop (also at cleanup) ends it and closes n.
func run(t *testing.T, n *Node) *testNode {
	ctx, cancel := context.WithCancel(context.Background())
	tn := &testNode{Node: n, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(tn.done)
		_ = n.Run(ctx)
	}()
	t.Cleanup(tn.stop)
	return tn
}

func (tn *testNode) stop() {
	tn.cancel()
	<-tn.done
	tn.Close()
}

func txnAt(lsn walrelay.LSN, seq0 int, more bool, rows ...string) *walrelay.Txn {
	tx := &walrelay.Txn{XID: uint32(lsn), CommitLSN: lsn, EndLSN: lsn + 1, CommitTime: time.Unix(1764000000, 0).UTC(), More: more}
	for i, r := range rows {
		tx.Events = append(tx.Events, &walrelay.Event{Op: walrelay.OpCreated, Model: testModel, New: walrelay.Row{"id": int64(i), "v": r},
			XID: tx.XID, LSN: lsn, CommitTime: tx.CommitTime, Seq: seq0 + i})
	}
	return tx
}

func mustDeliver(t *testing.T, p *Publisher, txs ...*walrelay.Txn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tx := range txs {
		if err := p.Deliver(ctx, tx); err != nil {
			t.Fatalf("Deliver %s: %v", tx.CommitLSN, err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func mustStart(t *testing.T, p *Publisher) {
	t.Helper()
	if err := p.StreamStarted(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func constEpoch(e uint32) func(context.Context) (uint32, error) {
	return func(context.Context) (uint32, error) { return e, nil }
}

// nopHub is a Hub for tests about the stream only.
type nopHub struct{}

func (nopHub) SetRelay(hub.Relay)                                                           {}
func (nopHub) PublishRemote(string, *hub.CustomEvent) int                                   { return 0 }
func (nopHub) ApplyRemotePresence(string, string, []hub.PresenceEntry, []hub.PresenceEntry) {}
func (nopHub) ReplaceRemotePresence(string, map[string][]hub.PresenceEntry)                 {}
func (nopHub) LocalPresence() (uint64, map[string][]hub.PresenceEntry)                      { return 0, nil }

// recorder is a hub.Receiver that records deliveries.
type recorder struct {
	mu sync.Mutex
	ds []hub.Delivery
	ch chan struct{}
}

func newRecorder() *recorder { return &recorder{ch: make(chan struct{}, 1)} }

func (r *recorder) Receive(ds []hub.Delivery) {
	r.mu.Lock()
	r.ds = append(r.ds, ds...)
	r.mu.Unlock()
	select {
	case r.ch <- struct{}{}:
	default:
	}
}

func (r *recorder) Room() (int, <-chan struct{})     { return 1 << 20, nil }
func (r *recorder) Resync(*hub.Subscription, string) {}

// waitFor waits until a delivery satisfies ok, and returns it.
func (r *recorder) waitFor(t *testing.T, what string, ok func(hub.Delivery) bool) hub.Delivery {
	t.Helper()
	deadline := time.After(20 * time.Second)
	seen := 0
	for {
		r.mu.Lock()
		for ; seen < len(r.ds); seen++ {
			if ok(r.ds[seen]) {
				d := r.ds[seen]
				r.mu.Unlock()
				return d
			}
		}
		r.mu.Unlock()
		select {
		case <-r.ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
