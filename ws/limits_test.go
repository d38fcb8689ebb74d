package ws

import (
	"context"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestTooManySubscriptions(t *testing.T) {
	env := mustEnv(t, Config{Limits: Limits{MaxSubscriptionsPerClient: 2}}, nil)
	c := env.dial()
	c.subscribe("Message:list", "")
	c.subscribe("Message:item:1", "")
	c.send(`{"type":"subscribe","ref":"3","channel":"Message:item:2"}`)
	if m := c.one(); m.str("code") != CodeTooManySubs || m.str("ref") != "3" {
		t.Fatalf("got %v", m)
	}
	c.send(`{"type":"unsubscribe","ref":"4","channel":"Message:item:1"}`)
	c.one()
	c.subscribe("Message:item:2", "")
}

func TestRateLimit(t *testing.T) {
	env := mustEnv(t, Config{Limits: Limits{MessagesPerSecond: 5}}, nil)
	c := env.dial()
	for range 10 {
		c.send(`{"type":"ping"}`)
	}
	var buf []msg
	limited := 0
	for range 10 {
		m := c.next(&buf)
		if m.str("code") == CodeRateLimited {
			limited++
		} else if m.str("type") != "pong" {
			t.Fatalf("got %v", m)
		}
	}
	if limited == 0 {
		t.Fatal("10 messages at once with a limit of 5/s: none rate limited")
	}
	// Keeping on closes the connection with 4429.
	for range 20 {
		c.send(`{"type":"ping"}`)
	}
	if st := c.closeStatus(5 * time.Second); st != closeRateLimited {
		t.Fatalf("close status %v, want 4429", st)
	}
}

func TestOversizedFrameCloses1009(t *testing.T) {
	env := mustEnv(t, Config{Limits: Limits{MaxMessageBytes: 1024}}, nil)
	c := env.dial()
	c.send(`{"type":"ping","ref":"` + strings.Repeat("x", 900) + `"}`) // under the limit
	if m := c.one(); m.str("type") != "pong" {
		t.Fatalf("got %v", m)
	}
	c.send(`{"type":"ping","ref":"` + strings.Repeat("x", 2000) + `"}`)
	if st := c.closeStatus(5 * time.Second); st != websocket.StatusMessageTooBig {
		t.Fatalf("close status %v, want 1009", st)
	}
	waitFor(t, "connection gone", func() bool { return env.srv.connCount() == 0 })
}

func TestShutdownCloses1001(t *testing.T) {
	env := mustEnv(t, Config{}, nil)
	a, b := env.dial(), env.dial()
	a.subscribe("Message:list", "")
	b.subscribe("Message:list", "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- env.srv.Shutdown(ctx) }()
	for _, c := range []*client{a, b} {
		if st := c.closeStatus(5 * time.Second); st != websocket.StatusGoingAway {
			t.Fatalf("close status %v, want 1001", st)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := env.srv.connCount(); n != 0 {
		t.Fatalf("%d connections left", n)
	}
	if env.hub.Len() != 0 {
		t.Fatalf("%d subscriptions left", env.hub.Len())
	}
	// New connections are refused.
	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dcancel()
	if c, _, err := websocket.Dial(dctx, env.url, nil); err == nil {
		_ = c.CloseNow()
		t.Fatal("dial after shutdown succeeded")
	}
}

// smallBufListener shrinks accepted connections' send buffers so that a
// client that stops reading blocks the server's writes quickly.
type smallBufListener struct{ net.Listener }

func (l smallBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

func TestSlowClientClosed4408(t *testing.T) {
	env := mustEnvWith(t, Config{Limits: Limits{SendQueue: 16}, BatchWindow: -1, WriteTimeout: 20 * time.Second}, testSchema(), nil, func(s *httptest.Server) {
		s.Listener = smallBufListener{s.Listener}
	})
	slow := dialSmallBuf(t, env.url)
	fast := env.dial()
	slow.subscribe("Message:list", "")
	fast.subscribe("Message:list", "")

	// The slow client reads nothing while 300 transactions of ~8 KB go by.
	const n = 300
	body := strings.Repeat("x", 8192)
	var buf []msg
	for i := range n {
		ev := env.ins(i, 5)
		ev.New["body"] = body
		env.deliver(ev)
		// The fast client keeps up.
		if m := fast.next(&buf); m["id"] != float64(i) {
			t.Fatalf("fast client: event %d: got %v", i, m)
		}
	}
	// Now the slow client reads: what was written, then close 4408.
	if st := slow.closeStatus(10 * time.Second); st != closeTooSlow {
		t.Fatalf("slow client close status %v, want 4408", st)
	}
	// The fast client is still served.
	env.deliver(env.ins(n, 5))
	if m := fast.next(&buf); m["id"] != float64(n) {
		t.Fatalf("fast client after: got %v", m)
	}
}

// dialSmallBuf dials with a small receive buffer.
func dialSmallBuf(t *testing.T, url string) *client {
	t.Helper()
	d := &net.Dialer{}
	hc := &httptestClient{dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		return c, err
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: hc.client()})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { _ = c.CloseNow() })
	return &client{t: t, ws: c}
}

func TestHeartbeatClosesDeadPeer(t *testing.T) {
	env := mustEnv(t, Config{Limits: Limits{Heartbeat: 20 * time.Millisecond}, WriteTimeout: 100 * time.Millisecond}, nil)
	// A live client that reads answers pings and stays.
	live := env.dial()
	live.subscribe("Message:list", "")
	// A client that never reads never answers a ping.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dead, _, err := websocket.Dial(ctx, env.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dead.CloseNow()
	// The live client has a read pending, which answers pings.
	got := make(chan []msg, 1)
	go func() {
		ms, _ := live.tryFrame(10 * time.Second)
		got <- ms
	}()
	waitFor(t, "two connections", func() bool { return env.srv.connCount() == 2 })
	waitFor(t, "dead peer closed", func() bool { return env.srv.connCount() == 1 })
	// The live one was pinged many times meanwhile and still works.
	env.deliver(env.ins(1, 5))
	if ms := <-got; len(ms) != 1 || ms[0]["id"] != float64(1) {
		t.Fatalf("got %v", ms)
	}
}

// A client that stops reading, with a queue too large to overflow, blocks
// the server's frame write; the write watchdog closes it after
// WriteTimeout, and the other clients are served meanwhile.
func TestStalledWriteTimesOut(t *testing.T) {
	env := mustEnvWith(t, Config{Limits: Limits{SendQueue: 100000}, BatchWindow: -1, WriteTimeout: 300 * time.Millisecond},
		testSchema(), nil, func(s *httptest.Server) {
			s.Listener = smallBufListener{s.Listener}
		})
	stalled := dialSmallBuf(t, env.url)
	fast := env.dial()
	stalled.subscribe("Message:list", "")
	fast.subscribe("Message:list", "")
	body := strings.Repeat("x", 8192)
	var buf []msg
	for i := range 200 {
		ev := env.ins(i, 5)
		ev.New["body"] = body
		env.deliver(ev)
		if m := fast.next(&buf); m["id"] != float64(i) {
			t.Fatalf("fast client: event %d: got %v", i, m)
		}
	}
	waitFor(t, "stalled client closed", func() bool { return env.srv.connCount() == 1 })
	env.deliver(env.ins(200, 5))
	if m := fast.next(&buf); m["id"] != float64(200) {
		t.Fatalf("fast client after: got %v", m)
	}
}
