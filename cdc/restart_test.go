package cdc

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/pgembed/pgtest"
)

// TestPostgresRestartLosesAndDuplicatesNothing restarts the cluster while a
// consumer streams. Not parallel: it takes the whole cluster down.
func TestPostgresRestartLosesAndDuplicatesNothing(t *testing.T) {
	cluster := pgtest.Cluster()
	if cluster == nil {
		t.Skip("no restartable cluster (external database)")
	}
	e := mustEnv(t, false)
	e.mustSetup(t)
	sink := newSink()
	sink.txns = make(chan *walrelay.Txn, 1000)
	r := e.start(t, sink)
	eventually(t, "streaming", r.c.Streaming)

	var sawDown atomic.Bool
	watchCtx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	go func() {
		for watchCtx.Err() == nil {
			if !r.c.Streaming() {
				sawDown.Store(true)
			}
			time.Sleep(2 * time.Millisecond) // sampling interval
		}
	}()

	const n = 20
	for i := range n {
		pgtest.MustExec(t, e.url, `insert into items (name) values ($1)`, fmt.Sprint("a", i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := cluster.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		pgtest.MustExec(t, e.url, `insert into items (name) values ($1)`, fmt.Sprint("b", i))
	}
	pgtest.MustExec(t, e.url, `insert into items (name) values ('marker')`)
	var got []string
	for {
		tx := sink.next(t)
		name := fmt.Sprint(tx.Events[0].New["name"])
		if name == "marker" {
			break
		}
		got = append(got, name)
	}
	var want []string
	for _, p := range []string{"a", "b"} {
		for i := range n {
			want = append(want, fmt.Sprint(p, i))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("delivered %v\nwant %v", got, want)
	}
	stopWatch()
	if !sawDown.Load() {
		t.Error("Streaming() never went false while Postgres restarted")
	}
	eventually(t, "streaming again", r.c.Streaming)
}
