package integration

import (
	"context"
	"fmt"
	"net/http"
	neturl "net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay/pgembed/pgtest"
)

// alterConfig serves docs with an owner, a hidden column and a read rule
// on a column, plus a fence model whose events mark points in the stream.
// %s is the realtime section.
const alterConfig = `
database:
  url: ${DATABASE_URL}
  schema_poll: 0s
server:
  listen: "127.0.0.1:0"
  shutdown_timeout: 5s
auth:
  jwt:
    secret: ${JWT_SECRET}
realtime:
  slot: %s
models:
  Doc:
    table: docs
    subscribe: [list, item]
    owner: owner_id
    hide: [secret]
    permissions:
      subscribe: authenticated
      read: "isOwner || row.level > 5"
  Fence:
    table: fences
    subscribe: [list]
    permissions: {subscribe: authenticated, read: authenticated}
`

const alterSchema = `
create table docs (id bigserial primary key, owner_id text not null, title text, level int not null default 0, secret text);
create table fences (id bigserial primary key, label text);
`

// configLine returns "test.yaml:N" of the first line of text containing s.
func configLine(t *testing.T, text, s string) string {
	t.Helper()
	for i, line := range strings.Split(text, "\n") {
		if strings.Contains(line, s) {
			return fmt.Sprintf("test.yaml:%d", i+1)
		}
	}
	t.Fatalf("no %q in the config", s)
	return ""
}

// alterEnv is a server with live subscribers and a separate connection
// for DDL and writes. Every frame and REST body is checked at the end:
// no hidden value (they all start with SECRET) is ever sent.
type alterEnv struct {
	t          *testing.T
	ts         *testServer
	conn       *pgx.Conn
	cfg        string
	alice, bob string // tokens
	ca, cb     *wsClient
	fences     int
	leaks      []string
}

func newAlterEnv(t *testing.T, dbURL, cfg string) *alterEnv {
	e := &alterEnv{t: t, cfg: cfg, conn: db(t, dbURL)}
	e.ts = startServerWith(t, dbURL, cfg)
	e.alice = token(t, map[string]any{"sub": "alice"}, time.Hour)
	e.bob = token(t, map[string]any{"sub": "bob"}, time.Hour)
	e.ca, e.cb = dialToken(t, e.ts.URL, e.alice), dialToken(t, e.ts.URL, e.bob)
	for _, c := range []*wsClient{e.ca, e.cb} {
		c.subscribe("1", "Doc:list", "")
		c.subscribe("2", "Fence:list", "")
	}
	t.Cleanup(e.checkNoLeak)
	return e
}

// exec runs SQL on the separate connection.
func (e *alterEnv) exec(sql string) {
	e.t.Helper()
	exec(e.t, e.conn, sql)
}

// rest lists docs as alice and returns the status and body.
func (e *alterEnv) rest() (int, msg) {
	e.t.Helper()
	return e.list(httpDoAs)
}

// list lists docs as alice with do (httpDoAs, or httpUnchecked while the
// table is changing), noting any hidden value in the answer.
func (e *alterEnv) list(do func(t *testing.T, token, method, url, body string) (int, msg, http.Header)) (int, msg) {
	e.t.Helper()
	code, body, _ := do(e.t, e.alice, "GET", e.ts.URL+"/api/docs?order=id", "")
	if s := fmt.Sprint(body); strings.Contains(s, "SECRET") {
		e.leaks = append(e.leaks, "REST: "+s)
	}
	return code, body
}

// restItems lists docs as alice, failing unless the answer is 200.
func (e *alterEnv) restItems() []msg {
	e.t.Helper()
	code, body := e.rest()
	if code != 200 {
		e.t.Fatalf("GET /api/docs = %d %v, want 200", code, body)
	}
	var out []msg
	for _, it := range body["items"].([]any) {
		out = append(out, msg(it.(map[string]any)))
	}
	return out
}

// waitREST polls the list until ok accepts its answer, then lists once more
// checked against the OpenAPI document.
func (e *alterEnv) waitREST(what string, ok func(code int, body msg) bool) {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := e.list(httpUnchecked)
		if ok(code, body) {
			e.rest() // checked against the OpenAPI document, now that it is settled
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("REST never showed %s; last %d %v", what, code, body)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
}

// hasKey reports whether every listed item has (or, with want false, lacks)
// column key, and there is at least one item.
func hasKey(body msg, key string, want bool) bool {
	items, _ := body["items"].([]any)
	for _, it := range items {
		if _, ok := it.(map[string]any)[key]; ok != want {
			return false
		}
	}
	return len(items) > 0
}

// fence inserts a fence row and returns its label; its event comes after
// every event of earlier transactions.
func (e *alterEnv) fence() string {
	e.t.Helper()
	e.fences++
	label := fmt.Sprintf("fence-%d", e.fences)
	exec(e.t, e.conn, "insert into fences (label) values ($1)", label)
	return label
}

// expect reads c's next messages, skipping pongs, and checks them in order:
// "event:Doc" (returned), "event:Fence:<label>", "resync:Doc".
func (e *alterEnv) expect(c *wsClient, want ...string) []msg {
	e.t.Helper()
	var docs []msg
	for _, w := range want {
		m := c.next()
		for m.str("type") == "pong" {
			m = c.next()
		}
		if s := fmt.Sprint(m); strings.Contains(s, "SECRET") {
			e.leaks = append(e.leaks, "ws: "+s)
		}
		got := m.str("type") + ":" + strings.TrimSuffix(m.str("channel"), ":list")
		switch {
		case w == "event:Doc" && got == w:
			docs = append(docs, m)
		case strings.HasPrefix(w, "event:Fence:") && got == "event:Fence" && m.obj("data").str("label") == strings.TrimPrefix(w, "event:Fence:"):
		case w == "resync:Doc" && got == w && m.str("reason") == "schema_changed":
		default:
			e.t.Fatalf("got %v, want %s", m, w)
		}
	}
	return docs
}

// checkNoLeak fails when a hidden value was sent in any form.
func (e *alterEnv) checkNoLeak() {
	for _, c := range []*wsClient{e.ca, e.cb} {
		for {
			select {
			case f := <-c.frames:
				if strings.Contains(string(f), "SECRET") {
					e.leaks = append(e.leaks, "frame: "+string(f))
				}
				continue
			default:
			}
			break
		}
	}
	for _, l := range e.leaks {
		e.t.Errorf("hidden value sent: %s", l)
	}
}

// stopped waits until REST answers 503 unavailable naming the config line
// that mentions s.
func (e *alterEnv) stopped(s string) {
	e.t.Helper()
	line := configLine(e.t, e.cfg, s)
	e.waitREST("503 naming "+line, func(code int, body msg) bool {
		if code == 500 {
			e.t.Fatalf("REST answered 500: %v", body)
		}
		return code == 503 && body.obj("error").str("code") == "unavailable" && strings.Contains(body.obj("error").str("message"), line)
	})
}

// stopBy runs ddl, which must stop Doc: REST answers 503 naming the config
// line that mentions line; the event of write (run after) is not sent:
// both subscribers are told to resync, then see the next fence.
func (e *alterEnv) stopBy(ddl, line, write string) {
	e.t.Helper()
	e.exec(ddl)
	e.stopped(line)
	e.exec(write)
	f := e.fence()
	e.expect(e.ca, "resync:Doc", "event:Fence:"+f)
	e.expect(e.cb, "resync:Doc", "event:Fence:"+f)
}

// resumeBy runs ddl, which must make Doc served again: REST answers 200
// and both subscribers are told to resync.
func (e *alterEnv) resumeBy(ddl string) {
	e.t.Helper()
	e.exec(ddl)
	e.waitREST("the model back", func(code int, body msg) bool {
		return code == 200 && !strings.Contains(fmt.Sprint(body["items"]), "secret:")
	})
	e.expect(e.ca, "resync:Doc")
	e.expect(e.cb, "resync:Doc")
}

// ALTER TABLE under live subscribers, with the event trigger (the test
// database's role is a superuser; polling is off): added, dropped, renamed
// and retyped columns appear in REST and events; a pinned column (hide,
// owner, a rule's) dropped, renamed or retyped stops the model with 503
// and no events, and it resumes when the column is back. No hidden value
// is ever sent.
func TestAlterTableUnderLiveSubscribers(t *testing.T) {
	url := newDatabase(t)
	pgtest.MustExec(t, url, alterSchema)
	cfg := fmt.Sprintf(alterConfig, "wr_alter_trigger")
	e := newAlterEnv(t, url, cfg)
	if n := queryInt(t, e.conn, "select count(*) from pg_event_trigger where evtname = 'walrelay_schema'"); n != 1 {
		t.Fatalf("%d event triggers, want 1", n)
	}

	e.exec("insert into docs (owner_id, title, level, secret) values ('alice', 'a1', 1, 'SECRET-1')")
	ev := e.expect(e.ca, "event:Doc")[0]
	if d := ev.obj("data"); d.str("title") != "a1" || d.str("owner_id") != "alice" {
		t.Fatalf("event %v", ev)
	}
	e.expect(e.cb, "event:Fence:"+e.fence()) // bob may not read alice's level-1 doc
	e.expect(e.ca, "event:Fence:fence-1")

	// ADD COLUMN: REST shows it once the trigger's notice is read; events
	// carry it.
	e.exec("alter table docs add column note text default 'n0'")
	e.waitREST("the added column", func(code int, body msg) bool { return code == 200 && hasKey(body, "note", true) })
	e.exec("insert into docs (owner_id, title, level, note, secret) values ('alice', 'a2', 9, 'hello', 'SECRET-2')")
	for _, c := range []*wsClient{e.ca, e.cb} {
		if d := e.expect(c, "event:Doc")[0].obj("data"); d.str("note") != "hello" {
			t.Fatalf("event after ADD COLUMN: %v", d)
		}
	}
	if code, _, _ := httpDoAs(t, e.alice, "GET", e.ts.URL+"/api/docs?note=eq.hello", ""); code != 200 {
		t.Fatalf("filter on the added column: %d", code)
	}

	// DROP COLUMN of an unpinned column: the very next request works.
	e.exec("alter table docs drop column title")
	items := e.restItems()
	if _, has := items[0]["title"]; len(items) != 2 || has || items[0].str("note") != "n0" {
		t.Fatalf("after DROP COLUMN: %v", items)
	}
	e.exec("insert into docs (owner_id, level, secret) values ('alice', 1, 'SECRET-3')")
	if d := e.expect(e.ca, "event:Doc")[0].obj("data"); d["title"] != nil || d.str("note") != "n0" {
		t.Fatalf("event after DROP COLUMN: %v", d)
	}

	// RENAME COLUMN, unpinned.
	e.exec("alter table docs rename column note to remark")
	e.waitREST("the renamed column", func(code int, body msg) bool { return code == 200 && hasKey(body, "remark", true) })
	e.exec("insert into docs (owner_id, level, remark, secret) values ('alice', 1, 'r', 'SECRET-4')")
	if d := e.expect(e.ca, "event:Doc")[0].obj("data"); d.str("remark") != "r" || d["note"] != nil {
		t.Fatalf("event after RENAME COLUMN: %v", d)
	}

	// RETYPE, unpinned: same column names, so every pooled connection's
	// cached statement is stale; the first request must still work.
	e.exec("alter table docs alter column remark drop default, alter column remark type jsonb using to_jsonb(remark)")
	if items = e.restItems(); items[0]["remark"] != "n0" { // to_jsonb('n0'::text) is the JSON string "n0"
		t.Fatalf("after retype: %v", items[0])
	}
	e.exec(`insert into docs (owner_id, level, remark, secret) values ('alice', 1, '{"k": [1]}', 'SECRET-5')`)
	if d := e.expect(e.ca, "event:Doc")[0].obj("data"); fmt.Sprint(d["remark"]) != "map[k:[1]]" {
		t.Fatalf("event after retype: %v", d)
	}

	// The hidden column renamed: stopped. REST 503 naming the hide line,
	// subscribers told to resync, the row's event not sent (the renamed
	// column would carry the secret), new subscriptions refused.
	e.stopBy("alter table docs rename column secret to secret2", "hide:",
		"insert into docs (owner_id, level, secret2) values ('alice', 9, 'SECRET-6')")
	c3 := dialToken(t, e.ts.URL, e.alice)
	c3.send(map[string]any{"type": "subscribe", "ref": "x", "channel": "Doc:list"})
	if m := c3.nextOf("error"); m.str("code") != "unavailable" {
		t.Fatalf("subscribe to a stopped model: %v", m)
	}
	code, body, _ := httpDoAs(t, e.alice, "GET", e.ts.URL+"/api/docs/1", "")
	if code != 503 {
		t.Fatalf("GET one of a stopped model: %d %v", code, body)
	}

	// Renamed back: served again; subscribers told to resync again; events
	// flow, without the hidden column.
	e.resumeBy("alter table docs rename column secret2 to secret")
	e.exec("insert into docs (owner_id, level, secret) values ('alice', 1, 'SECRET-7')")
	if d := e.expect(e.ca, "event:Doc")[0].obj("data"); d.str("owner_id") != "alice" || d["secret"] != nil {
		t.Fatalf("event after recovery: %v", d)
	}

	// The read rule's column dropped (stopped), then added back.
	e.stopBy("alter table docs drop column level", "read:", "insert into docs (owner_id, secret) values ('carol', 'SECRET-8')")
	e.resumeBy("alter table docs add column level int not null default 0")
	e.exec("insert into docs (owner_id, level, secret) values ('carol', 9, 'SECRET-9'), ('carol', 1, 'SECRET-10')")
	f := e.fence()
	for _, c := range []*wsClient{e.ca, e.cb} {
		if d := e.expect(c, "event:Doc", "event:Fence:"+f)[0].obj("data"); num(d["level"]) != 9 {
			t.Fatalf("read rule after the column came back: %v", d)
		}
	}

	// The rule's column retyped: stopped; retyped back: served.
	e.stopBy("alter table docs alter column level type bigint", "read:",
		"insert into docs (owner_id, level, secret) values ('carol', 9, 'SECRET-11')")
	e.resumeBy("alter table docs alter column level type int")
	e.exec("insert into docs (owner_id, level, secret) values ('carol', 9, 'SECRET-12')")
	for _, c := range []*wsClient{e.ca, e.cb} {
		if d := e.expect(c, "event:Doc")[0].obj("data"); num(d["level"]) != 9 || d["secret"] != nil {
			t.Fatalf("event after the retype was undone: %v", d)
		}
	}

	// The table dropped: no event shows it, so the catalog side tells the
	// subscribers. Created again: back in the publication, with REPLICA
	// IDENTITY FULL (alice, the owner, sees her row's delete).
	e.exec("drop table docs")
	e.stopped("table: docs")
	e.expect(e.ca, "resync:Doc")
	e.expect(e.cb, "resync:Doc")
	e.resumeBy("create table docs (id bigserial primary key, owner_id text not null, level int not null default 0, secret text)")
	e.exec("insert into docs (owner_id, level, secret) values ('alice', 1, 'SECRET-13')")
	id := num(e.expect(e.ca, "event:Doc")[0]["id"])
	exec(t, e.conn, "delete from docs where id = $1", id)
	if ev := e.expect(e.ca, "event:Doc")[0]; ev.str("event") != "deleted" || num(ev["id"]) != id || ev.obj("old").str("owner_id") != "alice" {
		t.Fatalf("delete after the table came back: %v", ev)
	}
}

// Without the event trigger (a role that is not a superuser, as on managed
// databases; polling off), schema changes are seen from the replication
// stream's relation messages and from queries that fail: a dropped column
// never makes REST answer 500, a renamed hidden column stops the model
// once a change shows it, and it resumes likewise.
func TestAlterTableWithoutEventTrigger(t *testing.T) {
	role := fmt.Sprintf("wr_app_%d", os.Getpid())
	admin := pgtest.AdminURL(t)
	pgtest.MustExec(t, admin, "create role "+role+" login replication")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, admin); err == nil {
			_, _ = conn.Exec(ctx, "drop role if exists "+role)
			conn.Close(ctx)
		}
	})
	url := newDatabase(t)
	pgtest.MustExec(t, url, alterSchema+"alter table docs owner to "+role+"; alter table fences owner to "+role+
		"; grant create on database "+pgx.Identifier{dbName(t, url)}.Sanitize()+" to "+role)
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	u.User = neturl.User(role)
	appURL := u.String()
	cfg := fmt.Sprintf(alterConfig, "wr_alter_notrigger")
	e := newAlterEnv(t, appURL, cfg)
	if n := queryInt(t, e.conn, "select count(*) from pg_event_trigger"); n != 0 {
		t.Fatalf("%d event triggers, want none", n)
	}
	e.exec("insert into docs (owner_id, title, level, secret) values ('alice', 'a1', 1, 'SECRET-1')")
	e.expect(e.ca, "event:Doc")

	// A dropped column: the first request fails under the old version,
	// which makes the catalog be read again, and is retried.
	e.exec("alter table docs drop column title")
	if items := e.restItems(); len(items) != 1 || items[0].str("owner_id") != "alice" || hasKey(msg{"items": []any{map[string]any(items[0])}}, "title", true) {
		t.Fatalf("after DROP COLUMN: %v", items)
	}

	// An added column shows in the event at once, and in REST after the
	// relation message made the catalog be read.
	e.exec("alter table docs add column note text")
	e.exec("insert into docs (owner_id, level, note, secret) values ('alice', 1, 'hi', 'SECRET-2')")
	if d := e.expect(e.ca, "event:Doc")[0].obj("data"); d.str("note") != "hi" {
		t.Fatalf("event after ADD COLUMN: %v", d)
	}
	e.waitREST("the added column", func(code int, body msg) bool { return code == 200 && hasKey(body, "note", true) })

	// The hidden column renamed: the next change's relation stops it.
	e.exec("alter table docs rename column secret to secret2")
	e.exec("insert into docs (owner_id, level, secret2) values ('alice', 9, 'SECRET-3')")
	f := e.fence()
	e.expect(e.ca, "resync:Doc", "event:Fence:"+f)
	e.expect(e.cb, "resync:Doc", "event:Fence:"+f)
	e.stopped("hide:")

	e.exec("alter table docs rename column secret2 to secret")
	e.exec("insert into docs (owner_id, level, secret) values ('alice', 1, 'SECRET-4')")
	docs := e.expect(e.ca, "resync:Doc", "event:Doc")
	if d := docs[0].obj("data"); d["secret"] != nil || d.str("owner_id") != "alice" {
		t.Fatalf("event after recovery: %v", d)
	}
	e.waitREST("the model back", func(code int, body msg) bool { return code == 200 })
}

// dbName returns the database name of a URL.
func dbName(t *testing.T, url string) string {
	t.Helper()
	i := strings.LastIndex(url, "/")
	name, _, _ := strings.Cut(url[i+1:], "?")
	if name == "" {
		t.Fatalf("no database in %s", url)
	}
	return name
}
