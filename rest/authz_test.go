package rest_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/authz"
	"github.com/walrelay/walrelay/rest"
)

const testSecret = "0123456789abcdef0123456789abcdef"

// docsDDL: 60 documents, 25 owned by alice (ids 1..25), 35 by bob. Their
// hidden secret column is used by the delete rule only.
const docsDDL = `
create table docs (id serial primary key, owner text not null, title text not null default '', secret text);
insert into docs (owner, title, secret)
	select case when i <= 25 then 'alice' else 'bob' end, 'doc ' || i, case when i = 2 then 'keep' else 's' || i end
	from generate_series(1, 60) i;`

func docModels() []*walrelay.Model {
	return []*walrelay.Model{{
		Name: "Doc", Schema: "public", Table: "docs", Path: "docs", Owner: "owner", Hide: []string{"secret"},
		Permissions: map[string]string{
			"read":   "isOwner || isAdmin",
			"create": "isOwner",
			"update": "isOwner",
			"delete": `isOwner && row.secret != "keep"`,
		},
	}}
}

// token signs claims with key, expiring in a minute unless claims say
// otherwise.
func token(t *testing.T, key string, claims jwt.MapClaims) string {
	t.Helper()
	if _, ok := claims["exp"]; !ok {
		claims["exp"] = time.Now().Add(time.Minute).Unix()
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func bearer(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	return "Bearer " + token(t, testSecret, claims)
}

func mustDocs(t *testing.T, anonymous bool, cfg rest.Config) *env {
	t.Helper()
	if cfg.RequestsPerSecond == 0 {
		cfg.RequestsPerSecond = -1
	}
	return mustAPI(t, docsDDL, docModels(), authz.VerifierConfig{Secret: testSecret, Anonymous: anonymous}, cfg)
}

func TestListOnlyReadable(t *testing.T) {
	e := mustDocs(t, false, rest.Config{})
	alice := bearer(t, jwt.MapClaims{"sub": "alice"})
	var seen []string
	page := ""
	for pages := 1; ; pages++ {
		path := "/api/docs?limit=10&count=exact&order=title.desc"
		if page != "" {
			path += "&page=" + url.QueryEscape(page)
		}
		r := e.doAs(t, alice, "GET", path, "").want(t, 200, "")
		if r.body["total"] != jsonNum(25) {
			t.Fatalf("page %d: total = %v, want 25", pages, r.body["total"])
		}
		for _, it := range r.items(t) {
			if it["owner"] != "alice" {
				t.Fatalf("alice listed %v", it)
			}
			if _, ok := it["secret"]; ok {
				t.Fatalf("hidden column listed: %v", it)
			}
		}
		seen = append(seen, ids(t, r.items(t))...)
		next, _ := r.body["next_page"].(string)
		if next == "" {
			if pages != 3 {
				t.Fatalf("%d pages, want 3", pages)
			}
			break
		}
		page = next
	}
	slices.Sort(seen)
	if len(slices.Compact(seen)) != 25 {
		t.Fatalf("saw %d distinct rows, want 25: %v", len(seen), seen)
	}
	// Filters narrow further; they never widen.
	r := e.doAs(t, alice, "GET", "/api/docs?owner=eq.bob&count=exact", "").want(t, 200, "")
	if len(r.items(t)) != 0 || r.body["total"] != jsonNum(0) {
		t.Fatalf("filter on owner=bob as alice: %s", r.raw)
	}
	admin := bearer(t, jwt.MapClaims{"sub": "carol", "role": "admin"})
	if r := e.doAs(t, admin, "GET", "/api/docs?count=exact&limit=1", "").want(t, 200, ""); r.body["total"] != jsonNum(60) {
		t.Fatalf("admin total = %v, want 60", r.body["total"])
	}
	// A token without the claims the rule needs reads nothing.
	if r := e.doAs(t, bearer(t, jwt.MapClaims{"name": "x"}), "GET", "/api/docs?count=exact", "").want(t, 200, ""); r.body["total"] != jsonNum(0) {
		t.Fatalf("no-sub total = %v, want 0", r.body["total"])
	}
}

func jsonNum(n int) any { return json.Number(strconv.Itoa(n)) }

func TestGetUnreadableIsNotFound(t *testing.T) {
	e := mustDocs(t, false, rest.Config{})
	alice := bearer(t, jwt.MapClaims{"sub": "alice"})
	r := e.doAs(t, alice, "GET", "/api/docs/1", "").want(t, 200, "")
	if r.body["owner"] != "alice" || r.header.Get(rest.CursorHeader) == "" {
		t.Fatalf("get own: %s", r.raw)
	}
	if _, ok := r.body["secret"]; ok {
		t.Fatalf("hidden column returned: %s", r.raw)
	}
	unreadable := e.doAs(t, alice, "GET", "/api/docs/30", "").want(t, 404, "not_found")
	missing := e.doAs(t, alice, "GET", "/api/docs/999", "").want(t, 404, "not_found")
	if strings.Contains(unreadable.raw, "bob") || strings.Replace(unreadable.raw, "30", "999", 1) != missing.raw {
		t.Fatalf("unreadable and missing rows differ: %s vs %s", unreadable.raw, missing.raw)
	}
}

func TestWritesChecked(t *testing.T) {
	e := mustDocs(t, false, rest.Config{})
	alice := bearer(t, jwt.MapClaims{"sub": "alice"})
	rows := func() int { return count(t, e.url, "select count(*) from docs") }

	// create: the rule sees the row as stored.
	r := e.doAs(t, alice, "POST", "/api/docs", `{"owner":"alice","title":"mine"}`).want(t, 201, "")
	if r.body["title"] != "mine" {
		t.Fatalf("created %s", r.raw)
	}
	if _, ok := r.body["secret"]; ok {
		t.Fatalf("hidden column returned: %s", r.raw)
	}
	e.doAs(t, alice, "POST", "/api/docs", `{"owner":"bob","title":"forged"}`).want(t, 403, "forbidden")
	if n := rows(); n != 61 {
		t.Fatalf("%d rows after a denied create, want 61", n)
	}
	if n := count(t, e.url, "select count(*) from docs where title = 'forged'"); n != 0 {
		t.Fatal("denied create was committed")
	}
	// A denied create must not leave the sequence's gap visible as a row
	// either; an anonymous caller is denied too.
	anon := mustDocs(t, true, rest.Config{})
	anon.do(t, "POST", "/api/docs", `{"owner":"alice"}`).want(t, 403, "forbidden")

	// update: old and new rows are both checked.
	e.doAs(t, alice, "PATCH", "/api/docs/1", `{"title":"renamed"}`).want(t, 200, "")
	e.doAs(t, alice, "PATCH", "/api/docs/1", `{"owner":"bob"}`).want(t, 403, "forbidden")
	e.doAs(t, alice, "PATCH", "/api/docs/30", `{"owner":"alice"}`).want(t, 404, "not_found")
	e.doAs(t, alice, "PATCH", "/api/docs/30", `{}`).want(t, 404, "not_found")
	if n := count(t, e.url, "select count(*) from docs where id = 1 and owner = 'alice' and title = 'renamed'"); n != 1 {
		t.Fatal("row 1 changed by a denied update")
	}
	if n := count(t, e.url, "select count(*) from docs where id = 30 and owner = 'bob'"); n != 1 {
		t.Fatal("row 30 changed by an update of an unreadable row")
	}
	bobTok := bearer(t, jwt.MapClaims{"sub": "bob"})
	e.doAs(t, bobTok, "PATCH", "/api/docs/1", `{"owner":"bob"}`).want(t, 404, "not_found")

	// delete: the rule may use hidden columns.
	e.doAs(t, alice, "DELETE", "/api/docs/2", "").want(t, 403, "forbidden")
	e.doAs(t, alice, "DELETE", "/api/docs/30", "").want(t, 404, "not_found")
	if n := count(t, e.url, "select count(*) from docs where id in (2, 30)"); n != 2 {
		t.Fatal("denied delete removed a row")
	}
	r = e.doAs(t, alice, "DELETE", "/api/docs/3", "")
	if r.status != 204 {
		t.Fatalf("delete own: %d %s", r.status, r.raw)
	}
	if n := rows(); n != 60 {
		t.Fatalf("%d rows, want 60", n)
	}
}

func TestUnauthorized(t *testing.T) {
	e := mustDocs(t, false, rest.Config{})
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Minute).Unix()}).
		SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	for name, auth := range map[string]string{
		"missing":     "",
		"no scheme":   token(t, testSecret, jwt.MapClaims{"sub": "alice"}),
		"basic":       "Basic YWxpY2U6cHc=",
		"empty":       "Bearer ",
		"malformed":   "Bearer not.a.jwt",
		"wrong key":   "Bearer " + token(t, "another-secret-another-secret-xx", jwt.MapClaims{"sub": "alice"}),
		"expired":     bearer(t, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(-time.Hour).Unix()}),
		"alg none":    "Bearer " + none,
		"without exp": bearer(t, jwt.MapClaims{"sub": "alice", "exp": nil}),
	} {
		for _, path := range []string{"/api/docs", "/api/docs/1", "/api/nope"} {
			r := e.doAs(t, auth, "GET", path, "")
			if r.status != 401 || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s: %d %q %s", name, path, r.status, r.header.Get("WWW-Authenticate"), r.raw)
				continue
			}
			r.want(t, 401, "unauthorized")
			if strings.Contains(r.raw, `\u00`) {
				t.Errorf("%s %s: the message does not read as sent (escaped characters): %s", name, path, r.raw)
			}
		}
	}
	// Tokens in the URL are not accepted, and the error says so.
	r := e.do(t, "GET", "/api/docs?token="+token(t, testSecret, jwt.MapClaims{"sub": "alice"}), "").want(t, 401, "unauthorized")
	if !strings.Contains(r.raw, "Authorization") {
		t.Fatalf("?token= error does not point at the header: %s", r.raw)
	}
	e.doAs(t, bearer(t, jwt.MapClaims{"sub": "alice"}), "GET", "/api/docs", "").want(t, 200, "")
}

func TestAnonymous(t *testing.T) {
	e := mustDocs(t, true, rest.Config{})
	// Allowed in, with auth == null: the read rule admits no row.
	r := e.do(t, "GET", "/api/docs?count=exact", "").want(t, 200, "")
	if r.body["total"] != jsonNum(0) {
		t.Fatalf("anonymous total = %v", r.body["total"])
	}
	e.do(t, "GET", "/api/docs/1", "").want(t, 404, "not_found")
	// A bad token is an error, not anonymous.
	e.doAs(t, "Bearer garbage", "GET", "/api/docs", "").want(t, 401, "unauthorized")
	e.doAs(t, bearer(t, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(-time.Hour).Unix()}), "GET", "/api/docs", "").want(t, 401, "unauthorized")
	if r := e.doAs(t, bearer(t, jwt.MapClaims{"sub": "alice"}), "GET", "/api/docs?count=exact", "").want(t, 200, ""); r.body["total"] != jsonNum(25) {
		t.Fatalf("alice total = %v", r.body["total"])
	}
}

func TestRateLimitPerUser(t *testing.T) {
	// One token a day after a burst of 3: nothing refills during the test.
	e := mustDocs(t, true, rest.Config{Limits: rest.Limits{RequestsPerSecond: 1.0 / 86400, Burst: 3}})
	alice := bearer(t, jwt.MapClaims{"sub": "alice"})
	bob := bearer(t, jwt.MapClaims{"sub": "bob"})
	for i := 0; i < 3; i++ {
		e.doAs(t, alice, "GET", "/api/docs/1", "").want(t, 200, "")
	}
	r := e.doAs(t, alice, "GET", "/api/docs/1", "").want(t, 429, "rate_limited")
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	// A new token of the same user shares the bucket; other users and
	// anonymous clients have their own.
	e.doAs(t, bearer(t, jwt.MapClaims{"sub": "alice", "x": 1}), "GET", "/api/docs", "").want(t, 429, "rate_limited")
	for i := 0; i < 3; i++ {
		e.doAs(t, bob, "GET", "/api/docs/30", "").want(t, 200, "")
	}
	e.do(t, "GET", "/api/docs", "").want(t, 200, "")
}

func TestAuthzInjection(t *testing.T) {
	e := mustDocs(t, false, rest.Config{})
	alice := bearer(t, jwt.MapClaims{"sub": "alice"})
	evil := []string{`'; drop table docs; --`, `1 or 1=1`, `1) or (true`, `30 or owner = 'bob'`, `"owner"`, `$2`, "\x00"}
	for _, v := range evil {
		ev, pv := url.QueryEscape(v), url.PathEscape(v)
		for _, c := range []struct {
			method, path, body string
			ok                 []int
		}{
			{"GET", "/api/docs?title=eq." + ev, "", []int{200, 400}},
			{"GET", "/api/docs?owner=in.(alice," + ev + ")", "", []int{200, 400}},
			{"GET", "/api/docs?" + ev + "=eq.1", "", []int{400}},
			{"GET", "/api/docs?order=" + ev, "", []int{400}},
			{"GET", "/api/docs/" + pv, "", []int{400, 404}},
			{"GET", "/api/" + pv, "", []int{404}},
			{"PATCH", "/api/docs/" + pv, `{"title":"x"}`, []int{400, 404}},
			{"DELETE", "/api/docs/" + pv, "", []int{400, 404}},
			{"POST", "/api/docs", `{"owner":"alice",` + mustJSON(v) + `:1}`, []int{400}},
		} {
			r := e.doAs(t, alice, c.method, c.path, c.body)
			if !slices.Contains(c.ok, r.status) {
				t.Errorf("%s %s: status %d: %s", c.method, c.path, r.status, r.raw)
			}
			if r.status == 200 {
				for _, it := range r.items(t) {
					if it["owner"] != "alice" {
						t.Errorf("%s %s: unreadable row returned: %v", c.method, c.path, it)
					}
				}
				continue
			}
			errObj, _ := r.body["error"].(map[string]any)
			msg := fmt.Sprint(errObj["message"])
			if errObj == nil || errObj["code"] == "internal" || strings.Contains(msg, "SQLSTATE") || strings.Contains(strings.ToLower(msg), "select ") {
				t.Errorf("%s %s: unclean error %s", c.method, c.path, r.raw)
			}
		}
	}
	// Claims are values too: a sub full of SQL reads nothing, changes
	// nothing.
	evilSub := bearer(t, jwt.MapClaims{"sub": "alice' or '1'='1"})
	if r := e.doAs(t, evilSub, "GET", "/api/docs?count=exact", "").want(t, 200, ""); r.body["total"] != jsonNum(0) {
		t.Fatalf("sql in sub: total %v", r.body["total"])
	}
	if n := count(t, e.url, "select count(*) from docs"); n != 60 {
		t.Fatalf("table changed: %d rows", n)
	}
	if n := count(t, e.url, "select count(*) from docs where title <> 'doc ' || id"); n != 0 {
		t.Fatalf("%d rows changed", n)
	}
}

// A write the rule refuses is forbidden even when it also breaks a
// constraint: a refused caller never learns from a 409 that a unique
// value or a referenced row exists. A permitted caller still gets the 409.
func TestRefusedWriteHidesConstraints(t *testing.T) {
	const ddl = `
create table teams (id int primary key);
insert into teams values (1);
create table handles (id serial primary key, owner text not null, handle text unique not null, team_id int references teams);
insert into handles (owner, handle) values ('alice', 'taken'), ('bob', 'bobs');`
	models := []*walrelay.Model{{
		Name: "Handle", Schema: "public", Table: "handles", Path: "handles", Owner: "owner",
		Permissions: map[string]string{"read": "isOwner", "create": "isOwner", "update": "isOwner"},
	}}
	e := mustAPI(t, ddl, models, authz.VerifierConfig{Secret: testSecret}, rest.Config{Limits: rest.Limits{RequestsPerSecond: -1}})
	bob := bearer(t, jwt.MapClaims{"sub": "bob"})
	alice := bearer(t, jwt.MapClaims{"sub": "alice"})

	// bob posing as alice: the unique handle and the missing team stay secret.
	e.doAs(t, bob, "POST", "/api/handles", `{"owner":"alice","handle":"taken"}`).want(t, 403, "forbidden")
	e.doAs(t, bob, "POST", "/api/handles", `{"owner":"alice","handle":"new","team_id":2}`).want(t, 403, "forbidden")
	e.doAs(t, bob, "POST", "/api/handles", `{"handle":"taken"}`).want(t, 403, "forbidden") // owner missing: the rule cannot hold
	// Writing as himself, the same conflicts are his to know.
	e.doAs(t, bob, "POST", "/api/handles", `{"owner":"bob","handle":"taken"}`).want(t, 409, "conflict")
	e.doAs(t, bob, "POST", "/api/handles", `{"owner":"bob","handle":"new","team_id":2}`).want(t, 409, "conflict")
	// An update that would give bob's row away and take a used handle.
	e.doAs(t, bob, "PATCH", "/api/handles/2", `{"owner":"alice","handle":"taken"}`).want(t, 403, "forbidden")
	e.doAs(t, bob, "PATCH", "/api/handles/2", `{"handle":"taken"}`).want(t, 409, "conflict")
	// Nothing changed.
	r := e.doAs(t, alice, "GET", "/api/handles", "").want(t, 200, "")
	if items := r.items(t); len(items) != 1 || items[0]["handle"] != "taken" {
		t.Fatalf("alice's handles: %s", r.raw)
	}
	r = e.doAs(t, bob, "GET", "/api/handles", "").want(t, 200, "")
	if items := r.items(t); len(items) != 1 || items[0]["handle"] != "bobs" {
		t.Fatalf("bob's handles: %s", r.raw)
	}
}
