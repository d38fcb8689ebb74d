package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/authz"
	"github.com/walrelay/walrelay/openapi"
	"github.com/walrelay/walrelay/openapi/openapitest"
	"github.com/walrelay/walrelay/pgembed/pgtest"
	"github.com/walrelay/walrelay/pgjson"
	"github.com/walrelay/walrelay/rest"
	"github.com/walrelay/walrelay/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const schemaDDL = `
create table messages (
	id bigserial primary key,
	room_id int not null check (room_id >= 0),
	body text not null default '',
	ip_address inet,
	created_at timestamptz not null default now(),
	meta jsonb,
	tags text[],
	nums int[],
	score numeric(10,2),
	done boolean default false,
	slug varchar(10) unique,
	shout text generated always as (upper(body)) stored
);
create table notes (id serial primary key, t text default 'x');`

type env struct {
	url string // database
	srv *httptest.Server
}

// public lets everyone do everything: the tests that are not about
// authorization run as anonymous callers under it.
var public = map[string]string{"read": "public", "create": "public", "update": "public", "delete": "public"}

// mustServer starts the REST API at /api over a fresh database, with
// anonymous access, public rules and (unless cfg says otherwise) no rate
// limit.
func mustServer(t *testing.T, cfg rest.Config) *env {
	t.Helper()
	models := []*walrelay.Model{
		{Name: "Message", Schema: "public", Table: "messages", Path: "messages", Hide: []string{"ip_address"}, Permissions: public},
		{Name: "Note", Schema: "public", Table: "notes", Path: "notes", Permissions: public},
	}
	if cfg.RequestsPerSecond == 0 {
		cfg.RequestsPerSecond = -1
	}
	return mustAPI(t, schemaDDL, models, authz.VerifierConfig{Secret: testSecret, Anonymous: true}, cfg)
}

// mustAPI creates the tables of ddl in a fresh database, loads models,
// compiles their rules and serves the REST API at /api with a verifier
// made from vcfg.
func mustAPI(t *testing.T, ddl string, models []*walrelay.Model, vcfg authz.VerifierConfig, cfg rest.Config) *env {
	t.Helper()
	pool, dbURL := pgtest.MustPool(t, ddl, store.ConfigurePool)
	ctx := context.Background()
	if err := store.LoadModels(ctx, pool, models); err != nil {
		t.Fatal(err)
	}
	schema := walrelay.NewSchema(models)
	policy, err := authz.Compile(schema)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := authz.NewVerifier(ctx, vcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	dec := pgjson.NewDecoder()
	docOpts := openapi.Options{Anonymous: vcfg.Anonymous}
	if cfg.OpenAPI == nil {
		cfg.OpenAPI = openapi.Handler(func() *walrelay.Schema { return schema }, dec, docOpts, nil)
	}
	h := rest.New(schema, store.New(pool, schema, dec), verifier, policy, cfg, nil)
	// Every call a test makes is checked against the OpenAPI document.
	raw, err := json.Marshal(openapi.Build(schema, dec, docOpts))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapitest.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", openapitest.Middleware(t, func() *openapitest.Document { return doc }, http.StripPrefix("/api", h)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{url: dbURL, srv: srv}
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (e *env) do(t *testing.T, method, path, body string) response {
	t.Helper()
	return e.doAs(t, "", method, path, body)
}

// doAs sends a request with the Authorization header auth (none when
// empty).
func (e *env) doAs(t *testing.T, auth, method, path, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if len(raw) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s %s: body is not JSON: %q", method, path, raw)
		}
		r.body, _ = v.(map[string]any)
	}
	return r
}

// want checks the status (and for errors the code) of a response.
func (r response) want(t *testing.T, status int, code string) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	if code != "" {
		e, _ := r.body["error"].(map[string]any)
		if e == nil || e["code"] != code || e["message"] == "" {
			t.Fatalf("error body %s, want code %q", r.raw, code)
		}
	}
	return r
}

func (r response) items(t *testing.T) []map[string]any {
	t.Helper()
	raw, ok := r.body["items"].([]any)
	if !ok {
		t.Fatalf("no items: %s", r.raw)
	}
	out := make([]map[string]any, len(raw))
	for i, it := range raw {
		out[i] = it.(map[string]any)
	}
	return out
}

func ids(t *testing.T, items []map[string]any) []string {
	t.Helper()
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = fmt.Sprint(it["id"])
	}
	return out
}

func count(t *testing.T, dbURL, sql string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCRUDRoundTrip(t *testing.T) {
	e := mustServer(t, rest.Config{})
	created := e.do(t, "POST", "/api/messages", `{"room_id": 5, "body": "hi", "meta": {"a": [1, 2.5, null], "b": "x"},
		"tags": ["x", "y,z", "{q}"], "nums": [1, null, 3], "created_at": "2024-01-01T10:00:00+02:00", "score": "1.5", "slug": null}`).
		want(t, http.StatusCreated, "")
	c := created.body
	if c["id"] == nil || c["done"] != false || c["shout"] != "HI" || c["slug"] != nil {
		t.Fatalf("defaults not filled: %s", created.raw)
	}
	if _, ok := c["ip_address"]; ok {
		t.Fatalf("hidden column returned: %s", created.raw)
	}
	for k, want := range map[string]string{
		"meta": `{"a":[1,2.5,null],"b":"x"}`, "tags": `["x","y,z","{q}"]`, "nums": `[1,null,3]`,
		"created_at": `"2024-01-01T08:00:00Z"`, "score": `1.50`,
	} {
		got, _ := json.Marshal(c[k])
		if string(got) != want {
			t.Errorf("%s = %s, want %s", k, got, want)
		}
	}
	id := fmt.Sprint(c["id"])

	got := e.do(t, "GET", "/api/messages/"+id, "").want(t, http.StatusOK, "")
	if got.raw != created.raw {
		t.Fatalf("get %s differs from create %s", got.raw, created.raw)
	}
	if _, err := walrelay.ParseCursor(got.header.Get(rest.CursorHeader)); err != nil {
		t.Fatalf("cursor header: %v", err)
	}

	upd := e.do(t, "PATCH", "/api/messages/"+id, `{"body": "yo", "meta": null, "tags": [], "done": true}`).want(t, http.StatusOK, "")
	if upd.body["body"] != "yo" || upd.body["shout"] != "YO" || upd.body["meta"] != nil || upd.body["done"] != true ||
		fmt.Sprint(upd.body["tags"]) != "[]" || fmt.Sprint(upd.body["room_id"]) != "5" {
		t.Fatalf("update: %s", upd.raw)
	}
	e.do(t, "PATCH", "/api/messages/"+id, `{}`).want(t, http.StatusOK, "")
	e.do(t, "DELETE", "/api/messages/"+id, "").want(t, http.StatusNoContent, "")
	e.do(t, "GET", "/api/messages/"+id, "").want(t, http.StatusNotFound, "not_found")
	e.do(t, "DELETE", "/api/messages/"+id, "").want(t, http.StatusNotFound, "not_found")
	e.do(t, "PATCH", "/api/messages/"+id, `{"body":"x"}`).want(t, http.StatusNotFound, "not_found")

	note := e.do(t, "POST", "/api/notes", `{}`).want(t, http.StatusCreated, "")
	if note.body["t"] != "x" || note.body["id"] == nil {
		t.Fatalf("default values: %s", note.raw)
	}
}

func seed(t *testing.T, e *env) {
	t.Helper()
	pgtest.MustExec(t, e.url, `insert into messages (id, room_id, body, ip_address, created_at, meta, tags, score, done, slug) values
		(1, 5, 'Hello world', '10.0.0.1', '2024-01-01T00:00:00Z', '{"k":1}', '{a}', 1.5, true, 'one'),
		(2, 5, 'hello again', '10.0.0.2', '2024-01-02T00:00:00Z', null, null, 2.25, false, 'two'),
		(3, 7, 'other room', '10.0.0.3', '2024-01-03T00:00:00Z', null, '{b,c}', null, null, 'three'),
		(4, 7, '50% off_', null, '2024-01-04T00:00:00Z', '[]', null, -1, true, null),
		(5, 9, '', null, '2024-01-05T00:00:00Z', null, null, 100, false, null);
		select setval('messages_id_seq', 100);`)
}

func TestFilters(t *testing.T) {
	e := mustServer(t, rest.Config{})
	seed(t, e)
	for q, want := range map[string]string{
		"room_id=eq.5":                       "1 2",
		"room_id=neq.5":                      "3 4 5",
		"room_id=lt.7":                       "1 2",
		"room_id=lte.7":                      "1 2 3 4",
		"room_id=gt.7":                       "5",
		"room_id=gte.7":                      "3 4 5",
		"room_id=in.(5,9)":                   "1 2 5",
		"room_id=not.in.(5,9)":               "3 4",
		"score=is.null":                      "3",
		"score=not.is.null":                  "1 2 4 5",
		"done=is.true":                       "1 4",
		"done=is.false":                      "2 5",
		"body=like.*ello*":                   "1 2",
		"body=like.Hello%":                   "1",
		"body=ilike.hello*":                  "1 2",
		"body=like.50\\%*":                   "4",
		"body=like.*off\\_":                  "4",
		"body=eq.":                           "5",
		"created_at=gte.2024-01-03":          "3 4 5",
		"created_at=lt.2024-01-02T00:00:00Z": "1",
		"score=gt.2&score=lt.100":            "2",
		"slug=in.(one,three,nope)":           "1 3",
		"meta=is.null":                       "2 3 5",
		"room_id=eq.5&body=ilike.*AGAIN":     "2",
		"body=eq.'; drop table messages; --": "",
		"body=in.(\"a,b\",\"Hello world\")":  "1",
	} {
		r := e.do(t, "GET", "/api/messages?"+encode(q), "").want(t, http.StatusOK, "")
		if got := strings.Join(ids(t, r.items(t)), " "); got != want {
			t.Errorf("%s: got ids [%s], want [%s]", q, got, want)
		}
		if r.body["cursor"] == nil || r.body["cursor"] != r.header.Get(rest.CursorHeader) {
			t.Errorf("%s: cursor %v, header %q", q, r.body["cursor"], r.header.Get(rest.CursorHeader))
		}
	}
}

// encode escapes a readable query so that each value reaches the server
// as written.
func encode(q string) string {
	v := url.Values{}
	for _, kv := range strings.Split(q, "&") {
		k, val, _ := strings.Cut(kv, "=")
		v.Add(k, val)
	}
	return v.Encode()
}

func TestOrderLimitCount(t *testing.T) {
	e := mustServer(t, rest.Config{})
	seed(t, e)
	for q, want := range map[string]string{
		"order=room_id.desc":            "5 3 4 1 2",
		"order=room_id.desc,body.asc":   "5 4 3 1 2",
		"order=score.asc":               "4 1 2 5 3",
		"order=score.desc":              "3 5 2 1 4",
		"order=created_at.desc&limit=2": "5 4",
		"order=id.desc&room_id=eq.7":    "4 3",
	} {
		r := e.do(t, "GET", "/api/messages?"+encode(q), "").want(t, http.StatusOK, "")
		if got := strings.Join(ids(t, r.items(t)), " "); got != want {
			t.Errorf("%s: got [%s], want [%s]", q, got, want)
		}
	}
	r := e.do(t, "GET", "/api/messages?room_id=gte.7&count=exact&limit=1", "").want(t, http.StatusOK, "")
	if fmt.Sprint(r.body["total"]) != "3" || len(r.items(t)) != 1 || r.body["next_page"] == nil {
		t.Fatalf("count: %s", r.raw)
	}
	r = e.do(t, "GET", "/api/messages", "").want(t, http.StatusOK, "")
	if _, ok := r.body["total"]; ok || r.body["next_page"] != nil {
		t.Fatalf("plain list: %s", r.raw)
	}
	if v, ok := r.body["next_page"]; !ok || v != nil {
		t.Fatalf("next_page must be null on the last page: %s", r.raw)
	}
}

// TestKeysetPagingUnderInserts pages through rows with many equal sort
// values while other connections insert rows between pages: every row
// that existed before the first page appears exactly once.
func TestKeysetPagingUnderInserts(t *testing.T) {
	e := mustServer(t, rest.Config{})
	pgtest.MustExec(t, e.url, `insert into messages (room_id, body, created_at)
		select i % 3, 'm' || i, '2024-01-01'::timestamptz + (i % 4) * interval '1 day' from generate_series(1, 40) i`)
	for _, order := range []string{"room_id.desc,created_at.asc", "created_at.desc", "body.asc"} {
		var before []string
		r := e.do(t, "GET", "/api/messages?limit=1000", "").want(t, http.StatusOK, "")
		before = ids(t, r.items(t))
		seen := map[string]int{}
		q := url.Values{"order": {order}, "limit": {"7"}}
		for page := 0; ; page++ {
			if page > 30 {
				t.Fatalf("%s: too many pages", order)
			}
			r := e.do(t, "GET", "/api/messages?"+q.Encode(), "").want(t, http.StatusOK, "")
			for _, id := range ids(t, r.items(t)) {
				seen[id]++
			}
			// A write from another connection lands between pages, with
			// sort values equal to rows already read and yet to read.
			pgtest.MustExec(t, e.url, fmt.Sprintf(`insert into messages (room_id, body, created_at)
				values (%d, 'new', '2024-01-0%d'), (1, 'm5', '2024-01-02')`, page%3, 1+page%4))
			next, _ := r.body["next_page"].(string)
			if next == "" {
				break
			}
			q.Set("page", next)
		}
		for id, n := range seen {
			if n > 1 {
				t.Errorf("%s: row %s returned %d times", order, id, n)
			}
		}
		for _, id := range before {
			if seen[id] != 1 {
				t.Errorf("%s: pre-existing row %s returned %d times", order, id, seen[id])
			}
		}
	}
}

func TestErrors(t *testing.T) {
	e := mustServer(t, rest.Config{Limits: rest.Limits{MaxBodyBytes: 256}})
	seed(t, e)
	for _, c := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"GET", "/api/messages?nope=eq.1", "", 400, "invalid_filter"},
		{"GET", "/api/messages?room_id=zz.1", "", 400, "invalid_filter"},
		{"GET", "/api/messages?room_id=eq.abc", "", 400, "invalid_filter"},
		{"GET", "/api/messages?ip_address=eq.10.0.0.1", "", 400, "invalid_filter"},
		{"GET", "/api/messages?ip_address=is.null", "", 400, "invalid_filter"},
		{"GET", "/api/messages?order=ip_address", "", 400, "invalid_filter"},
		{"GET", "/api/messages?order=nope.desc", "", 400, "invalid_filter"},
		{"GET", "/api/messages?limit=0", "", 400, "bad_request"},
		{"GET", "/api/messages?page=garbage", "", 400, "bad_request"},
		{"GET", "/api/messages/abc", "", 400, "bad_request"},
		{"GET", "/api/messages/99999999999999999999", "", 400, "bad_request"},
		{"GET", "/api/messages/12345", "", 404, "not_found"},
		{"GET", "/api/nope", "", 404, "not_found"},
		{"GET", "/api/nope/1", "", 404, "not_found"},
		{"POST", "/api/nope", `{}`, 404, "not_found"},
		{"GET", "/api/messages/1/extra", "", 404, "not_found"},
		{"PUT", "/api/messages/1", `{}`, 405, "bad_request"},
		{"POST", "/api/messages", `not json`, 400, "bad_request"},
		{"POST", "/api/messages", `[1,2]`, 400, "bad_request"},
		{"POST", "/api/messages", `{"room_id":1} {}`, 400, "bad_request"},
		{"POST", "/api/messages", ``, 400, "bad_request"},
		{"POST", "/api/messages", `{"body":"` + strings.Repeat("x", 300) + `"}`, 413, "too_large"},
		{"POST", "/api/messages", `{"room_id":"abc"}`, 422, "unprocessable"},
		{"POST", "/api/messages", `{"room_id":1.5}`, 422, "unprocessable"},
		{"POST", "/api/messages", `{"room_id":99999999999}`, 422, "unprocessable"},
		{"POST", "/api/messages", `{"room_id":1,"created_at":"yesterday-ish"}`, 422, "unprocessable"},
		{"POST", "/api/messages", `{"room_id":1,"slug":"much too long"}`, 422, "unprocessable"},
		{"POST", "/api/messages", `{"room_id":1,"nums":["x"]}`, 422, "unprocessable"},
		{"POST", "/api/messages", `{"room_id":{"a":1}}`, 400, "bad_request"},
		{"POST", "/api/messages", `{"room_id":1,"tags":{"a":1}}`, 400, "bad_request"},
		{"POST", "/api/messages", `{"room_id":1,"nope":1}`, 400, "bad_request"},
		{"POST", "/api/messages", `{"room_id":1,"ip_address":"10.0.0.9"}`, 400, "bad_request"},
		{"POST", "/api/messages", `{"room_id":1,"shout":"X"}`, 400, "bad_request"},
		{"POST", "/api/messages", `{"room_id":-1}`, 422, "unprocessable"},
		{"POST", "/api/messages", `{"body":"no room"}`, 422, "unprocessable"},
		{"POST", "/api/messages", `{"room_id":1,"slug":"one"}`, 409, "conflict"},
		{"POST", "/api/messages", `{"id":1,"room_id":1}`, 409, "conflict"},
		{"PATCH", "/api/messages/2", `{"slug":"one"}`, 409, "conflict"},
		{"PATCH", "/api/messages/abc", `{"body":"x"}`, 400, "bad_request"},
		{"PATCH", "/api/messages/2", `{"room_id":"x"}`, 422, "unprocessable"},
		{"PATCH", "/api/messages/2", `{"slug":"much too long"}`, 422, "unprocessable"},
		{"DELETE", "/api/messages/abc", "", 400, "bad_request"},
	} {
		r := e.do(t, c.method, c.path, c.body)
		if r.status != c.status {
			t.Errorf("%s %s %s: status %d, want %d: %s", c.method, c.path, c.body, r.status, c.status, r.raw)
			continue
		}
		errObj, _ := r.body["error"].(map[string]any)
		if errObj == nil || errObj["code"] != c.code {
			t.Errorf("%s %s %s: body %s, want code %s", c.method, c.path, c.body, r.raw, c.code)
		}
		if msg := fmt.Sprint(errObj["message"]); strings.Contains(msg, "select ") || strings.Contains(msg, "insert ") ||
			strings.Contains(msg, "SQLSTATE") || strings.Contains(msg, "syntax for type") {
			t.Errorf("%s %s: message leaks database text: %s", c.method, c.path, msg)
		}
	}
	r := e.do(t, "POST", "/api/messages", `{"room_id":"abc"}`)
	if msg := r.body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, `"room_id"`) {
		t.Errorf("422 message does not name the column: %s", msg)
	}
	// An id the key's type rejects is named, with the key and its type, by
	// every call that takes one.
	for _, method := range []string{"GET", "PATCH", "DELETE"} {
		r = e.do(t, method, "/api/messages/abc", `{"body":"x"}`)
		if msg := r.body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, `invalid id "abc" for Message: its primary key id is bigint`) {
			t.Errorf("%s /api/messages/abc: message %q does not name the id, the key and its type", method, msg)
		}
	}
	r = e.do(t, "POST", "/api/messages", `{"room_id":1,"slug":"one"}`)
	if msg := r.body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "messages_slug_key") {
		t.Errorf("409 message does not name the constraint: %s", msg)
	}
	if n := count(t, e.url, "select count(*) from messages"); n != 5 {
		t.Fatalf("failed writes changed the table: %d rows", n)
	}
}

// A filter operand that only Postgres can check (an enum label, an inet)
// and that it rejects is a 400 invalid_filter naming the column, as an
// operand walrelay checks itself is.
func TestFilterValueTheDatabaseRejects(t *testing.T) {
	ddl := `create type mood as enum ('happy', 'sad');
create table moods (id serial primary key, mood mood, addr inet);
insert into moods (mood, addr) values ('happy', '10.0.0.1');`
	models := []*walrelay.Model{{Name: "Mood", Schema: "public", Table: "moods", Path: "moods", Permissions: public}}
	e := mustAPI(t, ddl, models, authz.VerifierConfig{Secret: testSecret, Anonymous: true}, rest.Config{Limits: rest.Limits{RequestsPerSecond: -1}})
	for q, want := range map[string]string{
		"mood=eq.angry":                  "mood: the value is not valid for the column's type",
		"mood=in.(happy,angry)":          "mood: the value is not valid",
		"addr=eq.nope&mood=eq.happy":     "a value of addr, mood is not valid",
		"id=gt.0&mood=not.eq.melancholy": "mood: the value is not valid",
	} {
		r := e.do(t, "GET", "/api/moods?"+q, "").want(t, 400, "invalid_filter")
		if msg := r.body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, want) {
			t.Errorf("%s: message %q, want %q", q, msg, want)
		}
	}
	if items := e.do(t, "GET", "/api/moods?mood=eq.happy&addr=eq.10.0.0.1", "").want(t, 200, "").items(t); len(items) != 1 {
		t.Errorf("valid enum and inet operands: %v", items)
	}
}

func TestHiddenColumnNeverReturned(t *testing.T) {
	e := mustServer(t, rest.Config{})
	seed(t, e)
	var bodies []string
	bodies = append(bodies,
		e.do(t, "GET", "/api/messages", "").want(t, 200, "").raw,
		e.do(t, "GET", "/api/messages/1", "").want(t, 200, "").raw,
		e.do(t, "POST", "/api/messages", `{"room_id":1}`).want(t, 201, "").raw,
		e.do(t, "PATCH", "/api/messages/1", `{"body":"b"}`).want(t, 200, "").raw,
	)
	for _, b := range bodies {
		if strings.Contains(b, "ip_address") || strings.Contains(b, "10.0.0") {
			t.Errorf("hidden column leaked: %s", b)
		}
	}
}

func TestSQLMetacharacters(t *testing.T) {
	e := mustServer(t, rest.Config{})
	seed(t, e)
	evil := []string{`'; drop table messages; --`, `"); drop table messages; --`, `1 or 1=1`, `$1`, `\`, "\x00"}
	for _, v := range evil {
		ev := url.QueryEscape(v)
		pv := url.PathEscape(v)
		for _, c := range []struct {
			method, path, body string
			ok                 []int
		}{
			{"GET", "/api/messages?body=eq." + ev, "", []int{200, 400}},
			{"GET", "/api/messages?body=in.(" + ev + ")", "", []int{200, 400}},
			{"GET", "/api/messages?body=like." + ev, "", []int{200, 400}},
			{"GET", "/api/messages?" + ev + "=eq.1", "", []int{400}},
			{"GET", "/api/messages?order=" + ev, "", []int{400}},
			{"GET", "/api/messages?order=id." + ev, "", []int{400}},
			{"GET", "/api/messages?page=" + ev, "", []int{400}},
			{"GET", "/api/messages/" + pv, "", []int{400, 404}},
			{"GET", "/api/" + pv, "", []int{404}},
			{"DELETE", "/api/messages/" + pv, "", []int{400, 404}},
			{"PATCH", "/api/messages/" + pv, `{"body":"x"}`, []int{400, 404}},
			{"PATCH", "/api/messages/1", `{` + mustJSON(v) + `:1}`, []int{400}},
		} {
			r := e.do(t, c.method, c.path, c.body)
			if !slices.Contains(c.ok, r.status) {
				t.Errorf("%s %s: status %d: %s", c.method, c.path, r.status, r.raw)
			}
			if r.status != 200 {
				if errObj, _ := r.body["error"].(map[string]any); errObj == nil || errObj["code"] == "internal" {
					t.Errorf("%s %s: unclean error %s", c.method, c.path, r.raw)
				}
			}
		}
	}
	// A value that is only text round-trips verbatim.
	r := e.do(t, "POST", "/api/messages", `{"room_id":1,"body":`+mustJSON(evil[0])+`}`).want(t, 201, "")
	if r.body["body"] != evil[0] {
		t.Fatalf("body = %v", r.body["body"])
	}
	got := e.do(t, "GET", "/api/messages?body=eq."+url.QueryEscape(evil[0]), "").want(t, 200, "")
	if len(got.items(t)) != 1 {
		t.Fatalf("filter on the stored value: %s", got.raw)
	}
	if n := count(t, e.url, "select count(*) from messages"); n != 6 {
		t.Fatalf("table changed: %d rows", n)
	}
	if n := count(t, e.url, "select count(*) from messages where body = 'b' or body like 'x%'"); n != 0 {
		t.Fatalf("rows updated by injected ids: %d", n)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
