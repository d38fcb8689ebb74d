package schemawatch

import (
	"context"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/authz"
	"github.com/walrelay/walrelay/pgembed/pgtest"
	"github.com/walrelay/walrelay/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// newWatched resolves a Doc model of docs as the server does at startup
// (catalog, rules, pins) and returns a Watcher of it.
func newWatched(t *testing.T, cfg Config) (*Watcher, *walrelay.Schema, string) {
	t.Helper()
	pool, url := pgtest.MustPool(t, `create table docs (id bigserial primary key, owner_id text, level int, secret text, note text)`)
	m := &walrelay.Model{Name: "Doc", Schema: "public", Table: "docs", Path: "docs", Owner: "owner_id", Hide: []string{"secret"},
		Permissions: map[string]string{"read": "isOwner || row.level > 5"}}
	if err := store.LoadModels(context.Background(), pool, []*walrelay.Model{m}); err != nil {
		t.Fatal(err)
	}
	schema := walrelay.NewSchema([]*walrelay.Model{m})
	policy, err := authz.Compile(schema)
	if err != nil {
		t.Fatal(err)
	}
	Pin([]*walrelay.Model{m}, policy, func(path string) string { return "w.yaml:" + strings.TrimPrefix(path, "$.models.Doc.") })
	return New(schema, pool, cfg), schema, url
}

func TestPins(t *testing.T) {
	_, schema, _ := newWatched(t, Config{})
	var got []string
	for _, p := range schema.ByName("Doc").Pins {
		got = append(got, p.Use+" "+p.Column+" "+p.Source)
	}
	want := "primary key id w.yaml:table|owner owner_id w.yaml:owner|hide secret w.yaml:hide|read rule level w.yaml:permissions.read|read rule owner_id w.yaml:permissions.read"
	if strings.Join(got, "|") != want {
		t.Fatalf("pins\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
}

// Refresh replaces the version when the table changed: new columns, a
// stopped version naming the config line when a pinned column is gone,
// and the hooks see each change once, in order.
func TestRefreshFollowsTheTable(t *testing.T) {
	var mu sync.Mutex
	var changes []string
	w, schema, url := newWatched(t, Config{})
	w.OnChange(func(c Change) {
		mu.Lock()
		defer mu.Unlock()
		changes = append(changes, stateOf(c.Old)+"->"+stateOf(c.New))
	})
	ctx := context.Background()
	refresh := func(sql string) *walrelay.Model {
		t.Helper()
		pgtest.MustExec(t, url, sql)
		if err := w.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		return schema.ByName("Doc")
	}
	if m := refresh("alter table docs add column extra int"); m.Column("extra") == nil || m.Unavailable != nil {
		t.Fatalf("after ADD COLUMN: %+v", m.Columns)
	}
	if m := refresh("alter table docs drop column note"); m.Column("note") != nil || m.Unavailable != nil {
		t.Fatalf("after DROP COLUMN: %+v", m.Columns)
	}
	m := refresh("alter table docs rename column secret to secret2")
	if m.Unavailable == nil || !strings.Contains(m.Unavailable.Error(), `w.yaml:hide: hide column "secret"`) {
		t.Fatalf("after renaming the hidden column: %v", m.Unavailable)
	}
	if err := m.Available(); err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("client error %v", err)
	}
	if m.Column("secret2") != nil || m.Column("extra") == nil {
		t.Fatalf("a stopped version shows today's columns, not the last served: %+v", m.Columns)
	}
	if m := refresh("select 1"); m.Unavailable == nil {
		t.Fatal("a refresh without a change resumed the model")
	}
	if m := refresh("alter table docs rename column secret2 to secret"); m.Unavailable != nil {
		t.Fatalf("renamed back: %v", m.Unavailable)
	}
	m = refresh("alter table docs alter column level type bigint")
	if m.Unavailable == nil || !strings.Contains(m.Unavailable.Error(), `read rule column "level" of public.docs changed type from integer to bigint`) {
		t.Fatalf("after retyping the rule's column: %v", m.Unavailable)
	}
	if m := refresh("drop table docs"); m.Unavailable == nil || !strings.Contains(m.Unavailable.Error(), "w.yaml:table: table public.docs does not exist") {
		t.Fatalf("after DROP TABLE: %v", m.Unavailable)
	}
	mu.Lock()
	defer mu.Unlock()
	want := "served->served|served->served|served->stopped|stopped->served|served->stopped|stopped->stopped"
	if strings.Join(changes, "|") != want {
		t.Fatalf("changes %s, want %s", strings.Join(changes, "|"), want)
	}
}

func stateOf(m *walrelay.Model) string {
	if m.Unavailable != nil {
		return "stopped"
	}
	return "served"
}

// countingQuerier counts the catalog reads of a Refresh (one table lookup
// each).
type countingQuerier struct {
	Querier
	lookups atomic.Int32
	gate    chan struct{} // when set, the first lookup waits for it
	once    sync.Once
}

func (q *countingQuerier) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if strings.Contains(sql, "relkind") {
		q.lookups.Add(1)
		if q.gate != nil {
			q.once.Do(func() { <-q.gate })
		}
	}
	return q.Querier.Query(ctx, sql, args...)
}

// Concurrent Refresh calls made while a reading runs share one reading
// that starts after them: two readings in all, not one per call.
func TestRefreshCoalesces(t *testing.T) {
	w, _, _ := newWatched(t, Config{})
	q := &countingQuerier{Querier: w.q, gate: make(chan struct{})}
	w.q = q
	ctx := context.Background()
	first := make(chan error, 1)
	go func() { first <- w.Refresh(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for q.lookups.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the first reading did not start")
		}
		time.Sleep(time.Millisecond) // polling a condition with a deadline
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if err := w.Refresh(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	for w.requested.Load() < 11 {
		if time.Now().After(deadline) {
			t.Fatal("the calls did not arrive")
		}
		time.Sleep(time.Millisecond) // polling a condition with a deadline
	}
	close(q.gate)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if n := q.lookups.Load(); n != 2 {
		t.Fatalf("%d readings for 11 calls, want 2", n)
	}
}

// A NOTIFY on the channel makes Run read the catalog (polling off).
func TestRunListens(t *testing.T) {
	w, schema, url := newWatched(t, Config{Poll: -1})
	w.cfg.URL = url
	changed := make(chan struct{}, 10)
	w.OnChange(func(Change) { changed <- struct{}{} })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// Notices sent before the LISTEN are lost; the Kick after connecting
	// covers them, so this works whenever it lands.
	if _, err := conn.Exec(ctx, "alter table docs add column seen int; notify "+Channel); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-time.After(15 * time.Second):
		t.Fatal("no change seen after NOTIFY")
	}
	if schema.ByName("Doc").Column("seen") == nil {
		t.Fatal("the new column is not in the model")
	}
}
