// Package rest serves walrelay's REST API (CONTRACT §2) over chi: list,
// get, create, update and delete of model rows at /api/{path}[/{id}],
// through package store. It writes to Postgres and never broadcasts: live
// events come from the WAL only.
package rest

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/store"
)

// DefaultMaxBodyBytes is the default limit of a request body.
const DefaultMaxBodyBytes = 1 << 20

// CursorHeader carries the cursor of every read.
const CursorHeader = "Walrelay-Cursor"

// Config tunes the REST handler.
type Config struct {
	// MaxBodyBytes limits request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
}

type handler struct {
	schema *walrelay.Schema
	store  *store.Store
	cfg    Config
	log    *slog.Logger
}

// New returns the REST handler. Its routes are relative to the API root
// (mount it at /api): GET /{path}, GET /{path}/{id}, POST /{path},
// PATCH /{path}/{id}, DELETE /{path}/{id}. Unknown paths answer 404 with a
// JSON error body. The handler is safe for concurrent use; internal errors
// are logged to logger and answered with a generic 500.
func New(schema *walrelay.Schema, st *store.Store, cfg Config, logger *slog.Logger) http.Handler {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{schema: schema, store: st, cfg: cfg, log: logger}
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, walrelay.ErrNotFound)
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, http.StatusMethodNotAllowed, "bad_request", "method "+r.Method+" is not allowed here")
	})
	r.Get("/{path}", h.list)
	r.Post("/{path}", h.create)
	r.Get("/{path}/{id}", h.get)
	r.Patch("/{path}/{id}", h.update)
	r.Delete("/{path}/{id}", h.delete)
	return r
}
