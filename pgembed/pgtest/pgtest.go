// Package pgtest gives tests a real PostgreSQL with wal_level=logical.
//
// It takes WALRELAY_TEST_DATABASE_URL if set (the role must be allowed to
// create databases and replicate), else starts a throwaway cluster from the
// local binaries (package pgembed), else a testcontainers-go container where
// a Docker engine answers. With none of these, tests that need a database
// are skipped with a message saying why.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// and get a fresh, empty database per test with MustDatabase(t).
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/walrelay/walrelay/pgembed"
)

var (
	mu        sync.Mutex
	baseURL   string // admin URL to the "postgres" database
	cluster   *pgembed.Cluster
	whyNot    string
	dbCounter atomic.Int64
)

// Main starts the database, runs the tests and stops it. Its result is the
// exit code for os.Exit.
func Main(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	stop := setup(ctx)
	cancel()
	code := m.Run()
	stop()
	return code
}

func setup(ctx context.Context) (stop func()) {
	if u := os.Getenv("WALRELAY_TEST_DATABASE_URL"); u != "" {
		baseURL = u
		return func() {}
	}
	c, err := pgembed.Start(ctx, pgembed.Options{})
	if err == nil {
		cluster = c
		baseURL = c.URL("postgres")
		return func() { _ = c.Stop() }
	}
	embedErr := err
	ctr, err := startContainer(ctx)
	if err == nil {
		return func() { _ = testcontainers.TerminateContainer(ctr) }
	}
	whyNot = fmt.Sprintf("no PostgreSQL for tests: local binaries: %v; docker: %v; set WALRELAY_TEST_DATABASE_URL or %s",
		embedErr, err, pgembed.InstallHint)
	fmt.Fprintln(os.Stderr, "pgtest:", whyNot)
	return func() {}
}

func startContainer(ctx context.Context) (c *tcpostgres.PostgresContainer, err error) {
	defer func() {
		// testcontainers panics when no Docker engine answers.
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	testcontainers.SkipIfProviderIsNotHealthy(&testing.T{})
	c, err = tcpostgres.Run(ctx, "postgres:16-alpine",
		tcpostgres.WithDatabase("postgres"), tcpostgres.WithUsername("postgres"), tcpostgres.WithPassword("postgres"),
		testcontainers.WithCmd("postgres", "-c", "wal_level=logical", "-c", "max_replication_slots=20", "-c", "max_wal_senders=20", "-c", "fsync=off"),
		testcontainers.WithWaitStrategy(wait.ForListeningPort("5432/tcp").WithStartupTimeout(60*time.Second)))
	if err != nil {
		return nil, err
	}
	baseURL, err = c.ConnectionString(ctx, "sslmode=disable")
	return c, err
}

// Cluster returns the throwaway cluster, or nil when the database is not
// one (an external URL or a container). Tests that restart Postgres need it.
func Cluster() *pgembed.Cluster { return cluster }

// AdminURL returns the URL of the maintenance database, skipping the test
// when no database is available.
func AdminURL(tb testing.TB) string {
	tb.Helper()
	if baseURL == "" {
		if whyNot == "" {
			tb.Fatal("pgtest: call pgtest.Main from TestMain")
		}
		tb.Skip(whyNot)
	}
	return baseURL
}

// MustDatabase creates a new empty database and returns its URL. The
// database is dropped at cleanup (with any replication slots in it).
func MustDatabase(tb testing.TB) string {
	tb.Helper()
	admin := AdminURL(tb)
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), dbCounter.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "create database "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() { dropDatabase(admin, name) })
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("pgtest: parse url: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func dropDatabase(admin, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	// Slots pin a database; drop them first (inactive ones only can go).
	rows, err := conn.Query(ctx, "select slot_name, active_pid from pg_replication_slots where database = $1", name)
	if err == nil {
		var slots []string
		for rows.Next() {
			var s string
			var pid *int32
			if rows.Scan(&s, &pid) == nil {
				if pid != nil {
					_, _ = conn.Exec(ctx, "select pg_terminate_backend($1)", *pid)
				}
				slots = append(slots, s)
			}
		}
		rows.Close()
		for _, s := range slots {
			for range 50 {
				if _, err := conn.Exec(ctx, "select pg_drop_replication_slot($1)", s); err == nil || !strings.Contains(err.Error(), "is active") {
					break
				}
				time.Sleep(100 * time.Millisecond) // cleanup only: wait for the walsender to exit
			}
		}
	}
	_, _ = conn.Exec(ctx, "drop database if exists "+pgx.Identifier{name}.Sanitize()+" with (force)")
}

// MustExec runs SQL on its own connection to url, failing the test on error.
func MustExec(tb testing.TB, url, sql string, args ...any) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		tb.Fatalf("pgtest: exec %q: %v", sql, err)
	}
}

// MustPool creates a fresh database (MustDatabase), runs ddl in it when not
// empty (MustExec), and opens a pool on it, its config first adjusted by
// each of configure (e.g. store.ConfigurePool). The pool is closed when tb
// ends. It returns the pool and the database URL, for writes from separate
// connections.
func MustPool(tb testing.TB, ddl string, configure ...func(*pgxpool.Config)) (*pgxpool.Pool, string) {
	tb.Helper()
	url := MustDatabase(tb)
	if ddl != "" {
		MustExec(tb, url, ddl)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		tb.Fatalf("pgtest: pool config: %v", err)
	}
	for _, f := range configure {
		f(cfg)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("pgtest: open pool: %v", err)
	}
	tb.Cleanup(pool.Close)
	return pool, url
}
