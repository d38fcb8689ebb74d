package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// report is one run's figures, printed as a table and written as JSON.
type report struct {
	Scenario string         `json:"scenario"`
	Command  string         `json:"command"`
	Commit   string         `json:"commit,omitempty"`
	Started  time.Time      `json:"started"`
	Machine  machine        `json:"machine"`
	LoadAvg  [2]string      `json:"load_average"` // uptime's 1/5/15 min averages at start and end
	Params   map[string]any `json:"params"`

	Clients int   `json:"clients"`
	Checks  tally `json:"checks"`
	// Window is the measurement window after warmup, in seconds.
	Window           float64   `json:"window_s"`
	Changes          int64     `json:"changes"`
	ChangesPerSec    float64   `json:"changes_per_s"`
	DeliveriesPerSec float64   `json:"deliveries_per_s"`
	Latency          latencies `json:"latency"`
	WriterLagMaxMS   float64   `json:"writer_lag_max_ms"`
	// LastAfterS is how long after the writers stopped the last delivery
	// arrived: the backlog the server had at the end.
	LastAfterS float64 `json:"last_delivery_after_writes_s"`

	CPU           cpuUse  `json:"cpu"`
	Frames        *frames `json:"server_frames,omitempty"`
	ServerPeakRSS int64   `json:"server_peak_rss_bytes,omitempty"`
	ServerRSS     int64   `json:"server_rss_bytes,omitempty"`
	SlotLag       *lag    `json:"slot_lag,omitempty"`

	Ingest *ingestFigures `json:"ingest,omitempty"`
	Idle   *idleFigures   `json:"idle,omitempty"`

	Profiles []string `json:"profiles,omitempty"`
	OK       bool     `json:"ok"` // every expected delivery arrived once, in order, nothing else did
}

// cpuUse is CPU seconds spent in the measurement window, by whom. Others
// is the rest of the machine (other users of a shared host); Tool share is
// the tool's part of the machine's capacity (window × CPUs).
type cpuUse struct {
	Server    float64 `json:"server_s"`
	Postgres  float64 `json:"postgres_s"`
	Tool      float64 `json:"tool_s"`
	Others    float64 `json:"others_s"`
	ToolShare float64 `json:"tool_share"`
	Known     bool    `json:"server_known"`
}

// lag is how far replication is behind at the end of a run: sent is WAL
// the server's walsender has not sent yet; confirmed is WAL the slot
// keeps, which by design includes the server's replay history.
type lag struct {
	SentBytes      int64 `json:"unsent_bytes"`
	ConfirmedBytes int64 `json:"unconfirmed_bytes"`
}

// frames is what the servers wrote in the window (from their /metrics):
// WebSocket data frames per second and the messages a frame carried on
// average (the batching).
type frames struct {
	PerSec           float64 `json:"per_s"`
	MessagesPerFrame float64 `json:"messages_per_frame"`
}

// cpuSnap is a point in time for cpuUse.
type cpuSnap struct {
	at                             time.Time
	server, postgres, tool, window float64
	machine                        float64
	// frames and delivered are the servers' counters, when they answered.
	frames, delivered float64
	counted           bool
}

func (e *env) cpuSnap() cpuSnap {
	s := cpuSnap{at: time.Now(), machine: machineBusy()}
	s.tool, _ = procCPU(os.Getpid())
	if e.serverPID != 0 {
		s.server, _ = procCPU(e.serverPID)
	}
	if e.pgPID != 0 {
		s.postgres = treeCPU(e.pgPID)
	}
	m := scrapeMetrics(e.serverURL, func(name string) bool {
		return name == "walrelay_frames_written_total" || name == "walrelay_events_delivered_total"
	})
	s.frames = m["walrelay_frames_written_total"]
	s.delivered = m["walrelay_events_delivered_total"]
	_, s.counted = m["walrelay_frames_written_total"]
	return s
}

// framesBetween is what the servers wrote between a and b; nil when they
// did not tell.
func framesBetween(a, b cpuSnap) *frames {
	w := b.at.Sub(a.at).Seconds()
	n := b.frames - a.frames
	if !a.counted || !b.counted || w <= 0 || n <= 0 {
		return nil
	}
	return &frames{PerSec: n / w, MessagesPerFrame: (b.delivered - a.delivered) / n}
}

func cpuBetween(a, b cpuSnap, known bool, cpus int) cpuUse {
	u := cpuUse{Server: b.server - a.server, Postgres: b.postgres - a.postgres, Tool: b.tool - a.tool, Known: known}
	u.Others = max(0, (b.machine-a.machine)-u.Server-u.Postgres-u.Tool)
	if w := b.at.Sub(a.at).Seconds(); w > 0 {
		u.ToolShare = u.Tool / (w * float64(cpus))
	}
	return u
}

// slotLag reads the replication lag of slot at the end of a run.
func slotLag(ctx context.Context, dbURL, slot string) *lag {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var l lag
	err = conn.QueryRow(ctx, `select coalesce((select pg_current_wal_lsn() - sent_lsn from pg_stat_replication r
	   join pg_replication_slots s on s.active_pid = r.pid where s.slot_name = $1), 0)::bigint,
	  coalesce((select pg_current_wal_lsn() - confirmed_flush_lsn from pg_replication_slots where slot_name = $1), 0)::bigint`,
		slot).Scan(&l.SentBytes, &l.ConfirmedBytes)
	if err != nil {
		return nil
	}
	return &l
}

func newReport(scenario string, params map[string]any) *report {
	r := &report{Scenario: scenario, Command: commandLine(), Started: time.Now().UTC(), Machine: describeMachine(), Params: params}
	r.LoadAvg[0] = loadAvg()
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		r.Commit = strings.TrimSpace(string(out))
	}
	return r
}

// commandLine is how the tool was run, as one copyable line.
func commandLine() string {
	args := []string{"go run ./cmd/load"}
	for _, a := range os.Args[1:] {
		if strings.ContainsAny(a, " \"'$") {
			a = "'" + a + "'"
		}
		args = append(args, a)
	}
	return strings.Join(args, " ")
}

func (r *report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// print writes the report as an aligned table.
func (r *report) print(w io.Writer) {
	row := func(k, format string, args ...any) {
		fmt.Fprintf(w, "  %-26s "+format+"\n", append([]any{k}, args...)...)
	}
	fmt.Fprintf(w, "walrelay load: %s\n", r.Scenario)
	row("command", "%s", r.Command)
	row("machine", "%d CPUs (%s), %d GB, Linux %s, %s", r.Machine.CPUs, r.Machine.CPUModel, r.Machine.MemoryGB, r.Machine.Kernel, r.Machine.Go)
	row("load average", "%s at start, %s at end", r.LoadAvg[0], r.LoadAvg[1])
	if r.Commit != "" {
		row("commit", "%s", r.Commit)
	}
	c := r.Checks
	row("clients", "%d (subscribed %d, closed %d %v)", r.Clients, c.Subscribed, c.Closed, c.CloseCodes)
	if r.Window > 0 {
		row("window", "%.1f s after warmup", r.Window)
		row("changes", "%d in all, %.0f/s in the window", r.Changes, r.ChangesPerSec)
		row("deliveries", "%.0f/s in the window", r.DeliveriesPerSec)
		row("latency (commit→receive)", "p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms (%d samples)",
			r.Latency.P50, r.Latency.P95, r.Latency.P99, r.Latency.Max, r.Latency.Count)
		row("writer lag", "max %.1f ms behind schedule", r.WriterLagMaxMS)
		row("last delivery", "%.2f s after the writers stopped", r.LastAfterS)
	}
	row("deliveries checked", "expected %d, delivered %d, lost %d, duplicates %d, out of order %d",
		c.Expected, c.Delivered, c.Lost, c.Duplicates, c.OutOfOrder)
	row("wrong deliveries", "foreign rows %d, hidden column %d, unreadable %d, errors %d %s",
		c.Foreign, c.HiddenLeaks, c.Unreadable, c.Errors, c.FirstError)
	if r.Ingest != nil {
		g := r.Ingest
		row("ingest", "%d rows; COPY %.2f s; commit→first event %.2f s, →last %.2f s", g.Rows, g.CopyS, g.FirstS, g.LastS)
		row("walrelay rate", "%.0f events/s (commit→last)", g.Rate)
		runs := make([]string, len(g.RecvRuns))
		for i, x := range g.RecvRuns {
			runs[i] = fmt.Sprintf("%.2f", x)
		}
		row("pg_recvlogical", "%.2f s, %.0f changes/s (fastest of %s s)", g.RecvS, g.RecvRate, strings.Join(runs, ", "))
		row("walrelay / pg_recvlogical", "%.0f%%", 100*g.Ratio)
	}
	if r.Idle != nil {
		g := r.Idle
		row("server RSS", "%.1f MB before clients, %.1f MB with them", float64(g.RSSBefore)/(1<<20), float64(g.RSSAfter)/(1<<20))
		row("per connection", "%.1f KB RSS, %.1f KB Go heap, %.1f KB goroutine stacks (%.1f goroutines)",
			g.PerConnKB, g.HeapPerConnKB, g.StackPerConnKB, g.GoroutinesPerConn)
	}
	cu := r.CPU
	if cu.Known {
		row("CPU in window", "server %.1f s, postgres %.1f s, load tool %.1f s (%.0f%% of the machine), others %.1f s",
			cu.Server, cu.Postgres, cu.Tool, 100*cu.ToolShare, cu.Others)
	} else {
		row("CPU in window", "load tool %.1f s (%.0f%% of the machine); server unknown (give --server-pid)", cu.Tool, 100*cu.ToolShare)
	}
	if f := r.Frames; f != nil {
		row("server frames", "%.0f frames/s, %.2f messages per frame", f.PerSec, f.MessagesPerFrame)
	}
	if r.ServerPeakRSS > 0 {
		row("server memory", "peak RSS %.1f MB, at end %.1f MB", float64(r.ServerPeakRSS)/(1<<20), float64(r.ServerRSS)/(1<<20))
	}
	if r.SlotLag != nil {
		row("slot at end", "unsent %d bytes, unconfirmed %d bytes (history kept by design)", r.SlotLag.SentBytes, r.SlotLag.ConfirmedBytes)
	}
	for _, p := range r.Profiles {
		row("profile", "%s", p)
	}
	if r.OK {
		row("result", "ok: every expected delivery arrived once, in order")
	} else {
		row("result", "FAILED checks")
	}
}
