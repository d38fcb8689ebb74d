package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/walrelay/walrelay/pgembed"
	"github.com/walrelay/walrelay/pgembed/pgtest"
)

// TestMain doubles as the server child: the tool starts its own binary
// again to run the server (see serveChild), and under test that binary is
// the test binary.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		if err := serveChild(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "load server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(pgtest.Main(m))
}

// smoke runs a short scenario and returns its report. Smoke runs check
// correctness only (the report's checks), never timing.
func smoke(t *testing.T, args ...string) *report {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.json")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, append(args, "--json", path, "--drain", "60s"), &out)
	t.Log(out.String())
	if err != nil {
		t.Fatalf("load %v: %v", args, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// exact fails unless every expected delivery arrived exactly once, in
// order, to the client that may read it, without hidden columns.
func exact(t *testing.T, r *report, clients int) {
	t.Helper()
	c := r.Checks
	if !r.OK || c.Expected == 0 || c.Delivered != c.Expected || c.Lost != 0 || c.Duplicates != 0 || c.OutOfOrder != 0 ||
		c.Foreign != 0 || c.HiddenLeaks != 0 || c.Unreadable != 0 || c.Errors != 0 || c.Closed != 0 || c.Subscribed != clients {
		t.Fatalf("checks = %+v, want every expected delivery once, in order, and nothing else", c)
	}
}

func TestChatSmoke(t *testing.T) {
	args := []string{"chat", "--clients", "30", "--rooms", "5", "--rate", "100", "--writers", "3",
		"--duration", "1s", "--warmup", "0s", "--slot", "load_chat"}
	if _, err := pgembed.FindBinDir(); err != nil {
		// No local binaries to start a cluster with: use the harness's.
		args = append(args, "--database-url", pgtest.MustDatabase(t))
	}
	r := smoke(t, args...)
	exact(t, r, 30)
	if r.Changes == 0 || r.Latency.Count == 0 || !r.CPU.Known || r.ServerPeakRSS == 0 {
		t.Fatalf("report lacks figures: %+v", r)
	}
}

func TestFanoutSmoke(t *testing.T) {
	r := smoke(t, "fanout", "--database-url", pgtest.MustDatabase(t), "--clients", "40", "--rate", "40",
		"--duration", "1s", "--warmup", "0s", "--slot", "load_fanout")
	exact(t, r, 40)
	if r.Checks.Expected != 40*r.Changes {
		t.Fatalf("expected %d deliveries for %d rows to 40 clients", r.Checks.Expected, r.Changes)
	}
}

func TestPerUserSmoke(t *testing.T) {
	r := smoke(t, "per-user", "--database-url", pgtest.MustDatabase(t), "--clients", "40", "--rate", "200",
		"--writers", "4", "--duration", "1s", "--warmup", "0s", "--slot", "load_peruser")
	exact(t, r, 40)
	if r.Checks.Expected != r.Changes {
		t.Fatalf("expected %d deliveries for %d rows, one owner each", r.Checks.Expected, r.Changes)
	}
}

func TestIngestSmoke(t *testing.T) {
	// More rows than the default send queue holds, fewer than cdc's chunk:
	// one whole transaction the hub must flow-control.
	r := smoke(t, "ingest", "--database-url", pgtest.MustDatabase(t), "--rows", "3000", "--slot", "load_ingest")
	exact(t, r, 1)
	if g := r.Ingest; g == nil || g.Rows != 3000 || g.RecvS <= 0 || g.Ratio <= 0 {
		t.Fatalf("ingest figures = %+v", r.Ingest)
	}
}

func TestIdleSmoke(t *testing.T) {
	r := smoke(t, "idle", "--database-url", pgtest.MustDatabase(t), "--clients", "40", "--duration", "500ms",
		"--slot", "load_idle")
	if !r.OK || r.Checks.Subscribed != 40 || r.Checks.Closed != 0 || r.Idle == nil || r.Idle.RSSAfter == 0 {
		t.Fatalf("idle report = %+v %+v", r.Checks, r.Idle)
	}
}
