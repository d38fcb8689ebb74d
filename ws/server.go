// Package ws is the WebSocket gateway at /ws (CONTRACT §3–4): it speaks the
// client protocol, keeps each connection's subscriptions in the hub, and
// writes the events the hub routes to it through a bounded per-connection
// queue, batched into frames.
//
// Every connection has one read loop (the ServeHTTP goroutine), one write
// loop, and a goroutine per request in flight (at most 8). The hub hands events to a connection without blocking; a connection
// whose queue overflows is closed with 4408 and resumes with its cursor.
package ws

import (
	"context"
	"log/slog"
	"net/http"
	"sync"

	"github.com/coder/websocket"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/hub"
)

// Server is the WebSocket gateway. It is an http.Handler; mount it at /ws.
// All methods are safe for concurrent use.
type Server struct {
	cfg    Config
	schema *walrelay.Schema
	hub    *hub.Hub
	store  Store
	logger *slog.Logger

	mu       sync.Mutex
	conns    map[*conn]struct{}
	shutdown bool
	wg       sync.WaitGroup
}

// New returns a gateway serving the realtime models of schema from h, and
// requests from st. logger may be nil.
func New(cfg Config, schema *walrelay.Schema, h *hub.Hub, st Store, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{
		cfg: cfg.withDefaults(), schema: schema, hub: h, store: st,
		logger: logger, conns: map[*conn]struct{}{},
	}
}

// ServeHTTP accepts the WebSocket upgrade and serves the connection until
// it closes. After Shutdown it answers 503.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	wc, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: s.cfg.OriginPatterns})
	if err != nil {
		s.logger.Debug("websocket accept", "err", err)
		return // Accept has written the HTTP error.
	}
	c := newConn(s, wc, s.logger.With("remote", r.RemoteAddr))

	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		_ = wc.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()

	c.serve()

	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
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

// encodeEvent encodes an event frame with the hub's epoch in its cursor.
func (s *Server) encodeEvent(m *hub.Message) ([]byte, error) {
	return encodeEvent(m, s.hub.Epoch())
}
