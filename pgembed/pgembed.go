// Package pgembed starts a throwaway PostgreSQL cluster from the local
// server binaries: wal_level=logical, a loopback port (a free one unless one
// is preferred and free), a temporary data
// directory removed on Stop. When the process runs as root, initdb and
// postgres run as an unprivileged user ("postgres" by default), since both
// refuse to run as root.
//
// The demo subcommand and the test harness (package pgtest) share it.
package pgembed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"
)

// ErrNoBinaries is returned when no initdb/pg_ctl could be found.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries found (initdb, pg_ctl)")

// InstallHint tells a user how to get the binaries.
const InstallHint = `install them, e.g. "apt-get install postgresql" (Debian/Ubuntu) or "brew install postgresql@16" (macOS), ` +
	`set WALRELAY_PG_BIN to their directory, or run "docker compose up" with the repository's docker-compose.yml`

// Options tune a cluster. The zero value is usable.
type Options struct {
	// BinDir holds initdb, pg_ctl and postgres; found automatically if empty.
	BinDir string
	// RunAs is the OS user that runs the server when started as root;
	// default "postgres".
	RunAs string
	// Settings are extra postgresql.conf settings.
	Settings map[string]string
	// Durable keeps fsync on; by default the cluster trades durability for
	// speed (fsync=off), which is right for tests and demos.
	Durable bool
	// Log receives the server log; default a file in the data directory.
	Log *os.File
	// Port is the port to prefer; when it is 0 or taken, a free one is used.
	Port int
}

// Cluster is a running throwaway cluster. Stop it with Stop.
type Cluster struct {
	dir     string
	binDir  string
	port    int
	cred    *syscall.Credential
	stopped bool
}

// FindBinDir returns the directory with initdb and pg_ctl: $WALRELAY_PG_BIN,
// then PATH, then the newest /usr/lib/postgresql/*/bin or
// /usr/local/opt/postgresql*/bin.
func FindBinDir() (string, error) {
	if d := os.Getenv("WALRELAY_PG_BIN"); d != "" {
		if hasBinaries(d) {
			return d, nil
		}
		return "", fmt.Errorf("%w in WALRELAY_PG_BIN=%s", ErrNoBinaries, d)
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if d := filepath.Dir(p); hasBinaries(d) {
			return d, nil
		}
	}
	var cands []string
	for _, pat := range []string{"/usr/lib/postgresql/*/bin", "/usr/local/opt/postgresql*/bin", "/usr/pgsql-*/bin"} {
		m, _ := filepath.Glob(pat)
		cands = append(cands, m...)
	}
	sort.Slice(cands, func(i, j int) bool { return versionOf(cands[i]) > versionOf(cands[j]) })
	for _, d := range cands {
		if hasBinaries(d) {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

func versionOf(dir string) int {
	base := filepath.Base(filepath.Dir(dir))
	digits := ""
	for _, r := range base {
		if r >= '0' && r <= '9' {
			digits += string(r)
		} else if digits != "" {
			break
		}
	}
	n, _ := strconv.Atoi(digits)
	return n
}

func hasBinaries(dir string) bool {
	for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
		if st, err := os.Stat(filepath.Join(dir, b)); err != nil || st.IsDir() {
			return false
		}
	}
	return true
}

// Start creates and starts a cluster. The superuser is "postgres" with no
// password, listening on 127.0.0.1 only (trust authentication).
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	bin := opts.BinDir
	if bin == "" {
		var err error
		if bin, err = FindBinDir(); err != nil {
			return nil, err
		}
	}
	cred, err := credential(opts.RunAs)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "walrelay-pg-")
	if err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	c := &Cluster{dir: dir, binDir: bin, cred: cred}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("chown data directory: %w", err)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := c.cmd(ctx, "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--locale=C", "--no-sync").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w: %s", err, bytes.TrimSpace(out))
	}
	settings := map[string]string{
		"wal_level":               "logical",
		"max_replication_slots":   "20",
		"max_wal_senders":         "20",
		"max_connections":         "200",
		"listen_addresses":        "'127.0.0.1'",
		"unix_socket_directories": "''",
		"shared_buffers":          "128MB",
		"fsync":                   "off",
		"synchronous_commit":      "off",
		// With asynchronous commit, WAL reaches the walsender when the WAL
		// writer flushes it, every 200 ms by default, which would show as
		// event latency: flush often instead.
		"wal_writer_delay": "10ms",
		"full_page_writes": "off",
	}
	if opts.Durable {
		delete(settings, "fsync")
		delete(settings, "synchronous_commit")
		delete(settings, "full_page_writes")
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	var conf bytes.Buffer
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&conf, "%s = %s\n", k, settings[k])
	}
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.Write(conf.Bytes())
		f.Close()
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("write postgresql.conf: %w", err)
	}
	// Starting can race another process for the free port; retry a few.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if attempt == 0 && opts.Port != 0 && portFree(opts.Port) {
			port, err = opts.Port, nil
		}
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		c.port = port
		out, err := c.cmd(ctx, "pg_ctl", "-D", data, "-l", filepath.Join(dir, "postgres.log"), "-w", "-t", "60",
			"-o", "-p "+strconv.Itoa(port), "start").CombinedOutput()
		if err == nil {
			return c, nil
		}
		logTail, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
		lastErr = fmt.Errorf("pg_ctl start: %w: %s\n%s", err, bytes.TrimSpace(out), tail(logTail, 2000))
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

// URL returns a libpq URL for database db (e.g. "postgres").
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// Port returns the port the cluster listens on.
func (c *Cluster) Port() int { return c.port }

// Dir returns the cluster's temporary directory (data/ and postgres.log).
func (c *Cluster) Dir() string { return c.dir }

// Restart restarts the server in place (pg_ctl restart -m fast), keeping the
// port and data.
func (c *Cluster) Restart(ctx context.Context) error {
	out, err := c.cmd(ctx, "pg_ctl", "-D", filepath.Join(c.dir, "data"), "-l", filepath.Join(c.dir, "postgres.log"),
		"-w", "-t", "60", "-m", "fast", "-o", "-p "+strconv.Itoa(c.port), "restart").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl restart: %w: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// StopServer stops the server (fast shutdown) but keeps its data, for
// outage tests; StartServer starts it again on the same port.
func (c *Cluster) StopServer(ctx context.Context) error {
	out, err := c.cmd(ctx, "pg_ctl", "-D", filepath.Join(c.dir, "data"), "-w", "-t", "60", "-m", "fast", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %w: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// StartServer starts a server stopped by StopServer.
func (c *Cluster) StartServer(ctx context.Context) error {
	out, err := c.cmd(ctx, "pg_ctl", "-D", filepath.Join(c.dir, "data"), "-l", filepath.Join(c.dir, "postgres.log"),
		"-w", "-t", "60", "-o", "-p "+strconv.Itoa(c.port), "start").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl start: %w: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// Stop stops the server (fast shutdown) and removes its directory. It is
// safe to call more than once.
func (c *Cluster) Stop() error {
	if c.stopped {
		return nil
	}
	c.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := c.cmd(ctx, "pg_ctl", "-D", filepath.Join(c.dir, "data"), "-w", "-m", "immediate", "stop").CombinedOutput()
	rmErr := os.RemoveAll(c.dir)
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %w: %s", err, bytes.TrimSpace(out))
	}
	return rmErr
}

func (c *Cluster) cmd(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, name), args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	// Its own process group: a Ctrl-C to walrelay must not kill postgres
	// before Stop shuts it down cleanly.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.cred}
	return cmd
}

// credential returns the user to run as when we are root, else nil.
func credential(runAs string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	if runAs == "" {
		runAs = "postgres"
	}
	u, err := user.Lookup(runAs)
	if err != nil {
		return nil, fmt.Errorf("running as root, and PostgreSQL refuses to: no user %q to run it as (create one, e.g. \"useradd -r postgres\"): %w", runAs, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// portFree reports whether nothing listens on 127.0.0.1:port right now.
func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
