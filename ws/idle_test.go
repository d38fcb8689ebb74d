package ws

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/walrelay/walrelay"
)

// goroutinesIn counts the goroutines whose stack holds fn.
func goroutinesIn(fn string) int {
	buf := make([]byte, 8<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, fn) {
			n++
		}
	}
	return n
}

// An idle connection keeps one goroutine, its read loop: the writer exists
// while there is something to write, and a message is served on a
// goroutine that ends with it. Events still reach every client after their
// writers have ended, in order.
func TestIdleConnectionKeepsOneGoroutine(t *testing.T) {
	env := mustEnv(t, Config{}, nil)
	const n = 20
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = env.dial()
		clients[i].subscribe("Message:list", "")
	}
	for round := 1; round <= 3; round++ {
		waitFor(t, "writers to end", func() bool { return goroutinesIn("ws.(*writerPool).run") == 0 })
		if got := goroutinesIn("ws.(*conn).readLoop"); got != n {
			t.Fatalf("round %d: %d read loops, want %d", round, got, n)
		}
		if got := goroutinesIn("ws.(*conn).serveFrame"); got != 0 {
			t.Fatalf("round %d: %d frames still being served", round, got)
		}
		env.deliver(env.ins(round, 1))
		for i, c := range clients {
			m := c.one()
			if m.str("event") != "created" || m["data"].(map[string]any)["id"] != float64(round) {
				t.Fatalf("round %d client %d: got %v", round, i, m)
			}
		}
	}
}

// A frame the client sends in the same packet as its upgrade request (in
// net/http's buffer when the connection is hijacked) is served, not lost.
func TestFrameWithTheUpgradeRequest(t *testing.T) {
	env := mustEnv(t, Config{}, nil)
	nc, err := net.DialTimeout("tcp", env.http.Listener.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	req := "GET / HTTP/1.1\r\nHost: " + env.http.Listener.Addr().String() +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + "\r\n\r\n"
	payload := []byte(`{"type":"ping","ref":"early"}`)
	mask := [4]byte{1, 2, 3, 4}
	frame := []byte{0x81, 0x80 | byte(len(payload))}
	frame = append(frame, mask[:]...)
	for i, b := range payload {
		frame = append(frame, b^mask[i%4])
	}
	if _, err := nc.Write(append([]byte(req), frame...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %s", resp.Status)
	}
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		t.Fatalf("read frame: %v", err)
	}
	size := int(hdr[1] & 0x7f)
	if size == 126 {
		var ext [2]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			t.Fatal(err)
		}
		size = int(binary.BigEndian.Uint16(ext[:]))
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(br, body); err != nil {
		t.Fatal(err)
	}
	if hdr[0] != 0x81 || string(body) != `{"type":"pong","ref":"early"}` {
		t.Fatalf("got frame %x %s, want the pong to the early ping", hdr[0], body)
	}
}

// stuckConns counts the connections whose frame write has taken longer
// than d so far.
func (s *Server) stuckConns(d time.Duration) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, now := 0, time.Now().UnixNano()
	for c := range s.conns {
		if c.writeAge(now) > d {
			n++
		}
	}
	return n
}

// A client that stopped reading blocks the write to its socket once the
// socket's buffers are full; it does not hold the writers from the other
// clients, even with a single writer: the pool lets the blocked one go and
// starts another.
func TestStalledClientDoesNotHoldTheWriters(t *testing.T) {
	env := mustEnv(t, Config{Writers: 1, WriteTimeout: time.Minute}, nil)
	stalled := env.dial()
	stalled.subscribe("Message:list", "")
	reader := env.dial()
	reader.subscribe("Message:list", "")
	big := strings.Repeat("x", 256<<10)
	ev := func(id int) *walrelay.Event {
		return &walrelay.Event{Model: env.model("Message"), Op: walrelay.OpCreated,
			New: walrelay.Row{"id": id, "room_id": 1, "body": big}}
	}
	var buf []msg
	expect := func(id int) {
		t.Helper()
		m := reader.next(&buf)
		if got := m["data"].(map[string]any)["id"]; got != float64(id) {
			t.Fatalf("reader got event %v, want %d", got, id)
		}
	}
	id := 0
	deadline := time.Now().Add(20 * time.Second)
	for env.srv.stuckConns(50*time.Millisecond) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stalled client's write never blocked")
		}
		id++
		env.deliver(ev(id))
		expect(id)
	}
	// The stalled client's write is blocked; the reader still gets every
	// event (frame() fails after 5 s without one).
	for range 20 {
		id++
		env.deliver(ev(id))
		expect(id)
	}
}
