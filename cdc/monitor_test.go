package cdc

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/pgembed/pgtest"
)

// logBuffer is a goroutine-safe log sink for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

func TestRetainedWALIsMeasuredAndWarned(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, false)
	logs := &logBuffer{}
	e.cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	e.cfg.RetainedCheckInterval = 100 * time.Millisecond
	e.cfg.MaxRetainedWALBytes = 256 << 10
	e.mustSetup(t)
	sink := newSink()
	sink.fail = func(tx *walrelay.Txn) error {
		sink.retain.CompareAndSwap(0, uint64(tx.CommitLSN))
		return nil
	}
	start := time.Now()
	r := e.start(t, sink)
	pgtest.MustExec(t, e.url, `insert into items (name) values ('pin')`)
	sink.next(t)
	// About 1 MB of WAL the slot must keep, since the ack is pinned.
	pgtest.MustExec(t, e.url, `select pg_logical_emit_message(false, 'pad', repeat('x', 1 << 20))`)
	eventually(t, "retained WAL above 1 MB", func() bool { return r.c.RetainedWALBytes() > 1<<20 })
	const warning = "replication slot retains much WAL"
	eventually(t, "a warning", func() bool { return logs.count(warning) > 0 })
	r.stop(t)
	if n, most := logs.count(warning), int(time.Since(start)/e.cfg.RetainedCheckInterval)+1; n > most {
		t.Fatalf("%d warnings in %v, want at most one per check (%d)", n, time.Since(start), most)
	}
}
