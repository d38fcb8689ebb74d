package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay/pgembed"
	"github.com/walrelay/walrelay/pgembed/pgtest"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The demo starts its own Postgres, serves the demo schema, and an INSERT
// made with psql's connection string shows up on a WebSocket subscriber.
func TestDemoShowsInsertLive(t *testing.T) {
	if _, err := pgembed.FindBinDir(); err != nil {
		t.Skip("demo needs local Postgres binaries:", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out, logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--listen", "127.0.0.1:0", "--postgres-port", "0"}, &out, &logs)
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("demo: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("demo did not stop")
		}
	}()

	addrRe := regexp.MustCompile(`Open\s+http://(\S+)`)
	pgRe := regexp.MustCompile(`psql "(\S+)"`)
	deadline := time.Now().Add(60 * time.Second)
	var addr, pgURL string
	for addr == "" || pgURL == "" {
		select {
		case err := <-done:
			t.Fatalf("demo exited: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo printed no URL within 60s:\n%s", out.String())
		}
		if m := addrRe.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		}
		if m := pgRe.FindStringSubmatch(out.String()); m != nil {
			pgURL = m[1]
		}
		time.Sleep(20 * time.Millisecond) // polling stdout with a deadline
	}
	// A line of its own that a shell takes as it is.
	if m := regexp.MustCompile(`(?m)^DATABASE_URL=(\S+)$`).FindStringSubmatch(out.String()); m == nil || m[1] != pgURL {
		t.Fatalf("demo printed no DATABASE_URL line equal to psql's URL %q:\n%s", pgURL, out.String())
	}

	res, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(page), "walrelay demo") {
		t.Fatalf("demo page: %d", res.StatusCode)
	}

	res, err = http.Get("http://" + addr + "/demo/token?user=alice")
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ Token string }
	err = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if err != nil || tok.Token == "" {
		t.Fatalf("demo token: %v", err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	ws := subscribeWS(wctx, t, addr, tok.Token, "Message:list")

	conn, err := pgx.Connect(wctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	start := time.Now()
	if _, err := conn.Exec(wctx, "insert into messages (room_id, author_id, body) values (1, 'bob', 'hello from psql')"); err != nil {
		t.Fatal(err)
	}
	for {
		_, data, err := ws.Read(wctx)
		if err != nil {
			t.Fatalf("no event: %v", err)
		}
		var ev struct {
			Type  string         `json:"type"`
			Event string         `json:"event"`
			Data  map[string]any `json:"data"`
		}
		if json.Unmarshal(data, &ev) == nil && ev.Type == "event" {
			if ev.Event != "created" || ev.Data["body"] != "hello from psql" {
				t.Fatalf("event = %s", data)
			}
			t.Logf("insert reached the WebSocket client in %v", time.Since(start))
			// A newcomer's first run has nothing to decode, such as a
			// warning about the demo's own secret.
			if l := logs.String(); strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
				t.Errorf("the demo logged a warning or error:\n%s", l)
			}
			return
		}
	}
}

func TestMain(m *testing.M) {
	childMain() // in a cluster node process started by a test, serve and exit
	os.Exit(pgtest.Main(m))
}
