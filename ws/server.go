// Package ws is the WebSocket gateway at /ws (CONTRACT §3–4): it speaks the
// client protocol, keeps each connection's subscriptions in the hub, and
// writes the events the hub routes to it through a bounded per-connection
// queue, batched into frames.
//
// Every connection has one read loop (the ServeHTTP goroutine), one write
// loop, and a goroutine per request in flight (at most 8). The hub hands
// events to a connection without blocking; a connection whose queue
// overflows is closed with 4408 and resumes with its cursor.
//
// Authorization (CONTRACT §1, §3; docs/protocol.md): a connection is
// authenticated by a token in the URL, the Authorization header or a first
// auth message, and closed with 4401 when the token is invalid or expires.
// Its claims decide, through the Policy, which channels it may subscribe
// to, which events it is sent (the read rule, checked by the hub on every
// event's row before it is queued) and what its requests may do (the
// store's Guard).
//
// Custom channels (custom.go, presence.go; docs/channels.md): subscribe,
// publish and presence on configured patterns such as chat:room:{roomId},
// checked by the compiled channel rules (Config.Channels, package authz)
// and the optional subscribe_sql membership query run on
// Config.Membership, routed by the hub; this package holds the protocol,
// the wire format (encode_custom.go) and the per-connection limits.
package ws

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/hub"
)

// Server is the WebSocket gateway. It is an http.Handler; mount it at /ws.
// All methods are safe for concurrent use.
type Server struct {
	cfg     Config
	schema  *walrelay.Schema
	hub     *hub.Hub
	store   Store
	auth    Authenticator
	policy  Policy
	limits  *connLimits
	logger  *slog.Logger
	ruleLog *ruleLog
	counts  counters
	writers *writerPool // the connections' turns

	mu       sync.Mutex
	conns    map[*conn]struct{}
	watching bool // the write watchdog runs (while there are connections)
	shutdown bool
	wg       sync.WaitGroup
}

// New returns a gateway serving the realtime models of schema from h, and
// requests from st (nil: requests are refused). auth verifies tokens and
// policy holds the rules; both are required. New declares the models'
// indexable read rules to h (hub.Hub.SetReadIndex), so call it before
// clients subscribe through anything else. With cfg.Channels it also
// serves custom channels and sets h's check for messages emitted from SQL
// (hub.Hub.SetMessageCheck). logger may be nil.
func New(cfg Config, schema *walrelay.Schema, h *hub.Hub, st Store, auth Authenticator, policy Policy, logger *slog.Logger) *Server {
	if auth == nil || policy == nil {
		panic("ws.New: nil Authenticator or Policy")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	s := &Server{
		cfg: cfg, schema: schema, hub: h, store: st, auth: auth, policy: policy,
		limits: newConnLimits(cfg.MaxConnectionsPerIP, cfg.MaxConnectionsPerUser),
		logger: logger, conns: map[*conn]struct{}{}, ruleLog: newRuleLog(logger),
		writers: newWriterPool(cfg.Writers),
	}
	s.indexReadRules()
	if cfg.Channels != nil && h != nil {
		h.SetMessageCheck(cfg.Channels.CheckEmitted)
	}
	return s
}

// ServeHTTP accepts the WebSocket upgrade and serves the connection until
// it closes. After Shutdown it answers 503; over the per-IP connection
// limit, or over the per-user limit with a token in the URL or header, 429.
// A token in the URL or header that does not verify is answered by
// accepting the upgrade and closing with 4401 and the reason.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.serveWS(w, r, true, func(*http.Request) (func(*conn) wire, error) {
		return func(c *conn) wire { return walrelayWire{c} }, nil
	})
}

// serveWS serves one WebSocket connection of either endpoint: the
// shutdown and per-IP checks, the token of the upgrade request when
// tokenInRequest (else the protocol brings it, and the connection is
// anonymous, when allowed, until then), the upgrade, then the connection
// speaking the protocol prepare returns for the request; an error from
// prepare is answered with 400 before the upgrade.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request, tokenInRequest bool, prepare func(*http.Request) (func(*conn) wire, error)) {
	proto, err := prepare(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	// release undoes, in reverse, what the connection holds (the limits,
	// the wait group): when this returns, or, once the connection is
	// handed to its own goroutine, when that ends.
	var undo []func()
	release := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		s.wg.Done()
	}
	handedOff := false
	defer func() {
		if !handedOff {
			release()
		}
	}()

	ip := clientIP(r, s.cfg.TrustProxy)
	if !s.limits.acquireIP(ip) {
		http.Error(w, "too many connections from this address", http.StatusTooManyRequests)
		return
	}
	undo = append(undo, func() { s.limits.releaseIP(ip) })

	var id identity
	var hasToken bool
	var authErr error
	if tokenInRequest {
		id, hasToken, authErr = s.identify(r)
	}
	if authErr == nil && id.hasUser {
		if !s.limits.acquireUser(id.user) {
			http.Error(w, "too many connections for this user", http.StatusTooManyRequests)
			return
		}
	}
	wc, err := websocket.Accept(smallBuffers{w}, r, &websocket.AcceptOptions{OriginPatterns: s.cfg.OriginPatterns})
	if err != nil {
		if authErr == nil && id.hasUser {
			s.limits.releaseUser(id.user)
		}
		s.logger.Debug("websocket accept", "err", err)
		return // Accept has written the HTTP error.
	}
	if authErr != nil {
		_ = wc.Close(closeUnauthorized, closeReason(authErr))
		return
	}
	c := newConn(s, wc, proto)
	c.remote, c.started = r.RemoteAddr, time.Now()
	switch {
	case hasToken || s.auth.Anonymous():
		c.setIdentity(id)
		c.authed = true
	default:
		c.awaitAuth()
	}
	undo = append(undo, func() {
		c.stopTimers()
		if c.hasUser {
			s.limits.releaseUser(c.user)
		}
	})

	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		_ = wc.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	s.conns[c] = struct{}{}
	if !s.watching {
		s.watching = true
		go s.watchWrites()
	}
	s.mu.Unlock()

	// The connection runs in a goroutine of its own, and this handler
	// returns: net/http's goroutine for the request, its stack and the
	// request are then freed instead of being held as long as the
	// connection lives (a few KB for every idle connection). Shutdown
	// still waits for it (the wait group).
	handedOff = true
	go func() {
		defer release()
		c.serve()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
}

// Shutdown closes every connection with 1001 and waits until their
// goroutines have ended or ctx is done. Later upgrades are refused.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	for _, c := range conns {
		c.closeWith(websocket.StatusGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// encodeEvent encodes a hub message: a row event frame with the
// message's epoch in its cursor, an event on a custom channel, or a
// presence message.
func (s *Server) encodeEvent(m *hub.Message) ([]byte, error) { return Encode(m) }

// identify verifies the upgrade request's token, if it has one (see
// tokenFromRequest). Without a token it returns the anonymous identity and
// hasToken false; whether that is let in is the caller's decision.
func (s *Server) identify(r *http.Request) (id identity, hasToken bool, err error) {
	token, err := tokenFromRequest(r)
	if err != nil {
		return identity{}, true, err
	}
	if token == "" {
		return identity{}, false, nil
	}
	claims, exp, err := s.auth.Verify(r.Context(), token)
	if err != nil {
		return identity{}, true, err
	}
	return newIdentity(claims, exp), true, nil
}
