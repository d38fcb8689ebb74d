package inspector

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/authz"
	"github.com/walrelay/walrelay/hub"
	"github.com/walrelay/walrelay/ws"
)

// Verifier verifies bearer tokens; *authz.Verifier implements it.
type Verifier interface {
	Verify(ctx context.Context, token string) (authz.Claims, time.Time, error)
}

// SlotInfo is the replication slot's state.
type SlotInfo struct {
	Name      string `json:"name"`
	Streaming bool   `json:"streaming"`
	Epoch     uint32 `json:"epoch"`
	// ConfirmedLSN is the position acknowledged to the slot.
	ConfirmedLSN string `json:"confirmed_lsn"`
	// LagBytes is the WAL written since the confirmed position; nil when
	// it could not be read.
	LagBytes *int64 `json:"lag_bytes"`
	// RetainedWALBytes is the WAL the slot keeps (measured periodically).
	RetainedWALBytes int64 `json:"retained_wal_bytes"`
}

// Config is what the inspector shows and how it checks tokens. Only
// Verifier and Schema are required; without Hub there is no stream, and
// the other parts are left out when nil.
type Config struct {
	Verifier Verifier
	Schema   *walrelay.Schema
	Hub      *hub.Hub
	// IsCustom reports whether a channel name is a configured custom
	// channel (authz.ChannelPolicy.Match), so that it can be watched.
	IsCustom func(channel string) bool
	// Connections lists the WebSocket connections (ws.Server.Connections).
	Connections func() []ws.ConnInfo
	// Slot reads the replication slot's state.
	Slot func(ctx context.Context) (*SlotInfo, error)
	// Recent holds the recent warnings and errors.
	Recent *Recent
	Logger *slog.Logger
}

// Inspector is the http.Handler of /_/; mount it with chi at "/_". Safe
// for concurrent use.
type Inspector struct {
	cfg     Config
	router  chi.Router
	mu      sync.Mutex
	closing chan struct{}
	closed  bool
}

// New returns the inspector.
func New(cfg Config) *Inspector {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	in := &Inspector{cfg: cfg, closing: make(chan struct{})}
	r := chi.NewRouter()
	r.Use(securityHeaders)
	r.Get("/", in.page)
	r.Get("/api/overview", in.admin(in.overview))
	r.Get("/api/stream", in.admin(in.stream))
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_/api/") {
			writeError(w, http.StatusNotFound, "not_found", "no such inspector call")
			return
		}
		http.StripPrefix("/_/", http.FileServerFS(assets)).ServeHTTP(w, r)
	})
	in.router = r
	return in
}

// ServeHTTP serves the page and its API.
func (in *Inspector) ServeHTTP(w http.ResponseWriter, r *http.Request) { in.router.ServeHTTP(w, r) }

// Shutdown ends the open event streams (they would otherwise hold up a
// graceful HTTP shutdown). Later streams end at once.
func (in *Inspector) Shutdown() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.closed {
		in.closed = true
		close(in.closing)
	}
}

// securityHeaders keeps the page to its own origin: no inline or foreign
// scripts, no framing, nothing cached.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func (in *Inspector) page(w http.ResponseWriter, r *http.Request) {
	http.ServeFileFS(w, r, assets, "index.html")
}

// admin runs h only for a request with an admin's token: 401 without a
// valid token, 403 for a token that is not an admin's.
func (in *Inspector) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || strings.TrimSpace(tok) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="walrelay inspector"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "the inspector needs an admin's token (Authorization: Bearer)")
			return
		}
		claims, _, err := in.cfg.Verifier.Verify(r.Context(), strings.TrimSpace(tok))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="walrelay inspector", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", err.Error())
			return
		}
		if !claims.IsAdmin() {
			writeError(w, http.StatusForbidden, "forbidden", `the inspector is for admins ("admin" in the token's roles, or role "admin")`)
			return
		}
		h(w, r)
	}
}

// overviewBody is GET /_/api/overview.
type overviewBody struct {
	Models        []modelInfo   `json:"models"`
	Slot          *SlotInfo     `json:"slot"`
	SlotError     string        `json:"slot_error,omitempty"`
	Subscriptions int           `json:"subscriptions"`
	Connections   []ws.ConnInfo `json:"connections"`
	Errors        []Entry       `json:"errors"`
}

type modelInfo struct {
	Name     string   `json:"name"`
	Table    string   `json:"table"`
	Path     string   `json:"path"`
	Channels []string `json:"channels"` // the channels clients may subscribe to ({id} for one row)
	Columns  []string `json:"columns"`  // visible columns
	Status   string   `json:"status"`   // "served" or "stopped"
	Problem  string   `json:"problem,omitempty"`
}

func (in *Inspector) overview(w http.ResponseWriter, r *http.Request) {
	body := overviewBody{Models: []modelInfo{}, Connections: []ws.ConnInfo{}, Errors: []Entry{}}
	for _, m := range in.cfg.Schema.Models() {
		mi := modelInfo{Name: m.Name, Table: m.QualifiedTable(), Path: "/api/" + m.Path, Channels: []string{}, Columns: []string{}, Status: "served"}
		if m.Realtime() {
			for _, k := range m.Subscribe {
				name := m.Name + ":" + string(k)
				if k != walrelay.KindList && k != walrelay.KindCreated {
					name += ":{id}"
				}
				mi.Channels = append(mi.Channels, name)
			}
		}
		for _, c := range m.Columns {
			if !m.Hidden(c.Name) {
				mi.Columns = append(mi.Columns, c.Name)
			}
		}
		if m.Unavailable != nil {
			mi.Status, mi.Problem = "stopped", m.Unavailable.Error()
		}
		body.Models = append(body.Models, mi)
	}
	if in.cfg.Slot != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		slot, err := in.cfg.Slot(ctx)
		cancel()
		if err != nil {
			body.SlotError = "read the slot: " + err.Error()
		}
		body.Slot = slot
	}
	if in.cfg.Hub != nil {
		body.Subscriptions = in.cfg.Hub.Len()
	}
	if in.cfg.Connections != nil {
		body.Connections = append(body.Connections, in.cfg.Connections()...)
	}
	if in.cfg.Recent != nil {
		body.Errors = append(body.Errors, in.cfg.Recent.Entries()...)
	}
	writeJSON(w, http.StatusOK, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// errClosed ends a stream at shutdown.
var errClosed = errors.New("inspector shutting down")
