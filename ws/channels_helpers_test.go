package ws

import (
	"encoding/json"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/authz"
)

// testChannels are the custom channels of the channel tests.
func testChannels() []*walrelay.CustomChannel {
	return []*walrelay.CustomChannel{
		{
			Pattern: "chat:room:{roomId}", Events: []string{"message", "typing"}, Presence: true,
			Permissions: map[string]string{"subscribe": `authenticated && params.roomId != "13"`, "publish": `authenticated && !("muted" in auth)`},
		},
		{
			Pattern: "echo:{id}", Events: []string{"ping"}, Self: true,
			Permissions: map[string]string{"subscribe": "public", "publish": "public"},
		},
		{
			Pattern: "club:{clubId}", Events: []string{"message"},
			SubscribeSQL: "select 1 from club_members where club_id = $clubId and user_id = $sub",
			Permissions:  map[string]string{"subscribe": "authenticated", "publish": "authenticated"},
		},
	}
}

// mustChanEnv is a gateway (anonymous allowed) with testChannels.
func mustChanEnv(t *testing.T, cfg Config) *testEnv {
	t.Helper()
	p, err := authz.CompileChannels(testChannels())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Channels = p
	return mustEnvWith(t, cfg, testSchema(), nil, nil)
}

// peer is a client that reads messages one at a time across frames.
type peer struct {
	*client
	buf []msg
}

func (e *testEnv) peer(sub string, extra ...any) *peer {
	e.t.Helper()
	if sub == "" {
		return &peer{client: e.dial()}
	}
	claims := jwt.MapClaims{"sub": sub}
	for i := 0; i+1 < len(extra); i += 2 {
		claims[extra[i].(string)] = extra[i+1]
	}
	return &peer{client: e.dialToken(token(e.t, claims, hour()))}
}

func (p *peer) next() msg {
	p.t.Helper()
	return p.client.next(&p.buf)
}

// expect reads the next message and checks its type (and, when given,
// fields).
func (p *peer) expect(typ string, fields ...string) msg {
	p.t.Helper()
	m := p.next()
	if m.str("type") != typ {
		p.t.Fatalf("got %v, want type %s", m, typ)
	}
	for i := 0; i+1 < len(fields); i += 2 {
		if got := m.str(fields[i]); got != fields[i+1] {
			p.t.Fatalf("got %v, want %s=%q", m, fields[i], fields[i+1])
		}
	}
	return m
}

// join subscribes to a custom channel with an optional presence meta and
// waits for subscribed.
func (p *peer) join(channel string, meta any) {
	p.t.Helper()
	req := map[string]any{"type": "subscribe", "ref": "j", "channel": channel}
	if meta != nil {
		req["presence"] = meta
	}
	p.send(req)
	m := p.expect("subscribed", "channel", channel, "ref", "j")
	if _, ok := m["cursor"]; ok {
		p.t.Fatalf("custom channel subscribed has a cursor: %v", m)
	}
}

// errCode sends req and returns the code of the error it gets.
func (p *peer) errCode(req map[string]any) string {
	p.t.Helper()
	req["ref"] = "e"
	p.send(req)
	m := p.expect("error", "ref", "e")
	return m.str("code")
}

// quiet checks that nothing arrives within a short while (a negative
// check: messages that would arrive come within the batch window).
func (p *peer) quiet() {
	p.t.Helper()
	if len(p.buf) > 0 {
		p.t.Fatalf("unexpected %v", p.buf)
	}
	p.send(map[string]any{"type": "ping", "ref": "q"})
	p.expect("pong", "ref", "q")
}

// presence decodes a presence message's entries: key -> metas.
func presenceOf(t *testing.T, m msg, field string) map[string][]map[string]any {
	t.Helper()
	raw, ok := m[field]
	if !ok {
		t.Fatalf("no %s in %v", field, m)
	}
	b, _ := json.Marshal(raw)
	var es []struct {
		Key   string           `json:"key"`
		Metas []map[string]any `json:"metas"`
	}
	if err := json.Unmarshal(b, &es); err != nil {
		t.Fatal(err)
	}
	out := map[string][]map[string]any{}
	for _, e := range es {
		out[e.Key] = e.Metas
	}
	return out
}

// waitCustom waits until the hub holds n custom subscriptions.
func waitCustom(t *testing.T, e *testEnv, n int) {
	t.Helper()
	waitFor(t, "custom subscriptions", func() bool { return e.hub.CustomLen() == n })
}
