package main

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// idleFigures are the idle scenario's memory figures.
type idleFigures struct {
	RSSBefore      int64   `json:"rss_before_bytes"`
	RSSAfter       int64   `json:"rss_after_bytes"`
	PerConnKB      float64 `json:"rss_per_connection_kb"`
	HeapPerConnKB  float64 `json:"heap_per_connection_kb"`
	StackPerConnKB float64 `json:"stack_per_connection_kb"`
	// GoroutinesPerConn is the growth of the server's goroutines over the
	// number of connections.
	GoroutinesPerConn float64 `json:"goroutines_per_connection"`
}

// runIdle connects and subscribes every client, holds the connections
// for the duration, and reports the server's memory per connection: the
// growth of its RSS (and of its Go heap and stacks, from /metrics) over
// the number of connections.
func runIdle(ctx context.Context, o *options, sc *scenario, r *report) error {
	e, err := startEnv(ctx, o, sc.readRule)
	if err != nil {
		return err
	}
	defer e.close()
	g := &idleFigures{}
	before := goMemory(e.serverURL)
	if e.serverPID != 0 {
		g.RSSBefore, _, _ = procMem(e.serverPID)
	}
	from := e.cpuSnap()
	e.signal(sysProfileStart)
	f, err := connect(ctx, e, o, sc)
	if err != nil {
		return err
	}
	defer f.close()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(o.duration):
	}
	to := e.cpuSnap()
	e.signal(sysProfileStop) // the heap profile then shows what the connections hold
	after := goMemory(e.serverURL)
	if e.serverPID != 0 {
		g.RSSAfter, _, _ = procMem(e.serverPID)
	}
	f.close()
	n := float64(o.clients)
	g.PerConnKB = float64(g.RSSAfter-g.RSSBefore) / n / 1024
	g.HeapPerConnKB = (after["go_memstats_heap_inuse_bytes"] - before["go_memstats_heap_inuse_bytes"]) / n / 1024
	g.StackPerConnKB = (after["go_memstats_stack_inuse_bytes"] - before["go_memstats_stack_inuse_bytes"]) / n / 1024
	g.GoroutinesPerConn = (after["go_goroutines"] - before["go_goroutines"]) / n
	r.Idle = g
	r.Clients = len(f.clients)
	r.Checks = f.tally(func(*client) int64 { return 0 })
	r.CPU = cpuBetween(from, to, e.serverPID != 0, r.Machine.CPUs)
	r.finishServer(e)
	r.OK = r.Checks.ok() && r.Checks.Subscribed == o.clients
	return e.stopServer()
}

// goMemory scrapes the Go memory gauges from the server's /metrics.
func goMemory(serverURL string) map[string]float64 {
	return scrapeMetrics(serverURL, func(name string) bool {
		return strings.HasPrefix(name, "go_memstats_") || name == "go_goroutines"
	})
}

// scrapeMetrics reads the samples of /metrics whose names keep accepts,
// summed over the servers of serverURL (comma-separated for a cluster);
// a server that does not answer adds nothing.
func scrapeMetrics(serverURL string, keep func(string) bool) map[string]float64 {
	out := map[string]float64{}
	for _, u := range strings.Split(serverURL, ",") {
		resp, err := http.Get(u + "/metrics")
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			name, val, ok := strings.Cut(sc.Text(), " ")
			if ok && keep(name) {
				if v, err := strconv.ParseFloat(val, 64); err == nil {
					out[name] += v
				}
			}
		}
		resp.Body.Close()
	}
	return out
}
