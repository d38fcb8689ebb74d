// Package server wires walrelay's parts into one running server: it
// connects to Postgres, resolves the configured models against the catalog,
// sets up replication, and serves REST, WebSocket and health endpoints until
// its context ends, then shuts down gracefully.
//
// cmd/server calls it; integration tests run the same code in-process.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/authz"
	"github.com/walrelay/walrelay/cdc"
	"github.com/walrelay/walrelay/cluster"
	"github.com/walrelay/walrelay/config"
	"github.com/walrelay/walrelay/hub"
	"github.com/walrelay/walrelay/inspector"
	"github.com/walrelay/walrelay/openapi"
	"github.com/walrelay/walrelay/pgjson"
	"github.com/walrelay/walrelay/rest"
	"github.com/walrelay/walrelay/schemawatch"
	"github.com/walrelay/walrelay/store"
	"github.com/walrelay/walrelay/ws"
)

// Server is a configured walrelay server. Create it with New, run it with
// Run; a Server runs once.
type Server struct {
	cfg      *config.Config
	log      *slog.Logger
	pool     *pgxpool.Pool
	schema   *walrelay.Schema
	consumer *cdc.Consumer // nil when nothing is realtime
	ws       *ws.Server    // nil when nothing is realtime
	handler  http.Handler
	router   chi.Router
	listener net.Listener
	ready    atomic.Bool
	observe  func(*walrelay.Txn)
	hub      *hub.Hub      // nil when nothing is realtime
	node     *cluster.Node // nil without a cluster section
	check    bool          // CheckOnly: no setup, no listener
	// sendLatency is the gateway's commit-to-send histogram, for /metrics.
	sendLatency prometheus.Histogram
	watcher     *schemawatch.Watcher
	gen         *cdc.Generated       // nil when nothing is realtime
	channels    *authz.ChannelPolicy // nil when nothing is realtime
	recent      *inspector.Recent    // nil without server.inspector
	inspect     *inspector.Inspector // nil without server.inspector
	// replication is the cdc config, when a model is realtime.
	replication cdc.Config
}

// Option changes how New builds a Server.
type Option func(*Server)

// WithTxnObserver calls fn with every transaction after the hub has routed
// it, from the replication goroutine, in commit order. fn must not block.
// Tests use it to see what the replication stream handed on.
func WithTxnObserver(fn func(*walrelay.Txn)) Option {
	return func(s *Server) { s.observe = fn }
}

// CheckOnly makes New run the startup checks without changing anything:
// the config against the catalog, the rules, wal_level, but no publication,
// replica identity or slot setup, and no listening socket. The Server can
// only be closed.
func CheckOnly() Option {
	return func(s *Server) { s.check = true }
}

// New connects to the database, checks the config against it, prepares
// replication when any model is realtime, and binds the listen address.
// Every mismatch between config and database is an error naming it.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, opts ...Option) (*Server, error) {
	s := &Server{cfg: cfg, log: log}
	for _, o := range opts {
		o(s)
	}
	if cfg.Server.Inspector {
		// The inspector shows the recent warnings and errors.
		s.recent = inspector.NewRecent(0)
		s.log = slog.New(s.recent.Handler(log.Handler()))
	}
	pcfg, err := pgxpool.ParseConfig(cfg.Database.URL)
	if err != nil {
		return nil, fmt.Errorf("%s: database.url: %w", cfg.Pos("$.database.url"), err)
	}
	store.ConfigurePool(pcfg)
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("%s: database.url: %w", cfg.Pos("$.database.url"), err)
	}
	s.pool = pool
	if err := s.init(ctx); err != nil {
		if s.node != nil {
			s.node.Close()
		}
		pool.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) init(ctx context.Context) error {
	cfg := s.cfg
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := s.pool.Ping(pingCtx); err != nil {
		return fmt.Errorf("connect to database (%s): %w", cfg.Pos("$.database.url"), err)
	}
	models := cfg.BuildModels()
	var errs []error
	for _, m := range models {
		if err := store.LoadModels(ctx, s.pool, []*walrelay.Model{m}); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ModelPos(cfg, m, err), err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.schema = walrelay.NewSchema(models)
	dec := pgjson.NewDecoder()
	if err := registerTypes(ctx, s.pool, dec, models); err != nil {
		return err
	}
	st := store.New(s.pool, s.schema, dec)
	verifier, err := authz.NewVerifier(ctx, authz.VerifierConfig{
		Secret: cfg.Auth.JWT.Secret, JWKSURL: cfg.Auth.JWT.JWKSURL, Issuer: cfg.Auth.JWT.Issuer,
		Audience: cfg.Auth.JWT.Audience, Anonymous: cfg.Auth.Anonymous, Leeway: cfg.Auth.JWT.ClockSkew,
	}, s.log.With("part", "authz"))
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.Pos("$.auth"), err)
	}
	if n := len(cfg.Auth.JWT.Secret); n > 0 && n < 32 {
		s.log.Warn("auth.jwt.secret is short; use at least 32 random bytes for HS256", "length", n)
	}
	policy, err := authz.Compile(s.schema)
	if err != nil {
		return atConfig(cfg, err, "$.models")
	}
	schemawatch.Pin(models, policy, cfg.Pos)
	if err := s.initWatcher(ctx, dec); err != nil {
		return err
	}

	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { writeStatus(w, http.StatusOK, "ok") })
	r.Get("/readyz", s.readyz)
	r.Mount("/api", rest.New(s.schema, st, verifier, policy, rest.Config{
		Limits:         cfg.Limits.REST,
		TrustProxy:     cfg.Server.TrustProxy,
		AllowedOrigins: cfg.Server.AllowedOrigins,
		OpenAPI: openapi.Handler(func() *walrelay.Schema { return s.schema }, dec,
			openapi.Options{Anonymous: cfg.Auth.Anonymous}, s.log.With("part", "openapi")),
		Refresher: s.watcher,
	}, s.log.With("part", "rest")))

	if len(s.schema.Realtime()) > 0 || len(cfg.Channels) > 0 {
		if err := s.initRealtime(ctx, r, dec, st, verifier, policy); err != nil {
			return err
		}
	}
	r.Handle("/metrics", metricsHandler(s.consumer, s.hub, s.node, s.ws, s.sendLatency))
	if cfg.Server.Inspector {
		s.mountInspector(r, verifier)
	}
	s.handler = r
	s.router = r

	if s.check {
		return nil
	}
	l, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("%s: server.listen: %w", cfg.Pos("$.server.listen"), err)
	}
	s.listener = l
	return nil
}

// Addr returns the address the server listens on (useful with port 0).
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

// Pool returns the server's database pool (the demo's token endpoint uses
// it).
func (s *Server) Pool() *pgxpool.Pool { return s.pool }

// Schema returns the models as resolved against the database.
func (s *Server) Schema() *walrelay.Schema { return s.schema }

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Run serves until ctx ends or a part fails, then shuts down: WebSocket
// clients are closed with 1001, in-flight HTTP requests finish, and the
// replication consumer acknowledges what it delivered. It returns nil after
// a clean shutdown caused by ctx.
func (s *Server) Run(ctx context.Context) error {
	defer s.pool.Close()
	if s.node != nil {
		defer s.node.Close() // after the websockets: their presence leaves go out first
	}
	g, gctx := errgroup.WithContext(ctx)
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	g.Go(func() error {
		if err := srv.Serve(s.listener); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		return nil
	})
	if s.consumer != nil {
		g.Go(func() error {
			if err := s.consumer.Run(gctx); err != nil {
				return fmt.Errorf("replication: %w", err)
			}
			return nil
		})
	}
	if s.node != nil {
		g.Go(func() error { return s.node.Run(gctx) })
	}
	g.Go(func() error { return s.watcher.Run(gctx) })
	s.ready.Store(true)
	s.log.Info("walrelay serving", "addr", s.listener.Addr().String(), "models", len(s.schema.Models()), "realtime", len(s.schema.Realtime()))
	g.Go(func() error {
		<-gctx.Done()
		s.ready.Store(false)
		s.log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Server.ShutdownTimeout)
		defer cancel()
		if s.inspect != nil {
			s.inspect.Shutdown()
		}
		if s.ws != nil {
			if err := s.ws.Shutdown(sctx); err != nil {
				s.log.Warn("close websockets", "err", err)
			}
		}
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("shutdown http: %w", err)
		}
		return nil
	})
	return g.Wait()
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	switch {
	case !s.ready.Load():
		writeStatus(w, http.StatusServiceUnavailable, "starting or stopping")
	case s.pool.Ping(ctx) != nil:
		writeStatus(w, http.StatusServiceUnavailable, "database unreachable")
	case s.node != nil:
		s.clusterReady(w)
	case s.consumer != nil && !s.consumer.Streaming():
		writeStatus(w, http.StatusServiceUnavailable, "replication not streaming")
	default:
		writeStatus(w, http.StatusOK, "ready")
	}
}

func writeStatus(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, "{\"status\":%q}\n", msg)
}

// registerTypes teaches the decoder the non-builtin types (enums, domains)
// the models' columns use.
func registerTypes(ctx context.Context, pool *pgxpool.Pool, dec *pgjson.Decoder, models []*walrelay.Model) error {
	var oids []uint32
	for _, m := range models {
		for _, c := range m.Columns {
			oids = append(oids, c.TypeOID)
		}
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	if err := dec.Register(ctx, conn.Conn(), oids); err != nil {
		return fmt.Errorf("load column types: %w", err)
	}
	return nil
}

// Close releases what New acquired, for a Server that will not Run.
func (s *Server) Close() error {
	if s.node != nil {
		s.node.Close()
	}
	s.pool.Close()
	if s.listener == nil {
		return nil
	}
	return s.listener.Close()
}

// Mount adds a handler at pattern (e.g. the demo's page at "/"). Call it
// before Run.
func (s *Server) Mount(pattern string, h http.Handler) {
	s.router.Handle(pattern, h)
}
