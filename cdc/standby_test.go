package cdc

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walrelay/walrelay/pgembed/pgtest"
)

// startedSink is a recSink that counts StreamStarted calls.
type startedSink struct {
	*recSink
	started atomic.Int32
}

func (s *startedSink) StreamStarted(context.Context) error {
	s.started.Add(1)
	return nil
}

// Two consumers share one slot: one streams, the other stands by; when the
// first stops, the second takes the slot, is told so (StreamStarted), and
// continues after what the first acknowledged.
func TestSecondConsumerStandsByAndTakesOver(t *testing.T) {
	e := mustEnv(t, false)
	e.mustSetup(t)
	e.cfg.BusyRetry = 100 * time.Millisecond
	a, b := &startedSink{recSink: newSink()}, &startedSink{recSink: newSink()}
	ra := e.start(t, a)
	eventually(t, "first consumer streaming", ra.c.Streaming)
	rb := e.start(t, b)

	pgtest.MustExec(t, e.url, `insert into items (name) values ('one')`)
	if tx := a.next(t); tx.Events[0].New["name"] != "one" {
		t.Fatalf("first consumer got %v", tx.Events[0].New)
	}
	eventually(t, "first consumer acknowledged", func() bool { return ra.c.Confirmed() > 0 })
	eventually(t, "second consumer standing by", rb.c.Standby)
	if rb.c.Streaming() || b.started.Load() != 0 || len(b.txns) != 0 {
		t.Fatalf("standby streams: streaming=%v started=%d txns=%d", rb.c.Streaming(), b.started.Load(), len(b.txns))
	}
	if a.started.Load() != 1 {
		t.Fatalf("leader StreamStarted %d times, want 1", a.started.Load())
	}

	ra.stop(t)
	start := time.Now()
	eventually(t, "second consumer streaming", rb.c.Streaming)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("takeover took %v", d)
	}
	if b.started.Load() != 1 {
		t.Fatalf("new leader StreamStarted %d times, want 1", b.started.Load())
	}
	pgtest.MustExec(t, e.url, `insert into items (name) values ('two')`)
	tx := b.next(t)
	if tx.Events[0].New["name"] != "two" {
		t.Fatalf("new leader got %v first, want two (one was acknowledged)", tx.Events[0].New)
	}
}

// Setup run by several nodes at once on a fresh database succeeds on all of
// them and gives one epoch.
func TestConcurrentSetupAgreesOnEpoch(t *testing.T) {
	e := mustEnv(t, false)
	const n = 3
	var wg sync.WaitGroup
	epochs := make([]uint32, n)
	errs := make([]error, n)
	for i := range n {
		conn := mustConnect(t, e.url)
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			epochs[i], errs[i] = Setup(ctx, conn, e.schema, e.cfg)
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Setup %d: %v", i, errs[i])
		}
		if epochs[i] == 0 || epochs[i] != epochs[0] {
			t.Fatalf("epochs %v: want one non-zero epoch", epochs)
		}
	}
}
