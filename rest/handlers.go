package rest

import (
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

// model returns the model served at the request's {path}.
func (h *handler) model(r *http.Request) (*walrelay.Model, error) {
	p := param(r, "path")
	m := h.schema.ByPath(p)
	if m == nil {
		return nil, fmt.Errorf("%w: no model at %q", walrelay.ErrUnknownModel, p)
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

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	m, err := h.model(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		h.fail(w, r, fmt.Errorf("%w: malformed query string", walrelay.ErrBadRequest))
		return
	}
	p, err := store.ParseListParams(m, q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.store.List(r.Context(), guard(r), m, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cur := res.Cursor.String()
	w.Header().Set(CursorHeader, cur)
	h.writeJSON(w, http.StatusOK, listBody{Items: res.Items, NextPage: res.NextPage, Cursor: cur, Total: res.Total})
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	m, err := h.model(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	row, cur, err := h.store.Get(r.Context(), guard(r), m, param(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set(CursorHeader, cur.String())
	h.writeJSON(w, http.StatusOK, row)
}

// writeFunc is one write of the store: a create, or an update of the row
// at the request's {id}, with the decoded body.
type writeFunc func(r *http.Request, g store.Guard, m *walrelay.Model, data map[string]any) (walrelay.Row, error)

// write serves create and update: the model at {path}, then the JSON body,
// then do; the row written is answered with status, each failure with its
// error body.
func (h *handler) write(status int, do writeFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m, err := h.model(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		data, err := h.body(w, r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		row, err := do(r, guard(r), m, data)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.writeJSON(w, status, row)
	}
}

func (h *handler) create(r *http.Request, g store.Guard, m *walrelay.Model, data map[string]any) (walrelay.Row, error) {
	return h.store.Create(r.Context(), g, m, data)
}

func (h *handler) update(r *http.Request, g store.Guard, m *walrelay.Model, data map[string]any) (walrelay.Row, error) {
	return h.store.Update(r.Context(), g, m, param(r, "id"), data)
}

func (h *handler) delete(w http.ResponseWriter, r *http.Request) {
	m, err := h.model(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.store.Delete(r.Context(), guard(r), m, param(r, "id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
