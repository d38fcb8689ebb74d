package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay/pgembed"
)

// ingestFigures are the ingest scenario's own results.
type ingestFigures struct {
	Rows int `json:"rows"`
	// CopyS is the COPY's duration to its commit; FirstS and LastS are
	// from the commit to the first and the last event at the subscriber.
	CopyS  float64 `json:"copy_s"`
	FirstS float64 `json:"commit_to_first_s"`
	LastS  float64 `json:"commit_to_last_s"`
	Rate   float64 `json:"events_per_s"`
	// RecvS is pg_recvlogical's time to stream the same transaction
	// (pgoutput, to /dev/null), the fastest of RecvRuns; RecvRate its
	// changes/s; Ratio is Rate over RecvRate.
	RecvS    float64   `json:"pg_recvlogical_s"`
	RecvRuns []float64 `json:"pg_recvlogical_runs_s"`
	RecvRate float64   `json:"pg_recvlogical_per_s"`
	Ratio    float64   `json:"ratio"`
	// Both walsenders decode the COPY as it is written; pgoutput (protocol
	// 1) sends nothing before the commit, so both times run from it.
}

// runIngest: one subscriber on Message:list; one COPY of o.rows rows in one
// transaction; the time from its commit to the last event delivered. A
// second slot (pgoutput, its own publication of the same table) is made
// before the COPY, and pg_recvlogical then streams the very same
// transaction from it to /dev/null: the rate Postgres itself can send it
// at, the ceiling walrelay is compared with.
func runIngest(ctx context.Context, o *options, sc *scenario, r *report) error {
	recv, err := findRecvLogical()
	if err != nil {
		return err
	}
	e, err := startEnv(ctx, o, sc.readRule)
	if err != nil {
		return err
	}
	defer e.close()
	f, err := connect(ctx, e, o, sc)
	if err != nil {
		return err
	}
	defer f.close()
	conn, err := pgx.Connect(ctx, e.dbURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "create publication "+recvPublicaton+" for table "+loadTable); err != nil {
		return fmt.Errorf("create publication: %w", err)
	}
	// One slot per pg_recvlogical run, each made before the COPY, so each
	// run decodes the very same transaction.
	for _, slot := range recvSlots {
		if _, err := conn.Exec(ctx, "select pg_create_logical_replication_slot($1, 'pgoutput')", slot); err != nil {
			return fmt.Errorf("create slot %s: %w", slot, err)
		}
	}

	// Everything from here to the end of the deliveries is the window.
	f.winFrom.Store(time.Now().UnixMicro())
	f.winTo.Store(1<<62 - 1)
	e.signal(sysProfileStart)
	from := e.cpuSnap()
	copyStart := time.Now()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{loadSchema, "messages"}, []string{"room_id", "user_id", "body", "secret"},
		pgx.CopyFromSlice(o.rows, func(i int) ([]any, error) {
			return []any{int32(i%100 + 1), keyUser(i % 1000), body, "not for clients"}, nil
		}))
	if err != nil {
		_ = tx.Rollback(ctx)
		return fmt.Errorf("copy: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	committed := time.Now()
	var endLSN string
	if err := conn.QueryRow(ctx, "select pg_current_wal_lsn()::text").Scan(&endLSN); err != nil {
		return fmt.Errorf("wal position: %w", err)
	}
	want := func(*client) int64 { return n }
	f.drain(ctx, want, o.drainIdle, o.drainMax)
	to := e.cpuSnap()
	e.signal(sysProfileStop)
	r.SlotLag = slotLag(ctx, e.dbURL, e.slot)
	f.close()
	c := f.clients[0]
	first, last := time.UnixMicro(c.firstRecvUS), time.UnixMicro(c.lastRecvUS)

	// The ceiling: pg_recvlogical on the same transaction, the fastest of
	// its runs (a shared machine makes single runs vary widely).
	g := &ingestFigures{Rows: int(n), CopyS: committed.Sub(copyStart).Seconds()}
	for _, slot := range recvSlots {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		cmd := exec.CommandContext(rctx, recv, "-d", e.dbURL, "--slot", slot, "--start", "--no-loop",
			"--endpos", endLSN, "-o", "proto_version=1", "-o", "publication_names="+recvPublicaton, "-f", "/dev/null")
		recvStart := time.Now()
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			return fmt.Errorf("pg_recvlogical: %w: %s", err, strings.TrimSpace(string(out)))
		}
		g.RecvRuns = append(g.RecvRuns, time.Since(recvStart).Seconds())
		if _, err := conn.Exec(ctx, "select pg_drop_replication_slot($1)", slot); err != nil {
			return fmt.Errorf("drop slot %s: %w", slot, err)
		}
	}
	g.RecvS = slices.Min(g.RecvRuns)
	if c.got.Load() > 0 {
		g.FirstS, g.LastS = first.Sub(committed).Seconds(), last.Sub(committed).Seconds()
	}
	if g.LastS > 0 {
		g.Rate = float64(n) / g.LastS
	}
	g.RecvRate = float64(n) / g.RecvS
	if g.RecvRate > 0 {
		g.Ratio = g.Rate / g.RecvRate
	}
	r.Ingest = g
	r.Clients = len(f.clients)
	r.Checks = f.tally(want)
	r.Changes = n
	r.Latency = f.lat.Summary()
	r.CPU = cpuBetween(from, to, e.serverPID != 0, r.Machine.CPUs)
	r.finishServer(e)
	r.OK = r.Checks.ok() && r.Checks.Delivered > 0
	return e.stopServer()
}

// findRecvLogical finds pg_recvlogical next to the server binaries (the
// real directory when they are symlinks), else on PATH.
func findRecvLogical() (string, error) {
	if bin, err := pgembed.FindBinDir(); err == nil {
		dirs := []string{bin}
		if real, err := filepath.EvalSymlinks(filepath.Join(bin, "initdb")); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
		for _, d := range dirs {
			p := filepath.Join(d, "pg_recvlogical")
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p, nil
			}
		}
	}
	p, err := exec.LookPath("pg_recvlogical")
	if err != nil {
		return "", fmt.Errorf("pg_recvlogical not found next to the PostgreSQL binaries or on PATH: %w", err)
	}
	return p, nil
}
