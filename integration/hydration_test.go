package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/pgembed/pgtest"
)

const itemsSchema = `
create table items (id bigint generated always as identity primary key, grp int not null, val int not null, note text);
create table fences (id bigint generated always as identity primary key, note text);`

const itemsConfig = `
database:
  url: ${DATABASE_URL}
server:
  listen: "127.0.0.1:0"
auth:
  anonymous: true
models:
  Item:
    table: items
    subscribe: [list]
    permissions: {subscribe: public, read: public}
  Fence:
    table: fences
    subscribe: [list]
    permissions: {subscribe: public, read: public}
limits:
  max_connections_per_ip: 1000
  rest_requests_per_second: -1
`

// itemRow is a client's copy of one row.
type itemRow struct {
	Grp, Val int64
	Note     string
}

func toItem(m msg) itemRow {
	return itemRow{Grp: num(m["grp"]), Val: num(m["val"]), Note: m.str("note")}
}

// replica is a client's state: rows applied from a snapshot and events.
type replica struct {
	t      *testing.T
	rows   map[int64]itemRow
	last   walrelay.Cursor
	events int
}

// apply applies one event, failing on a duplicate, a miss or an event out
// of order.
func (r *replica) apply(m msg) {
	r.t.Helper()
	cur, err := walrelay.ParseCursor(m.str("cursor"))
	if err != nil {
		r.t.Fatalf("event cursor: %v", err)
	}
	if r.events > 0 && (cur.LSN < r.last.LSN || cur.LSN == r.last.LSN && cur.Seq <= r.last.Seq) {
		r.t.Fatalf("event out of order: %v after %v", cur, r.last)
	}
	r.last = cur
	r.events++
	id := num(m["id"])
	switch m.str("event") {
	case "created":
		if _, ok := r.rows[id]; ok {
			r.t.Fatalf("duplicate: created %d which the client already has", id)
		}
		r.rows[id] = toItem(m.obj("data"))
	case "updated":
		have, ok := r.rows[id]
		if !ok {
			r.t.Fatalf("miss: updated %d which the client does not have", id)
		}
		if old := toItem(m.obj("old")); old != have {
			r.t.Fatalf("miss: updated %d from %+v but the client had %+v", id, old, have)
		}
		r.rows[id] = toItem(m.obj("data"))
	case "deleted":
		if _, ok := r.rows[id]; !ok {
			r.t.Fatalf("miss: deleted %d which the client does not have", id)
		}
		delete(r.rows, id)
	default:
		r.t.Fatalf("unexpected event %v", m)
	}
}

// hydrate lists the table over REST (filter optional) and returns the
// replica and the read's cursor.
func hydrate(t *testing.T, base, filter string) (*replica, string) {
	t.Helper()
	code, body, hdr := httpDo(t, "GET", base+"/api/items?limit=1000&"+filter, "")
	if code != 200 {
		t.Fatalf("list = %d %v", code, body)
	}
	r := &replica{t: t, rows: map[int64]itemRow{}}
	items, _ := body["items"].([]any)
	if len(items) >= 1000 {
		t.Fatal("table grew past one page")
	}
	for _, it := range items {
		row := msg(it.(map[string]any))
		r.rows[num(row["id"])] = toItem(row)
	}
	if body.str("cursor") == "" || body.str("cursor") != hdr.Get("Walrelay-Cursor") {
		t.Fatalf("cursor in body %q and header %q", body.str("cursor"), hdr.Get("Walrelay-Cursor"))
	}
	return r, body.str("cursor")
}

// tableState reads the table as the database has it.
func tableState(t *testing.T, conn *pgx.Conn, where string) map[int64]itemRow {
	t.Helper()
	rows, err := conn.Query(context.Background(), "select id, grp, val, coalesce(note, '') from items where "+where)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]itemRow{}
	for rows.Next() {
		var id int64
		var r itemRow
		if err := rows.Scan(&id, &r.Grp, &r.Val, &r.Note); err != nil {
			t.Fatal(err)
		}
		out[id] = r
	}
	return out
}

// startWriters runs n writers, each on its own connection, making random
// inserts, updates (some moving rows between groups) and deletes, some in
// multi-statement transactions, until stop is closed. A writer whose
// connection breaks (Postgres restarting) reconnects. ops counts committed
// transactions.
func startWriters(t *testing.T, url string, n int, stop <-chan struct{}, ops *atomic.Int64) (wait func()) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			ctx := context.Background()
			var conn *pgx.Conn
			defer func() {
				if conn != nil {
					conn.Close(ctx)
				}
			}()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if conn == nil || conn.IsClosed() {
					c, err := pgx.Connect(ctx, url)
					if err != nil {
						time.Sleep(50 * time.Millisecond) // retry pacing while Postgres is down
						continue
					}
					conn = c
				}
				tx, err := conn.Begin(ctx)
				if err != nil {
					conn.Close(ctx)
					continue
				}
				failed := false
				for range 1 + rng.IntN(3) {
					var sql string
					switch op := rng.IntN(10); {
					case op < 4:
						sql = fmt.Sprintf("insert into items (grp, val, note) select %d, %d, md5(random()::text) where (select count(*) from items) < 200", rng.IntN(3), rng.IntN(100))
					case op < 8:
						sql = "update items set val = val + 1, grp = case when random() < 0.3 then (grp + 1) % 3 else grp end where id = (select id from items order by random() limit 1)"
					default:
						sql = "delete from items where id = (select id from items order by random() limit 1)"
					}
					if _, err := tx.Exec(ctx, sql); err != nil {
						failed = true
						break
					}
				}
				if failed {
					_ = tx.Rollback(ctx)
					continue
				}
				if tx.Commit(ctx) == nil {
					ops.Add(1)
				}
			}
		}()
	}
	return wg.Wait
}

// The hydration race: writers change the table continuously while clients
// repeatedly list over REST and subscribe with the list's cursor as since.
// Every round applies each event exactly once and in order (no duplicate,
// no miss, nothing out of order), and a final replica equals the table.
func TestHydrationRace(t *testing.T) {
	url := pgtest.MustDatabase(t)
	pgtest.MustExec(t, url, itemsSchema)
	pgtest.MustExec(t, url, "insert into items (grp, val, note) select i % 3, i, 'seed' from generate_series(1, 50) i")
	ts := startServerWith(t, url, itemsConfig)

	stop := make(chan struct{})
	var ops atomic.Int64
	waitWriters := startWriters(t, url, 3, stop, &ops)
	const clients, rounds = 4, 13
	filters := []string{"", "grp=eq.1", "val=gte.50", "grp=in.(0,2)"}
	var total atomic.Int64
	// A last client hydrates while writers run and converges on the table.
	rep, cursor := hydrate(t, ts.URL, "")
	final := follow(t, ts.URL, rep, cursor, "")
	t.Run("rounds", func(t *testing.T) {
		for ci := range clients {
			t.Run(fmt.Sprint("client", ci), func(t *testing.T) {
				t.Parallel()
				for round := range rounds {
					filter := filters[(ci+round)%len(filters)]
					rep, cursor := hydrate(t, ts.URL, filter)
					// A resync fails the test: the history covers a fresh cursor.
					c := follow(t, ts.URL, rep, cursor, filter)
					for rep.events < 15 {
						if m, _ := c.next(); m.str("type") == "event" {
							rep.apply(m)
						}
					}
					total.Add(1)
					c.c.conn.CloseNow()
				}
			})
		}
	})
	close(stop)
	waitWriters()
	final.converge(db(t, url))
	if total.Load() < 50 {
		t.Fatalf("only %d rounds completed", total.Load())
	}
	t.Logf("%d rounds, %d writer transactions, final replica applied %d events (%d resumes after 4408)", total.Load(), ops.Load(), rep.events, final.resumes)
}

// follower follows Item:list, narrowed by filter, and Fence:list (for
// fences) from a replica's last event, or, before the first, from since
// (the hydration's cursor). When the server closes it for falling behind
// (4408; on a loaded machine a connection's writer can fall a queue behind
// the change stream, most of all when the server re-streams a backlog
// after a restart) it resumes from there, as the SDK does (CONTRACT §3,
// §5). A resync or another close fails the test.
type follower struct {
	t       *testing.T
	base    string
	filter  string
	rep     *replica
	since   string
	c       *wsClient
	sub     walrelay.Cursor // the current connection's subscribed cursor of Item:list
	resumes int
}

// follow connects a follower.
func follow(t *testing.T, base string, rep *replica, since, filter string) *follower {
	t.Helper()
	f := &follower{t: t, base: base, filter: filter, rep: rep, since: since}
	f.connect()
	return f
}

// connect opens a new connection and subscribes from the replica's
// position.
func (f *follower) connect() {
	f.t.Helper()
	since := f.since
	if f.rep.events > 0 {
		since = f.rep.last.String()
	}
	f.c = dial(f.t, f.base)
	f.c.subscribe("f", "Fence:list", "")
	f.c.send(map[string]any{"type": "subscribe", "ref": "s", "channel": "Item:list", "filter": f.filter, "since": since})
	cur, err := walrelay.ParseCursor(f.c.nextOf("subscribed").str("cursor"))
	if err != nil {
		f.t.Fatal(err)
	}
	f.sub = cur
}

// next returns the next message, and whether the connection was replaced
// (after 4408) before it.
func (f *follower) next() (m msg, resumed bool) {
	f.t.Helper()
	for {
		m, code := f.c.nextOrClosed()
		switch {
		case m.str("type") == "resync":
			f.t.Fatalf("resync (%s): the history should hold every change after the cursor", m.str("reason"))
		case m != nil:
			return m, resumed
		case code != 4408:
			f.t.Fatalf("connection closed: %v", code)
		}
		f.resumes++
		resumed = true
		f.connect()
	}
}

// converge applies the follower's Item events to its replica until a
// fence row arrives, then checks the replica equals the table.
func (f *follower) converge(conn *pgx.Conn) {
	f.t.Helper()
	exec(f.t, conn, "insert into fences (note) values ('end')")
	for {
		m, resumed := f.next()
		if resumed { // the new connection's Fence:list starts after that fence
			exec(f.t, conn, "insert into fences (note) values ('end')")
		}
		if m.str("type") != "event" {
			continue
		}
		if m.str("channel") == "Fence:list" {
			break
		}
		f.rep.apply(m)
	}
	f.rep.mustEqualTable(conn)
}

// converge applies c's events to rep until the fence row arrives, then
// checks rep equals the table. Unlike follower.converge it does not
// resume: a close fails it.
func converge(t *testing.T, c *wsClient, rep *replica, conn *pgx.Conn) {
	t.Helper()
	exec(t, conn, "insert into fences (note) values ('end')")
	for {
		m := c.nextOf("event")
		if m.str("channel") == "Fence:list" {
			break
		}
		rep.apply(m)
	}
	rep.mustEqualTable(conn)
}

// mustEqualTable fails unless the replica holds the table's rows.
func (r *replica) mustEqualTable(conn *pgx.Conn) {
	r.t.Helper()
	want := tableState(r.t, conn, "true")
	if len(r.rows) != len(want) {
		r.t.Fatalf("replica has %d rows, table %d", len(r.rows), len(want))
	}
	for id, row := range want {
		if r.rows[id] != row {
			r.t.Fatalf("row %d: replica %+v, table %+v", id, r.rows[id], row)
		}
	}
}
