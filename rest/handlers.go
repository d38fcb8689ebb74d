package rest

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/store"
)

// listBody is the body of a list response.
type listBody struct {
	Items    []walrelay.Row `json:"items"`
	NextPage *string        `json:"next_page"`
	Cursor   string         `json:"cursor"`
	Total    *int64         `json:"total,omitempty"`
}

// model returns the current version of the model served at the
// request's {path}; a stopped model gives its walrelay.ErrUnavailable.
func (h *handler) model(r *http.Request) (*walrelay.Model, error) {
	p := param(r, "path")
	m := h.schema.ByPath(p)
	if m == nil {
		return nil, fmt.Errorf("%w: no model at %q", walrelay.ErrUnknownModel, p)
	}
	if err := m.Available(); err != nil {
		return nil, err
	}
	return m, nil
}

// param returns a route parameter, unescaped: chi matches on the raw path
// when the request has one.
func param(r *http.Request, name string) string {
	v := chi.URLParam(r, name)
	if r.URL.RawPath != "" {
		if u, err := url.PathUnescape(v); err == nil {
			return u
		}
	}
	return v
}

// serve runs op on the request's model and answers its error, if any. op
// must write nothing when it fails. When op fails because the table
// changed under the model version it used (walrelay.ErrSchemaChanged: a
// column dropped, renamed or retyped), the catalog is read again
// (Config.Refresher) and op runs once more on the new version; a second
// such failure is answered 503, never 500.
func (h *handler) serve(w http.ResponseWriter, r *http.Request, op func(m *walrelay.Model) error) {
	m, err := h.model(r)
	if err == nil {
		err = op(m)
	}
	if errors.Is(err, walrelay.ErrSchemaChanged) && h.cfg.Refresher != nil {
		h.log.WarnContext(r.Context(), "rest: the table changed under a query; reading the catalog again", "path", r.URL.Path, "err", driftCause(err))
		if rerr := h.cfg.Refresher.Refresh(r.Context()); rerr != nil {
			h.log.ErrorContext(r.Context(), "rest: read the catalog", "err", rerr)
		} else if m, err = h.model(r); err == nil {
			err = op(m)
		}
	}
	if err != nil {
		h.fail(w, r, err)
	}
}

// driftCause returns the database error behind a store.DriftError.
func driftCause(err error) error {
	var d *store.DriftError
	if errors.As(err, &d) {
		return d.Cause
	}
	return err
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		h.fail(w, r, fmt.Errorf("%w: malformed query string", walrelay.ErrBadRequest))
		return
	}
	h.serve(w, r, func(m *walrelay.Model) error {
		p, err := store.ParseListParams(m, q)
		if err != nil {
			return err
		}
		res, err := h.store.List(r.Context(), guard(r), m, p)
		if err != nil {
			return err
		}
		cur := res.Cursor.String()
		w.Header().Set(CursorHeader, cur)
		h.writeJSON(w, http.StatusOK, listBody{Items: res.Items, NextPage: res.NextPage, Cursor: cur, Total: res.Total})
		return nil
	})
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, func(m *walrelay.Model) error {
		row, cur, err := h.store.Get(r.Context(), guard(r), m, param(r, "id"))
		if err != nil {
			return err
		}
		w.Header().Set(CursorHeader, cur.String())
		h.writeJSON(w, http.StatusOK, row)
		return nil
	})
}

// writeFunc is one write of the store: a create, or an update of the row
// at the request's {id}, with the decoded body.
type writeFunc func(r *http.Request, g store.Guard, m *walrelay.Model, data map[string]any) (walrelay.Row, error)

// write serves create and update: the model at {path}, then the JSON body,
// then do (retried on a new model version, see serve); the row written is
// answered with status, each failure with its error body.
func (h *handler) write(status int, do writeFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := h.model(r); err != nil {
			h.fail(w, r, err)
			return
		}
		data, err := h.body(w, r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.serve(w, r, func(m *walrelay.Model) error {
			row, err := do(r, guard(r), m, data)
			if err != nil {
				return err
			}
			h.writeJSON(w, status, row)
			return nil
		})
	}
}

func (h *handler) create(r *http.Request, g store.Guard, m *walrelay.Model, data map[string]any) (walrelay.Row, error) {
	return h.store.Create(r.Context(), g, m, data)
}

func (h *handler) update(r *http.Request, g store.Guard, m *walrelay.Model, data map[string]any) (walrelay.Row, error) {
	return h.store.Update(r.Context(), g, m, param(r, "id"), data)
}

func (h *handler) delete(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, func(m *walrelay.Model) error {
		if err := h.store.Delete(r.Context(), guard(r), m, param(r, "id")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
