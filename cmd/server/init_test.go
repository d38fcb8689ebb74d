package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay/openapi/openapitest"
	"github.com/walrelay/walrelay/pgembed/pgtest"
	schema "github.com/walrelay/walrelay/sql"
)

const initSecret = "init-test-secret-0123456789abcdef0123"

// demoAs returns a fresh demo database (sql/demo.sql, owned by the admin)
// and the URL of a new login role without any rights on it, as a user's
// own Postgres would have for walrelay.
func demoAs(t *testing.T) (adminURL, roleURL, role string) {
	t.Helper()
	role = fmt.Sprintf("app_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6)
	pgtest.MustExec(t, pgtest.AdminURL(t), "create role "+role+" login")
	// Registered before the database, so it runs after the database is dropped.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, pgtest.AdminURL(t)); err == nil {
			_, _ = conn.Exec(ctx, "drop role if exists "+role)
			conn.Close(ctx)
		}
	})
	adminURL = pgtest.MustDatabase(t)
	pgtest.MustExec(t, adminURL, schema.Demo)
	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	return adminURL, u.String(), role
}

// sqlOf returns the SQL statements of init's output: the lines between
// "still needs" and "Next:" that are not comments.
func sqlOf(out string) []string {
	_, rest, ok := strings.Cut(out, "still needs")
	if !ok {
		return nil
	}
	rest, _, _ = strings.Cut(rest, "\nNext:")
	var stmts []string
	for _, line := range strings.Split(rest, "\n")[1:] {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "--") {
			stmts = append(stmts, line)
		}
	}
	return stmts
}

func signToken(t *testing.T, sub string) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": sub, "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(initSecret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Against the demo database and a role with no rights yet: init writes a
// config and prints the SQL the database needs; check fails until that
// SQL is run, then passes and prints the routes, channels and rules;
// serve then answers REST under the safe default rules and delivers a
// live event written from another connection. No hand edits.
func TestInitCheckServe(t *testing.T) {
	adminURL, roleURL, role := demoAs(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfgPath := filepath.Join(t.TempDir(), "walrelay.yaml")

	var out strings.Builder
	if err := run(ctx, []string{"init", "--database-url", roleURL, "--out", cfgPath, "--yes"}, &out, io.Discard); err != nil {
		t.Fatalf("init: %v\n%s", err, out.String())
	}
	t.Logf("init:\n%s", out.String())
	text, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Message:\n    table: public.messages", "owner: author_id", "read: isOwner", "subscribe: [list, item]", "hide: [ip_address]",
		"Notification:\n    table: public.notifications", "owner: user_id",
		"Room:\n    table: public.rooms", "User:\n    table: public.users", "read: authenticated",
		"# public.room_members is not exposed: its primary key has 2 columns",
		"# create: \"authenticated && row.author_id == auth.sub\"",
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("walrelay.yaml lacks %q:\n%s", want, text)
		}
	}
	for _, bad := range []string{"\n      create:", "\n      update:", "\n      delete:", "public.room_members\n"} {
		if strings.Contains(string(text), bad) {
			t.Errorf("walrelay.yaml has %q: writes must be denied by default", bad)
		}
	}
	if strings.Contains(string(text), "Room:\n    table: public.rooms\n    # REST: /api/rooms and /api/rooms/{id}\n    subscribe") {
		t.Error("rooms is realtime; it does not look live")
	}
	stmts := sqlOf(out.String())
	joined := strings.Join(stmts, "\n")
	q := `"` + role + `"`
	for _, want := range []string{"alter role " + q + " replication;", "grant select on ", `create publication "walrelay" for table `, "create schema walrelay authorization " + q} {
		if !strings.Contains(joined, want) {
			t.Errorf("init's SQL lacks %q:\n%s", want, joined)
		}
	}

	t.Setenv("DATABASE_URL", roleURL)
	t.Setenv("JWT_SECRET", initSecret)
	t.Setenv("WALRELAY_LISTEN", "127.0.0.1:0")
	out.Reset()
	err = run(ctx, []string{"check", "--config", cfgPath}, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), cfgPath+":") || !strings.Contains(err.Error(), "replication;") {
		t.Fatalf("check before the SQL: %v, want an error at %s:line naming the SQL", err, cfgPath)
	}
	for _, s := range stmts {
		pgtest.MustExec(t, adminURL, s)
	}
	out.Reset()
	if err := run(ctx, []string{"check", "--config", cfgPath}, &out, io.Discard); err != nil {
		t.Fatalf("check after the SQL: %v\n%s", err, out.String())
	}
	report := out.String()
	t.Logf("check:\n%s", report)
	for _, want := range []string{
		"GET /api/messages/{id}", "DELETE /api/messages/{id}", "refused: no create rule",
		"Message:list", "Message:item:{id}", "Notification:list",
		"the row's owner (row.author_id is the token's sub)", "any caller with a valid token",
		"create", "nobody (no rule)", cfgPath + ": ok",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("check report lacks %q", want)
		}
	}

	var logs syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--config", cfgPath}, io.Discard, &logs) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	}()
	addr := waitOutput(t, done, &logs, regexp.MustCompile(`msg="walrelay serving" addr=(\S+)`))
	base := "http://" + addr

	alice, bob := signToken(t, "alice"), signToken(t, "bob")
	get := func(tok, path string) (int, []byte) {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, body
	}
	var page struct{ Items []map[string]any }
	if st, body := get(alice, "/api/messages"); st != 200 || json.Unmarshal(body, &page) != nil || len(page.Items) != 1 || page.Items[0]["author_id"] != "alice" {
		t.Fatalf("alice GET /api/messages: %d %s", st, body)
	}
	if _, ok := page.Items[0]["ip_address"]; ok {
		t.Error("hidden ip_address sent")
	}
	if st, body := get(bob, "/api/messages"); st != 200 || json.Unmarshal(body, &page) != nil || len(page.Items) != 0 {
		t.Fatalf("bob GET /api/messages (isOwner): %d %s", st, body)
	}
	if st, _ := get("", "/api/messages"); st != 401 {
		t.Errorf("GET without a token: %d, want 401", st)
	}
	req, _ := http.NewRequest("POST", base+"/api/messages", strings.NewReader(`{"room_id":1,"author_id":"alice","body":"x"}`))
	req.Header.Set("Authorization", "Bearer "+alice)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 403 {
		t.Errorf("POST with writes denied: %v %v, want 403", res.StatusCode, err)
	} else {
		res.Body.Close()
	}
	st, doc := get(alice, "/api/openapi.json")
	if st != 200 {
		t.Fatalf("GET /api/openapi.json: %d %s", st, doc)
	}
	if _, err := openapitest.Parse(doc); err != nil {
		t.Fatal(err)
	}

	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	ws := subscribeWS(wctx, t, addr, alice, "Message:list")
	writer, err := pgx.Connect(wctx, adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close(context.Background())
	for _, q := range []string{
		"insert into messages (room_id, author_id, body) values (1, 'bob', 'not for alice')",
		"insert into messages (room_id, author_id, body) values (1, 'alice', 'live from psql')",
	} {
		if _, err := writer.Exec(wctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for {
		_, data, err := ws.Read(wctx)
		if err != nil {
			t.Fatalf("no event: %v", err)
		}
		var evs []struct {
			Type, Event string
			Data        map[string]any
		}
		if len(data) > 0 && data[0] != '[' {
			data = append(append([]byte("["), data...), ']')
		}
		if err := json.Unmarshal(data, &evs); err != nil {
			t.Fatalf("frame %s: %v", data, err)
		}
		for _, ev := range evs {
			if ev.Type != "event" {
				continue
			}
			if ev.Event != "created" || ev.Data["body"] != "live from psql" {
				t.Fatalf("event = %+v: want alice's message only", ev)
			}
			return
		}
	}
}

// waitOutput polls buf until re matches, failing when the command ends or
// 60s pass; it returns the first group.
func waitOutput(t *testing.T, done <-chan error, buf *syncBuffer, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := re.FindStringSubmatch(buf.String()); m != nil {
			return m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("exited: %v\n%s", err, buf.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 60s:\n%s", re, buf.String())
		}
		time.Sleep(20 * time.Millisecond) // polling output with a deadline
	}
}

// A schema of --schemas without tables (a typo, or tables not created
// yet) is an error naming it, and nothing is written; a config with one
// model says "1 model", and init's next steps say how to get a token.
func TestInitSchemaWithoutTables(t *testing.T) {
	_, roleURL, _ := demoAs(t)
	ctx := context.Background()
	cfgPath := filepath.Join(t.TempDir(), "walrelay.yaml")
	err := run(ctx, []string{"init", "--database-url", roleURL, "--out", cfgPath, "--yes", "--schemas", "public,pubilc"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `schema "pubilc"`) || !strings.Contains(err.Error(), "has no tables") {
		t.Errorf("init --schemas public,pubilc: %v, want an error naming pubilc", err)
	}
	if _, err := os.Stat(cfgPath); !os.IsNotExist(err) {
		t.Errorf("a config was written: %v", err)
	}
	var out strings.Builder
	if err := run(ctx, []string{"init", "--database-url", roleURL, "--out", cfgPath, "--yes", "--models", "messages", "--realtime", "none"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Wrote " + cfgPath + ": 1 model, 0 realtime.", "walrelay token --config " + cfgPath + " --sub "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("init's output lacks %q:\n%s", want, out.String())
		}
	}
}
