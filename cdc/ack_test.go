package cdc

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/pgembed/pgtest"
)

func slotConfirmed(t *testing.T, conn *pgx.Conn, slot string) walrelay.LSN {
	t.Helper()
	lsn, err := SlotPosition(context.Background(), conn, slot)
	if err != nil {
		t.Fatal(err)
	}
	return lsn
}

// TestAckTrailsRetained checks that the slot is never confirmed past the
// sink's Retained, that a restarted consumer gets the retained transactions
// again, and that with Retained 0 the slot catches up.
func TestAckTrailsRetained(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, false)
	e.mustSetup(t)
	conn := mustConnect(t, e.url)
	sink1 := newSink()
	sink1.fail = func(tx *walrelay.Txn) error {
		sink1.retain.CompareAndSwap(0, uint64(tx.CommitLSN)) // keep history from the first txn on
		return nil
	}
	r1 := e.start(t, sink1)
	var txns []*walrelay.Txn
	for i := range 5 {
		pgtest.MustExec(t, e.url, `insert into items (name) values ($1)`, fmt.Sprint("t", i))
		txns = append(txns, sink1.next(t))
	}
	retained := txns[0].CommitLSN
	if sink1.Retained() != retained {
		t.Fatalf("retained %s, want %s", sink1.Retained(), retained)
	}
	// Idle keepalives keep coming (StandbyTimeout 1s); the ack must sit at
	// Retained, neither behind nor past it.
	eventually(t, "ack at the retained commit", func() bool {
		got := slotConfirmed(t, conn, e.cfg.Slot)
		if got > retained || r1.c.Confirmed() > retained {
			t.Fatalf("slot confirmed %s (consumer %s) past Retained %s", got, r1.c.Confirmed(), retained)
		}
		return got == retained
	})
	r1.stop(t)
	if got := slotConfirmed(t, conn, e.cfg.Slot); got != retained {
		t.Fatalf("after stop slot confirmed %s, want %s", got, retained)
	}

	// A new consumer (a restarted process) gets all five again, from the
	// retained one, in order, then only new ones.
	sink2 := newSink()
	r2 := e.start(t, sink2)
	for i, want := range txns {
		tx := sink2.next(t)
		checkTxn(t, tx, 1)
		if tx.CommitLSN != want.CommitLSN || tx.Events[0].New["name"] != fmt.Sprint("t", i) {
			t.Fatalf("re-streamed #%d: %v at %s, want t%d at %s", i, tx.Events[0].New["name"], tx.CommitLSN, i, want.CommitLSN)
		}
	}
	pgtest.MustExec(t, e.url, `insert into items (name) values ('new')`)
	if tx := sink2.next(t); tx.Events[0].New["name"] != "new" {
		t.Fatalf("after replay got %v, want new", tx.Events[0].New["name"])
	}
	// Retained 0: the slot moves past everything.
	end := txns[len(txns)-1].EndLSN
	eventually(t, "slot advances with Retained 0", func() bool {
		return slotConfirmed(t, conn, e.cfg.Slot) > end && r2.c.Confirmed() > end
	})
}

// TestChunkedTxnAckedOnlyAfterLastChunk fails the sink on the last chunk:
// the whole transaction must come again from its first chunk.
func TestChunkedTxnAckedOnlyAfterLastChunk(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, false)
	e.cfg.ChunkEvents = 4
	e.mustSetup(t)
	sink := newSink()
	var failed bool
	sink.fail = func(tx *walrelay.Txn) error {
		if !tx.More && !failed {
			failed = true // Deliver runs on the Run goroutine only
			return errInjected
		}
		return nil
	}
	e.start(t, sink)
	pgtest.MustExec(t, e.url, `insert into items (name) select 'r' || g from generate_series(1, 10) g`)
	// 4 + 4 (the third chunk fails), then 4 + 4 + 2.
	var sizes []int
	for len(sizes) < 5 {
		tx := sink.next(t)
		sizes = append(sizes, len(tx.Events))
		if tx.Events[0].Seq != map[int]int{0: 0, 1: 4, 2: 0, 3: 4, 4: 8}[len(sizes)-1] {
			t.Fatalf("chunk %d starts at seq %d", len(sizes)-1, tx.Events[0].Seq)
		}
	}
	if fmt.Sprint(sizes) != "[4 4 4 4 2]" {
		t.Fatalf("chunk sizes %v", sizes)
	}
}
