package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/walrelay/walrelay/pgembed"
)

// env is what a scenario runs against: a database and a walrelay server,
// each started by the tool unless given (--database-url, --url).
type env struct {
	dbURL     string
	serverURL string
	slot      string
	tmp       string
	cluster   *pgembed.Cluster // nil when the database was given
	pgPID     int              // the postmaster, 0 when not ours
	child     *exec.Cmd        // the server process, nil when given
	childDone chan error
	serverPID int // 0 when unknown
	logPath   string
	ownSlot   bool // the tool made the server's slot in a given database
}

// startEnv brings up the database and the server for scenario sc.
func startEnv(ctx context.Context, o *options, readRule string) (_ *env, err error) {
	e := &env{dbURL: o.dbURL, serverURL: o.url, slot: o.slot, serverPID: o.serverPID}
	e.tmp, err = os.MkdirTemp("", "walrelay-load-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if e.dbURL == "" {
		// Commits flush the WAL (without fsync: the cluster is throwaway),
		// which wakes the walsenders at once, as on a production server;
		// pgembed's default, asynchronous commit, would add up to
		// wal_writer_delay (10 ms) to every event's latency.
		c, err := pgembed.Start(ctx, pgembed.Options{Settings: map[string]string{"synchronous_commit": o.syncCommit}})
		if errors.Is(err, pgembed.ErrNoBinaries) {
			return nil, fmt.Errorf("%w: %s", err, pgembed.InstallHint)
		}
		if err != nil {
			return nil, fmt.Errorf("start postgres: %w", err)
		}
		e.cluster = c
		e.dbURL = c.URL("postgres")
		if pid, err := postmasterPID(filepath.Join(c.Dir(), "data")); err == nil {
			e.pgPID = pid
		}
	}
	if err := prepareSchema(ctx, e.dbURL, e.slot, e.serverURL == ""); err != nil {
		return nil, err
	}
	if e.serverURL == "" {
		if err := e.startServer(ctx, o, readRule); err != nil {
			return nil, err
		}
		e.ownSlot = e.cluster == nil
	}
	if err := e.waitReady(ctx, 2*time.Minute); err != nil {
		return nil, err
	}
	return e, nil
}

// childEnv marks the tool's own process as the server child (see
// serveChild); its value is unused.
const childEnv = "WALRELAY_LOAD_SERVER"

// startServer runs the server as a child process of this tool (the same
// binary, see serveChild), so that its CPU time and memory are its own in
// /proc, and waits for it to print its address.
func (e *env) startServer(ctx context.Context, o *options, readRule string) error {
	cfgPath := filepath.Join(e.tmp, "walrelay.yaml")
	if err := os.WriteFile(cfgPath, []byte(configYAML(e.dbURL, o.secret, e.slot, readRule)), 0o600); err != nil {
		return fmt.Errorf("write server config: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	args := []string{"--config", cfgPath}
	for flag, path := range map[string]string{"--cpuprofile": o.cpuProfile, "--memprofile": o.memProfile, "--mutexprofile": o.mutexProfile} {
		if path != "" {
			abs, err := filepath.Abs(path)
			if err != nil {
				return err
			}
			args = append(args, flag, abs)
		}
	}
	e.logPath = filepath.Join(e.tmp, "server.log")
	logf, err := os.Create(e.logPath)
	if err != nil {
		return fmt.Errorf("server log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), childEnv+"=1", "LISTEN=127.0.0.1:0")
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	e.child, e.serverPID = cmd, cmd.Process.Pid
	e.childDone = make(chan error, 1)
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "addr "); ok {
				addr <- a
			}
		}
		e.childDone <- cmd.Wait()
	}()
	select {
	case a := <-addr:
		e.serverURL = "http://" + a
		return nil
	case err := <-e.childDone:
		e.childDone <- err
		return fmt.Errorf("server exited before listening (%v):\n%s", err, e.logTail())
	case <-time.After(2 * time.Minute):
		return fmt.Errorf("server did not start within 2 minutes:\n%s", e.logTail())
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitReady polls /readyz until the server (every node given) is ready.
func (e *env) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for _, u := range serverURLs(e.serverURL) {
		var last string
		for {
			resp, err := http.Get(u + "/readyz")
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
				last = strings.TrimSpace(string(b))
			} else {
				last = err.Error()
			}
			if !time.Now().Before(deadline) {
				return fmt.Errorf("server at %s not ready within %v: %s\n%s", u, limit, last, e.logTail())
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond): // polling a condition with a deadline
			}
		}
	}
	return nil
}

// signal sends sig to the server child, if there is one.
func (e *env) signal(sig os.Signal) {
	if e.child != nil {
		_ = e.child.Process.Signal(sig)
	}
}

// logTail returns the end of the server's log.
func (e *env) logTail() string {
	b, _ := os.ReadFile(e.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// stopServer ends the server child (SIGTERM, then SIGKILL after 30 s) and
// returns its exit error.
func (e *env) stopServer() error {
	if e.child == nil {
		return nil
	}
	_ = e.child.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-e.childDone:
	case <-time.After(30 * time.Second):
		_ = e.child.Process.Kill()
		err = <-e.childDone
	}
	e.child = nil
	if err != nil {
		return fmt.Errorf("server: %w (its log: %s)\n%s", err, e.keepLog(), e.logTail())
	}
	return nil
}

// keepLog copies the server's log out of the temporary directory, which
// close removes, and returns where to.
func (e *env) keepLog() string {
	b, err := os.ReadFile(e.logPath)
	if err != nil {
		return e.logPath
	}
	f, err := os.CreateTemp("", "walrelay-load-server-*.log")
	if err != nil {
		return e.logPath
	}
	defer f.Close()
	_, _ = f.Write(b)
	return f.Name()
}

// close stops what the tool started and removes its files. In a given
// database the slots the run made are dropped.
func (e *env) close() error {
	errs := []error{e.stopServer()}
	if e.cluster == nil && e.dbURL != "" {
		slots := slices.Clone(recvSlots)
		if e.ownSlot {
			slots = append(slots, e.slot)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		errs = append(errs, dropSlots(ctx, e.dbURL, slots...))
		cancel()
	}
	if e.cluster != nil {
		errs = append(errs, e.cluster.Stop())
	}
	errs = append(errs, os.RemoveAll(e.tmp))
	return errors.Join(errs...)
}
