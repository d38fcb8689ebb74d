package ws

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/walrelay/walrelay/authz"
	"github.com/walrelay/walrelay/hub"
)

// conn is one client connection. The read loop (serve) owns subs; the hub
// calls Receive from its goroutine; the write loop owns the socket's writes.
type conn struct {
	s      *Server
	ws     *websocket.Conn
	ctx    context.Context // canceled when the connection ends
	cancel context.CancelFunc
	q      *queue
	w      wire // the protocol spoken
	// frameBuf is the write loop's buffer for batched frames, batchTimer
	// its batch-window timer, lastFrame when it last wrote a frame; write
	// loop only (one runs at a time, see queue).
	frameBuf   []byte
	batchTimer *time.Timer
	lastFrame  time.Time
	// hbTimer runs heartbeat every Heartbeat; nil once stopped (hbMu).
	hbMu    sync.Mutex
	hbTimer *time.Timer
	// writing is when the frame being written started (Unix nanoseconds),
	// 0 between writes; the server's write watchdog reads it.
	writing atomic.Int64
	// remote and started describe the connection (set before serve).
	remote  string
	started time.Time

	subs    map[string]*subscription // by channel name; read loop only
	limiter bucket                   // read loop only
	// custom holds the custom channel subscriptions by name, pubLimiter
	// bounds publish and presence messages; read loop only.
	custom     map[string]*customSub
	pubLimiter bucket

	// caller is the connection's identity bound to the policy; nil until
	// authenticated. Written by the read loop, read by requests.
	caller atomic.Pointer[authz.Caller]
	// expiry is the token's expiry in Unix nanoseconds, 0 for none;
	// Receive drops everything once it has passed.
	expiry atomic.Int64
	// Read loop only (and ServeHTTP before and after it): whether an auth
	// message or token was accepted, the user counted against the
	// per-user limit, and the timers that close the connection.
	authed      bool
	user        string
	hasUser     bool
	authTimer   *time.Timer
	expiryTimer *time.Timer

	reqSlots chan struct{} // one value per request in flight
	reqWG    sync.WaitGroup

	closeOnce sync.Once
	closing   chan struct{} // closed by closeWith
	closeCode websocket.StatusCode
	closeWhy  string
}

// newConn makes a connection on wc that speaks the protocol proto returns
// for it.
func newConn(s *Server, wc *websocket.Conn, proto func(*conn) wire) *conn {
	wc.SetReadLimit(s.cfg.MaxMessageBytes)
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{
		s: s, ws: wc, ctx: ctx, cancel: cancel,
		subs:       map[string]*subscription{},
		limiter:    newBucket(s.cfg.MessagesPerSecond),
		custom:     map[string]*customSub{},
		pubLimiter: newBucket(s.cfg.PublishesPerSecond),
		closing:    make(chan struct{}),
		reqSlots:   make(chan struct{}, maxRequests),
	}
	c.q = newQueue(s.cfg.SendQueue, func() { s.writers.schedule(c) })
	c.q.dropped = s.countDropped
	c.w = proto(c)
	return c
}

// serve runs the connection: the read loop here, the write loop when there
// is something to write (its queue starts it), the heartbeat on a timer,
// requests in goroutines of their own. It returns when all have ended and
// the subscriptions are gone.
func (c *conn) serve() {
	c.hbMu.Lock()
	c.hbTimer = time.AfterFunc(c.s.cfg.Heartbeat, c.heartbeat)
	c.hbMu.Unlock()
	c.readLoop()
	c.cancel()
	c.stopTimers()
	c.reqWG.Wait()
	// Unsubscribe before waiting, so the hub stops queueing for us.
	for _, sub := range c.subs {
		c.s.hub.Unsubscribe(sub.hs)
	}
	for _, cs := range c.custom {
		c.s.hub.UnsubscribeCustom(cs.hs) // leaves presence
	}
	c.q.wait()
	_ = c.ws.CloseNow()
}

// writeAge is how long the frame write in progress has taken at now (Unix
// nanoseconds), 0 when none is. Safe from any goroutine.
func (c *conn) writeAge(now int64) time.Duration {
	if w := c.writing.Load(); w != 0 {
		return time.Duration(now - w)
	}
	return 0
}

// logger is the server's logger with the connection's address. It is made
// when something is logged, not kept: a logger per connection would cost
// every idle connection a few hundred bytes.
func (c *conn) logger() *slog.Logger { return c.s.logger.With("remote", c.remote) }

// closeWith asks the write loop to close the connection with code. It never
// blocks; the first code wins.
func (c *conn) closeWith(code websocket.StatusCode, why string) {
	c.closeOnce.Do(func() {
		c.closeCode, c.closeWhy = code, why
		close(c.closing)
		c.q.wakeWriter()
	})
}

// Receive implements hub.Receiver: it queues the deliveries without
// blocking, or marks the connection too slow when they do not fit. (The
// hub has already dropped what a subscription's since cursor covers.) It
// is safe to call concurrently (the queue has a lock of its own).
//
// Once the token has expired nothing more is queued, even before the
// expiry timer has closed the connection.
func (c *conn) Receive(ds []hub.Delivery) {
	if c.expired(time.Now()) {
		c.closeWith(closeUnauthorized, "token expired")
		c.s.counts.dropped.Add(uint64(len(ds)))
		return
	}
	items := c.w.items(ds)
	if len(items) > 0 && !c.q.push(items...) {
		c.logger().Info("websocket send queue full, closing", "queue", c.s.cfg.SendQueue)
	}
}

// Room implements hub.Receiver: the free room in the send queue, and a
// channel closed when the write loop next takes what is queued (or the
// connection ends). The hub waits on it while it hands on a chunked or
// large transaction, so a big transaction reaches the client at the pace
// it reads without overflowing the queue.
func (c *conn) Room() (int, <-chan struct{}) { return c.q.room() }

// QueueCap implements hub.Bounded: the send queue's bound. The hub
// flow-controls a transaction with more than half of it for this
// connection, instead of overflowing the queue.
func (c *conn) QueueCap() int { return c.q.max }

// Resync implements hub.Receiver: it tells the client to re-read the
// subscription's channel over HTTP.
func (c *conn) Resync(s *hub.Subscription, reason string) { c.w.resync(s, reason) }

// send queues one pre-encoded message.
func (c *conn) send(b []byte) {
	if !c.q.push(outItem{raw: b}) {
		c.logger().Info("websocket send queue full, closing", "queue", c.s.cfg.SendQueue)
	}
}
