package inspector

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/authz"
	"github.com/walrelay/walrelay/hub"
)

// tokens is a Verifier of fixed tokens.
type tokens map[string]authz.Claims

func (v tokens) Verify(_ context.Context, tok string) (authz.Claims, time.Time, error) {
	if c, ok := v[tok]; ok {
		return c, time.Now().Add(time.Hour), nil
	}
	return nil, time.Time{}, fmt.Errorf("%w: bad token", walrelay.ErrUnauthorized)
}

var testModel = &walrelay.Model{
	Name: "Message", Schema: "public", Table: "messages", Path: "messages", PrimaryKey: "id",
	Subscribe: []walrelay.ChannelKind{walrelay.KindList, walrelay.KindItem},
	Broadcast: []walrelay.Op{walrelay.OpCreated, walrelay.OpUpdated, walrelay.OpDeleted},
	Hide:      []string{"secret"},
	Columns:   []walrelay.Column{{Name: "id"}, {Name: "body"}, {Name: "secret"}},
}

func newTest(t *testing.T) (*httptest.Server, *hub.Hub, *Inspector) {
	srv, h, in, _ := newTestSchema(t)
	return srv, h, in
}

func newTestSchema(t *testing.T) (*httptest.Server, *hub.Hub, *Inspector, *walrelay.Schema) {
	h := hub.New(nil)
	h.SetStart(100, 10)
	schema := walrelay.NewSchema([]*walrelay.Model{testModel})
	in := New(Config{
		Verifier: tokens{"admin": {"sub": "root", "roles": []any{"admin"}}, "user": {"sub": "alice"}},
		Schema:   schema,
		Hub:      h,
		Recent:   NewRecent(2),
	})
	r := chi.NewRouter()
	r.Mount("/_", in)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	t.Cleanup(in.Shutdown)
	return srv, h, in, schema
}

func get(t *testing.T, url, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestAdminOnly(t *testing.T) {
	srv, _, _ := newTest(t)
	for token, want := range map[string]int{"": 401, "nope": 401, "user": 403, "admin": 200} {
		for _, path := range []string{"/_/api/overview", "/_/api/stream?channel=Message:list"} {
			res := get(t, srv.URL+path, token)
			res.Body.Close()
			if res.StatusCode != want {
				t.Errorf("%s with token %q: %d, want %d", path, token, res.StatusCode, want)
			}
		}
	}
	res := get(t, srv.URL+"/_/", "")
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	res = get(t, srv.URL+"/_/api/nothing", "admin")
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Fatalf("unknown call: %d", res.StatusCode)
	}
}

func TestOverviewHidesHiddenColumnsAndShowsStopped(t *testing.T) {
	srv, _, _, schema := newTestSchema(t)
	overview := func() overviewBody {
		t.Helper()
		res := get(t, srv.URL+"/_/api/overview", "admin")
		defer res.Body.Close()
		var o overviewBody
		if err := json.NewDecoder(res.Body).Decode(&o); err != nil {
			t.Fatal(err)
		}
		return o
	}
	o := overview()
	if len(o.Models) != 1 || strings.Join(o.Models[0].Columns, ",") != "id,body" || o.Models[0].Status != "served" ||
		strings.Join(o.Models[0].Channels, ",") != "Message:list,Message:item:{id}" {
		t.Fatalf("models %+v", o.Models)
	}
	stopped := *testModel
	stopped.Unavailable = &walrelay.Mismatch{Model: "Message"}
	stopped.Unavailable.Add("w.yaml:4", "hide column %q is no longer in public.messages", "secret")
	schema.Replace(&stopped)
	if m := overview().Models[0]; m.Status != "stopped" || !strings.Contains(m.Problem, "w.yaml:4: hide column") {
		t.Fatalf("stopped model %+v", m)
	}
}

// The stream gets each event as a client would, hidden columns removed,
// and never makes the hub wait: a reader that does not read loses frames
// (counted), the hub's Deliver does not block.
func TestStream(t *testing.T) {
	srv, h, in := newTest(t)
	res := get(t, srv.URL+"/_/api/stream?channel=Message:list", "admin")
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	next := func() map[string]any {
		t.Helper()
		if !sc.Scan() {
			t.Fatalf("stream ended: %v", sc.Err())
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		return m
	}
	if m := next(); m["type"] != "subscribed" || m["channel"] != "Message:list" {
		t.Fatalf("first line %v", m)
	}
	ev := &walrelay.Event{Model: testModel, Op: walrelay.OpCreated, New: walrelay.Row{"id": 1, "body": "hi", "secret": "s3"}, LSN: 200}
	if err := h.Deliver(context.Background(), &walrelay.Txn{CommitLSN: 200, EndLSN: 201, Events: []*walrelay.Event{ev}}); err != nil {
		t.Fatal(err)
	}
	m := next()
	if m["type"] != "event" || m["event"] != "created" || fmt.Sprint(m["data"]) != "map[body:hi id:1]" {
		t.Fatalf("event line %v", m)
	}
	// Shutdown ends the stream.
	in.Shutdown()
	if m := next(); m["type"] != "closed" {
		t.Fatalf("after shutdown %v", m)
	}
	if sc.Scan() {
		t.Fatalf("more after closed: %s", sc.Text())
	}
}

func TestWatchNeverBlocks(t *testing.T) {
	w := &watch{lines: make(chan []byte, 2)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 10 {
			w.offer([]byte(fmt.Sprint(i)))
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("offer blocked")
	}
	if n := w.dropped.Load(); n != 8 {
		t.Fatalf("dropped %d, want 8", n)
	}
}

func TestRecentKeepsWarningsAndErrors(t *testing.T) {
	r := NewRecent(2)
	var out strings.Builder
	log := slog.New(r.Handler(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelError}))).With("part", "cdc").WithGroup("g")
	log.Info("ignored")
	log.Warn("first", "k", 1)
	log.Error("second", "err", errors.New("boom"))
	log.Error("third")
	got := r.Entries()
	if len(got) != 2 || got[0].Msg != "second" || got[0].Attrs["part"] != "cdc" || got[0].Attrs["g.err"] != "boom" || got[1].Msg != "third" {
		t.Fatalf("entries %+v", got)
	}
	if s := out.String(); strings.Contains(s, "first") || !strings.Contains(s, "second") {
		t.Fatalf("the wrapped handler's level was not kept: %q", s)
	}
}
