package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
)

// clientSpec is who one client is and what it subscribes to. key is what
// every event it receives must carry: a room (room > 0) or a user (user
// != ""), else any row.
type clientSpec struct {
	claims jwt.MapClaims
	filter string
	room   int64
	user   string
	keyIdx int // index of its key in the writers' counts
}

// client is one WebSocket client. Its reader goroutine owns the check
// state; got is read by the drain loop while it runs.
type client struct {
	spec *clientSpec
	ws   *websocket.Conn
	got  atomic.Int64 // distinct events received in order, for this client

	// Reader-owned until the reader ends.
	last        position
	hasLast     bool
	dups        int64 // an event with the cursor of the previous one
	outOfOrder  int64 // an event before the previous one
	foreign     int64 // an event for a row this client does not read
	leaks       int64 // an event carrying the hidden column
	bad         int64 // unreadable frames or cursors
	errors      int64 // error and resync messages
	firstErr    string
	closeCode   int // status the server closed with, 0 if it did not
	subscribed  bool
	firstRecvUS int64 // when the first event arrived (Unix µs)
	lastRecvUS  int64 // when the last event arrived
}

// fleet is all clients of a run, and what they measured together.
type fleet struct {
	clients []*client
	lat     histogram // latency of rows sent within the window
	// The measurement window, in Unix microseconds; deliveries received
	// in it are counted in inWindow.
	winFrom, winTo atomic.Int64
	inWindow       atomic.Int64
	subscribed     atomic.Int64
	allSubscribed  chan struct{}
	stopping       atomic.Bool
	wg             sync.WaitGroup
}

// dialFleet connects every client (parallel concurrent dials at a time),
// subscribes it to Message:list with its filter and starts its reader.
func dialFleet(ctx context.Context, serverURL, secret string, specs []*clientSpec, parallel int) (*fleet, error) {
	f := &fleet{clients: make([]*client, len(specs)), allSubscribed: make(chan struct{})}
	f.winFrom.Store(1<<62 - 1)
	var wsURLs []string // several: the nodes of a cluster, client i on node i mod n
	for _, u := range serverURLs(serverURL) {
		wsURLs = append(wsURLs, "ws"+strings.TrimPrefix(u, "http")+"/ws")
	}
	sem := make(chan struct{}, parallel)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for i, sp := range specs {
		sem <- struct{}{}
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, err := f.dial(ctx, wsURLs[i%len(wsURLs)], secret, sp)
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("client %d: %w", i, err)
				}
				mu.Unlock()
				return
			}
			f.clients[i] = c
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		f.close()
		return nil, firstErr
	}
	return f, nil
}

func (f *fleet) dial(ctx context.Context, wsURL, secret string, sp *clientSpec) (*client, error) {
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, sp.claims).SignedString([]byte(secret))
	if err != nil {
		return nil, fmt.Errorf("sign token: %w", err)
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, wsURL+"?token="+tok, nil)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	conn.SetReadLimit(-1)
	sub, _ := json.Marshal(map[string]string{"type": "subscribe", "ref": "1", "channel": "Message:list", "filter": sp.filter})
	if err := conn.Write(dctx, websocket.MessageText, sub); err != nil {
		conn.CloseNow()
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	c := &client{spec: sp, ws: conn}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.read(c)
	}()
	return c, nil
}

// read is a client's reader: it reads frames into one reused buffer and
// checks every event (see client.event) until the connection ends.
func (f *fleet) read(c *client) {
	buf := make([]byte, 0, 4096)
	for {
		// A context without Done costs nothing per read; the connection
		// is ended by closing it.
		_, r, err := c.ws.Reader(context.Background())
		if err == nil {
			buf, err = readAll(r, buf[:0])
		}
		if err != nil {
			if !f.stopping.Load() {
				c.closeCode = int(websocket.CloseStatus(err))
				if c.closeCode < 0 {
					c.closeCode = 1006
				}
			}
			if !c.subscribed {
				f.onSubscribed() // count it, so nobody waits for it
			}
			return
		}
		now := time.Now().UnixMicro()
		if err := scanFrame(buf, func(m *msg) { f.handle(c, m, now) }); err != nil {
			c.bad++
		}
	}
}

// readAll appends everything r has to buf, growing it as needed.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func (f *fleet) onSubscribed() {
	if f.subscribed.Add(1) == int64(len(f.clients)) {
		close(f.allSubscribed)
	}
}

// handle checks one server message of client c, received at now (Unix
// microseconds).
func (f *fleet) handle(c *client, m *msg, now int64) {
	switch m.typ {
	case "subscribed":
		if !c.subscribed {
			c.subscribed = true
			f.onSubscribed()
		}
	case "event":
		c.event(m)
		if now >= f.winFrom.Load() && now < f.winTo.Load() {
			f.inWindow.Add(1)
		}
		if m.sentUS >= f.winFrom.Load() && m.sentUS < f.winTo.Load() {
			f.lat.Add(time.Duration(now-m.sentUS) * time.Microsecond)
		}
		if c.firstRecvUS == 0 {
			c.firstRecvUS = now
		}
		c.lastRecvUS = now
	case "error", "resync":
		c.errors++
		if c.firstErr == "" {
			c.firstErr = m.typ + " " + string(m.code)
		}
	}
}

// event checks one event: its cursor must follow the previous one (commit
// order, each event once), its row must be one this client reads, and it
// must not carry the hidden column. Only events that pass the order and
// key checks count towards got.
func (c *client) event(m *msg) {
	if m.hidden {
		c.leaks++
	}
	p, ok := parsePosition(m.cursor)
	if !ok {
		c.bad++
		return
	}
	if c.hasLast && !c.last.less(p) {
		if p == c.last {
			c.dups++
			return
		}
		c.outOfOrder++
	}
	c.last, c.hasLast = p, true
	if (c.spec.room > 0 && m.roomID != c.spec.room) || (c.spec.user != "" && string(m.userID) != c.spec.user) {
		c.foreign++
		return
	}
	c.got.Add(1)
}

// waitSubscribed waits until every client was answered subscribed (or
// ended), up to limit.
func (f *fleet) waitSubscribed(ctx context.Context, limit time.Duration) error {
	if len(f.clients) == 0 {
		return nil
	}
	select {
	case <-f.allSubscribed:
		return nil
	case <-time.After(limit):
		return fmt.Errorf("%d of %d clients subscribed within %v", f.subscribed.Load(), len(f.clients), limit)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// drain waits until every client has received want(c) events, or idle
// has passed since the last progress, or limit in all, or ctx ends. What
// has not arrived by then counts as lost.
func (f *fleet) drain(ctx context.Context, want func(*client) int64, idle, limit time.Duration) {
	var lastTotal int64 = -1
	progress := time.Now()
	end := progress.Add(limit)
	for {
		done, total := true, int64(0)
		for _, c := range f.clients {
			n := c.got.Load()
			total += n
			if n < want(c) {
				done = false
			}
		}
		if done {
			return
		}
		if total != lastTotal {
			lastTotal, progress = total, time.Now()
		}
		if time.Since(progress) > idle || time.Now().After(end) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Millisecond): // polling a condition with a deadline
		}
	}
}

// close ends every connection and waits for the readers; after it the
// clients' check state may be read.
func (f *fleet) close() {
	f.stopping.Store(true)
	for _, c := range f.clients {
		if c != nil {
			c.ws.CloseNow()
		}
	}
	f.wg.Wait()
}

// tally is the fleet's checks summed up.
type tally struct {
	Expected    int64          `json:"expected"`
	Delivered   int64          `json:"delivered"`
	Lost        int64          `json:"lost"`
	Duplicates  int64          `json:"duplicates"`
	OutOfOrder  int64          `json:"out_of_order"`
	Foreign     int64          `json:"foreign"`
	HiddenLeaks int64          `json:"hidden_leaks"`
	Unreadable  int64          `json:"unreadable"`
	Errors      int64          `json:"errors"`
	FirstError  string         `json:"first_error,omitempty"`
	Closed      int            `json:"clients_closed"`
	CloseCodes  map[string]int `json:"close_codes,omitempty"`
	Subscribed  int            `json:"subscribed"`
}

// tally sums the checks; want gives each client's expected deliveries.
// Call it after close.
func (f *fleet) tally(want func(*client) int64) tally {
	t := tally{CloseCodes: map[string]int{}}
	for _, c := range f.clients {
		w, g := want(c), c.got.Load()
		t.Expected += w
		t.Delivered += g
		t.Lost += max(0, w-g)
		t.Duplicates += c.dups
		t.OutOfOrder += c.outOfOrder
		t.Foreign += c.foreign
		t.HiddenLeaks += c.leaks
		t.Unreadable += c.bad
		t.Errors += c.errors
		if t.FirstError == "" {
			t.FirstError = c.firstErr
		}
		if c.closeCode != 0 {
			t.Closed++
			t.CloseCodes[strconv.Itoa(c.closeCode)]++
		}
		if c.subscribed {
			t.Subscribed++
		}
	}
	return t
}

// ok reports whether every expected delivery arrived once, in order, and
// nothing else did.
func (t tally) ok() bool {
	return t.Lost == 0 && t.Delivered == t.Expected && t.Duplicates == 0 && t.OutOfOrder == 0 && t.Foreign == 0 &&
		t.HiddenLeaks == 0 && t.Unreadable == 0 && t.Errors == 0 && t.Closed == 0
}

// serverURLs splits --url's comma-separated list.
func serverURLs(list string) []string {
	var out []string
	for _, u := range strings.Split(list, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, strings.TrimSuffix(u, "/"))
		}
	}
	return out
}
