package cdc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/pgembed/pgtest"
	"github.com/walrelay/walrelay/pgjson"
)

const testTables = `
create table items (
	id bigserial primary key,
	name text,
	n int4,
	data jsonb,
	at timestamptz,
	tags text[],
	big text,
	note text
);
create table others (id int primary key, v text);
create table plain (id int primary key);`

// env is one test's database, prepared for replication.
type env struct {
	url    string
	cfg    Config
	schema *walrelay.Schema
	items  *walrelay.Model
}

// mustEnv creates a database with the test tables, a model for items (and
// for others when withOthers) and a Config with a slot name unique in the
// cluster.
func mustEnv(t *testing.T, withOthers bool) *env {
	t.Helper()
	u := pgtest.MustDatabase(t)
	pgtest.MustExec(t, u, testTables)
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{url: u}
	e.cfg = Config{
		URL: u, Slot: "s_" + strings.TrimPrefix(parsed.Path, "/"), Publication: "walrelay",
		ManageReplicaIdentity: true, StandbyTimeout: time.Second, MinBackoff: 50 * time.Millisecond,
		Logger: testLogger(t),
	}
	e.items = mustModel(t, u, "Item", "items")
	models := []*walrelay.Model{e.items}
	if withOthers {
		models = append(models, mustModel(t, u, "Other", "others"))
	}
	e.schema = walrelay.NewSchema(models)
	return e
}

// mustModel builds a realtime model of public.table by hand, reading the
// columns from the catalog.
func mustModel(t *testing.T, u, name, table string) *walrelay.Model {
	t.Helper()
	conn := mustConnect(t, u)
	rows, err := conn.Query(context.Background(), `select attname, atttypid, format_type(atttypid, atttypmod)
		from pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped order by attnum`, "public."+table)
	if err != nil {
		t.Fatal(err)
	}
	var cols []walrelay.Column
	for rows.Next() {
		var c walrelay.Column
		if err := rows.Scan(&c.Name, &c.TypeOID, &c.Type); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return &walrelay.Model{
		Name: name, Schema: "public", Table: table, Path: table, Columns: cols, PrimaryKey: "id",
		Subscribe: []walrelay.ChannelKind{walrelay.KindList},
		Broadcast: []walrelay.Op{walrelay.OpCreated, walrelay.OpUpdated, walrelay.OpDeleted, walrelay.OpTruncated},
	}
}

func mustConnect(t *testing.T, u string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func (e *env) mustSetup(t *testing.T) uint32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	epoch, err := Setup(ctx, mustConnect(t, e.url), e.schema, e.cfg)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	if epoch == 0 {
		t.Fatal("Setup returned epoch 0")
	}
	return epoch
}

// recSink records delivered transactions. fail, when set, is asked before
// each delivery and its error returned instead. Retained returns what
// retain holds; Reset calls are recorded in resets.
type recSink struct {
	txns   chan *walrelay.Txn
	resets chan uint32
	retain atomic.Uint64
	mu     sync.Mutex
	fail   func(*walrelay.Txn) error
}

func newSink() *recSink {
	return &recSink{txns: make(chan *walrelay.Txn, 100), resets: make(chan uint32, 10)}
}

func (s *recSink) Retained() walrelay.LSN { return walrelay.LSN(s.retain.Load()) }

func (s *recSink) Reset(epoch uint32) { s.resets <- epoch }

func (s *recSink) Deliver(ctx context.Context, tx *walrelay.Txn) error {
	s.mu.Lock()
	fail := s.fail
	s.mu.Unlock()
	if fail != nil {
		if err := fail(tx); err != nil {
			return err
		}
	}
	select {
	case s.txns <- tx:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// next waits for the next delivered transaction.
func (s *recSink) next(t *testing.T) *walrelay.Txn {
	t.Helper()
	select {
	case tx := <-s.txns:
		return tx
	case <-time.After(15 * time.Second):
		t.Fatal("timed out waiting for a transaction")
		return nil
	}
}

// running is a Consumer whose Run goroutine the test owns.
type running struct {
	c      *Consumer
	cancel context.CancelFunc
	done   chan error
}

func (e *env) start(t *testing.T, sink Sink) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{c: NewConsumer(e.cfg, e.schema, pgjson.NewDecoder(), sink), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- r.c.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels Run and waits for it to return nil.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if !ok {
			return // stopped before
		}
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
		close(r.done)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronization
	}
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

var errInjected = errors.New("injected failure")
