package integration

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/walrelay/walrelay/pgembed/pgtest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// serverBinary builds cmd/server once per test run.
func serverBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "walrelay-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "walrelay")
		out, err := osexec.Command("go", "build", "-o", binPath, "github.com/walrelay/walrelay/cmd/server").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is walrelay running as a real process.
type proc struct {
	cmd *osexec.Cmd
	log string
}

func startProcess(t *testing.T, config string) *proc {
	t.Helper()
	logf, err := os.CreateTemp(t.TempDir(), "walrelay-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := osexec.Command(serverBinary(t), "serve", "--config", config)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, log: logf.Name()}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			t.Logf("server log:\n%s", b)
		}
	})
	return p
}

// kill9 kills the process with SIGKILL: no shutdown, no final ack.
func (p *proc) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitStatus polls url until it answers status, within d.
func waitStatus(t *testing.T, url string, status int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == status {
				return
			}
		} else if status == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer %d within %v (last: %v)", url, status, d, err)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
}

// waitCount waits until counter reaches n, within d.
func waitCount(t *testing.T, counter *atomic.Int64, n int64, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for counter.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("counter at %d, want %d within %v", counter.Load(), n, d)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition with a deadline
	}
}

// kill -9 the server process during a write burst and restart it: a client
// that resumes with its last cursor ends equal to the table, with no
// duplicate and no miss.
func TestCrashKill9(t *testing.T) {
	url := pgtest.MustDatabase(t)
	pgtest.MustExec(t, url, itemsSchema)
	pgtest.MustExec(t, url, "insert into items (grp, val, note) select i % 3, i, 'seed' from generate_series(1, 50) i")
	addr := freeAddr(t)
	base := "http://" + addr
	cfgPath := filepath.Join(t.TempDir(), "walrelay.yaml")
	cfg := strings.Replace(itemsConfig, "${DATABASE_URL}", url, 1)
	cfg = strings.Replace(cfg, `listen: "127.0.0.1:0"`, fmt.Sprintf("listen: %q", addr), 1)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	p := startProcess(t, cfgPath)
	waitStatus(t, base+"/readyz", 200, 30*time.Second)
	rep, cursor := hydrate(t, base, "")
	f := follow(t, base, rep, cursor, "")

	stop := make(chan struct{})
	var ops atomic.Int64
	waitWriters := startWriters(t, url, 2, stop, &ops)
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		waitWriters()
	}()
	for rep.events < 100 {
		if m, _ := f.next(); m.str("type") == "event" {
			rep.apply(m)
		}
	}
	p.kill9(t)
	// Writes go on while walrelay is down.
	before := ops.Load()
	waitCount(t, &ops, before+50, 30*time.Second)

	startProcess(t, cfgPath)
	waitStatus(t, base+"/readyz", 200, 30*time.Second)
	f.connect() // the old connection died with the process
	afterRestart, replayed := rep.events, 0
	// At least 100 events, and the whole replay.
	for rep.events < afterRestart+100 || rep.last.LSN <= f.sub.LSN {
		m, _ := f.next()
		if m.str("type") == "event" {
			rep.apply(m)
			if rep.last.LSN <= f.sub.LSN {
				replayed++
			}
		}
	}
	close(stop)
	waitWriters()
	f.converge(db(t, url))
	t.Logf("applied %d events across a kill -9, %d of them replayed on resuming, %d resumes after 4408; %d writer transactions",
		rep.events, replayed, f.resumes, ops.Load())
}

// Postgres stops and starts during a write burst: /readyz reports the
// outage, the server reconnects, and a subscribed client sees no gap.
func TestPostgresRestart(t *testing.T) {
	cluster := pgtest.Cluster()
	if cluster == nil {
		pgtest.AdminURL(t)
		t.Skip("needs the throwaway cluster (not an external database) to restart Postgres")
	}
	url := pgtest.MustDatabase(t)
	pgtest.MustExec(t, url, itemsSchema)
	pgtest.MustExec(t, url, "insert into items (grp, val, note) select i % 3, i, 'seed' from generate_series(1, 50) i")
	ts := startServerWith(t, url, itemsConfig)
	rep, cursor := hydrate(t, ts.URL, "")
	f := follow(t, ts.URL, rep, cursor, "")

	stop := make(chan struct{})
	var ops atomic.Int64
	waitWriters := startWriters(t, url, 2, stop, &ops)
	for rep.events < 50 {
		if m, _ := f.next(); m.str("type") == "event" {
			rep.apply(m)
		}
	}
	ctx := context.Background()
	if err := cluster.StopServer(ctx); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ts.URL+"/readyz", 503, 30*time.Second)
	if err := cluster.StartServer(ctx); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ts.URL+"/readyz", 200, 60*time.Second)
	// A resync fails the test (follower.next).
	resumed := rep.events
	for rep.events < resumed+50 {
		if m, _ := f.next(); m.str("type") == "event" {
			rep.apply(m)
		}
	}
	close(stop)
	waitWriters()
	f.converge(db(t, url))
	t.Logf("%d resumes after 4408", f.resumes)
}
