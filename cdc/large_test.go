package cdc

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"testing"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/pgembed/pgtest"
)

// chunkSink checks a chunked transaction's order as it arrives, keeping no
// events, and samples the heap at every chunk.
type chunkSink struct {
	recSink
	want         int // rows in the transaction
	rows, chunks int
	lastID       int64
	peak         uint64
	done         chan error
	spillDir     string
	spillFiles   int // most directory entries seen in spillDir
}

func (s *chunkSink) Deliver(ctx context.Context, tx *walrelay.Txn) error {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.peak = max(s.peak, ms.HeapAlloc)
	if ents, err := os.ReadDir(s.spillDir); err == nil {
		s.spillFiles = max(s.spillFiles, len(ents))
	}
	s.chunks++
	for _, e := range tx.Events {
		id, _ := e.New["id"].(int64)
		if e.Seq != s.rows || id != s.lastID+1 || e.LSN != tx.CommitLSN {
			s.done <- fmt.Errorf("chunk %d: event seq %d id %d after %d rows, last id %d", s.chunks, e.Seq, id, s.rows, s.lastID)
			return nil
		}
		s.rows++
		s.lastID = id
	}
	if len(tx.Events) > DefaultChunkEvents || tx.More != (s.rows < s.want) {
		s.done <- fmt.Errorf("chunk %d: %d events, More %v after %d rows", s.chunks, len(tx.Events), tx.More, s.rows)
		return nil
	}
	if !tx.More {
		s.done <- nil
	}
	return nil
}

// peakHeap inserts rows rows in one transaction and returns the peak heap
// growth seen while it was handed on, and the number of chunks.
func peakHeap(t *testing.T, rows int) (growth uint64, chunks int) {
	t.Helper()
	e := mustEnv(t, false)
	e.cfg.SpillDir = t.TempDir()
	e.mustSetup(t)
	sink := &chunkSink{want: rows, done: make(chan error, 1), spillDir: e.cfg.SpillDir}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	r := e.start(t, sink)
	pgtest.MustExec(t, e.url, `insert into items (name, n, data, tags)
		select 'row ' || g, g, jsonb_build_object('g', g, 'big', 12345678901234567890), array['x', g::text]
		from generate_series(1, $1::int) g`, rows)
	if err := <-sink.done; err != nil {
		t.Fatal(err)
	}
	r.stop(t)
	if sink.rows != rows {
		t.Fatalf("got %d rows, want %d", sink.rows, rows)
	}
	if sink.spillFiles != 0 {
		t.Errorf("spill file visible in %s; it should be unlinked", e.cfg.SpillDir)
	}
	if sink.peak < base {
		return 0, sink.chunks
	}
	return sink.peak - base, sink.chunks
}

// TestLargeTransactionBoundedMemory hands on a 200,000-row transaction in
// chunks and checks memory does not grow with its size. Not parallel: it
// measures the process heap.
func TestLargeTransactionBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("large transaction")
	}
	small, smallChunks := peakHeap(t, 20_000)
	large, largeChunks := peakHeap(t, 200_000)
	t.Logf("peak heap growth: 20k rows %d MB in %d chunks, 200k rows %d MB in %d chunks", small>>20, smallChunks, large>>20, largeChunks)
	if smallChunks != 2 || largeChunks != 20 {
		t.Fatalf("chunks: %d and %d, want 2 and 20", smallChunks, largeChunks)
	}
	if large > 100<<20 {
		t.Fatalf("200k-row transaction grew the heap by %d MB", large>>20)
	}
	if large > 2*small+16<<20 {
		t.Fatalf("heap growth grows with transaction size: %d MB for 20k rows, %d MB for 200k", small>>20, large>>20)
	}
}
