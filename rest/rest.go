// Package rest serves walrelay's REST API (CONTRACT §2) over chi: list,
// get, create, update and delete of model rows at /api/{path}[/{id}],
// through package store. Requests are authenticated with a bearer token and
// rate-limited per caller, and run under the caller's rules (package
// authz; docs/authorization.md). It writes to Postgres and never broadcasts: live
// events come from the WAL only.
package rest

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/store"
)

// CursorHeader carries the cursor of every read.
const CursorHeader = "Walrelay-Cursor"

// Refresher re-reads the live catalog and replaces the schema's model
// versions that changed, before it returns. *schemawatch.Watcher
// implements it. It must be safe for concurrent use.
type Refresher interface {
	Refresh(ctx context.Context) error
}

type handler struct {
	schema *walrelay.Schema
	store  *store.Store
	auth   Authenticator
	policy Policy
	limits *limiters
	cfg    Config
	log    *slog.Logger
}

// New returns the REST handler. Its routes are relative to the API root
// (mount it at /api): GET /{path}, GET /{path}/{id}, POST /{path},
// PATCH /{path}/{id}, DELETE /{path}/{id}, and GET /openapi.json when
// cfg.OpenAPI is set. Unknown paths answer 404 with a JSON error body.
//
// Every request is first authenticated with auth (the bearer token of the
// Authorization header; 401 otherwise, see docs/authorization.md), then
// rate-limited per caller (429 with Retry-After), and then runs under
// policy's rules for its claims: reads see only readable rows, writes are
// checked on the full rows (403). auth and policy must not be nil.
//
// The handler is safe for concurrent use; internal errors are logged to
// logger and answered with a generic 500.
func New(schema *walrelay.Schema, st *store.Store, auth Authenticator, policy Policy, cfg Config, logger *slog.Logger) http.Handler {
	if auth == nil || policy == nil {
		panic("rest.New: nil Authenticator or Policy")
	}
	cfg.Limits = cfg.Limits.WithDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{schema: schema, store: st, auth: auth, policy: policy, cfg: cfg, log: logger,
		limits: newLimiters(cfg.RequestsPerSecond, cfg.Burst, time.Now)}
	r := chi.NewRouter()
	if len(cfg.AllowedOrigins) > 0 {
		r.Use(corsHandler(cfg.AllowedOrigins))
	}
	r.Use(h.authenticate)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, walrelay.ErrNotFound)
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, http.StatusMethodNotAllowed, "bad_request", "method "+r.Method+" is not allowed here")
	})
	if cfg.OpenAPI != nil {
		r.Method(http.MethodGet, "/openapi.json", cfg.OpenAPI)
	}
	r.Get("/{path}", h.list)
	r.Post("/{path}", h.write(http.StatusCreated, h.create))
	r.Get("/{path}/{id}", h.get)
	r.Patch("/{path}/{id}", h.write(http.StatusOK, h.update))
	r.Delete("/{path}/{id}", h.delete)
	return r
}
