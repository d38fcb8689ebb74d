package rest

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/walrelay/walrelay"
)

// errorMap is the one mapping from the root sentinels to HTTP status and
// error code. Order matters only for errors that wrap several sentinels.
var errorMap = []struct {
	err    error
	status int
	code   string
}{
	{walrelay.ErrInvalidFilter, http.StatusBadRequest, "invalid_filter"},
	{walrelay.ErrBadRequest, http.StatusBadRequest, "bad_request"},
	{walrelay.ErrUnauthorized, http.StatusUnauthorized, "unauthorized"},
	{walrelay.ErrForbidden, http.StatusForbidden, "forbidden"},
	{walrelay.ErrNotFound, http.StatusNotFound, "not_found"},
	{walrelay.ErrUnknownModel, http.StatusNotFound, "not_found"},
	{walrelay.ErrConflict, http.StatusConflict, "conflict"},
	{walrelay.ErrTooLarge, http.StatusRequestEntityTooLarge, "too_large"},
	{walrelay.ErrUnprocessable, http.StatusUnprocessableEntity, "unprocessable"},
	{walrelay.ErrRateLimited, http.StatusTooManyRequests, "rate_limited"},
	{walrelay.ErrTooManySubs, http.StatusTooManyRequests, "too_many_subscriptions"},
	{walrelay.ErrUnavailable, http.StatusServiceUnavailable, "unavailable"},
}

// ErrorStatus returns the HTTP status and error code for err: the mapped
// sentinel it wraps, or 500 "internal".
func ErrorStatus(err error) (status int, code string) {
	for _, e := range errorMap {
		if errors.Is(err, e.err) {
			return e.status, e.code
		}
	}
	return http.StatusInternalServerError, "internal"
}

// Code returns the client error code for err ("bad_request", "not_found",
// ..., "internal"), as used in REST and WebSocket error bodies.
func Code(err error) string {
	_, code := ErrorStatus(err)
	return code
}

// errorBody is {"error":{"code":"...","message":"..."}}.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// fail answers err: its sentinel's status and code with the error's own
// (client-safe) message, or a generic 500 with the real error logged.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := ErrorStatus(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		h.log.ErrorContext(r.Context(), "rest: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal server error"
	}
	if status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="walrelay"`)
	}
	h.writeError(w, status, code, msg)
}

func (h *handler) writeError(w http.ResponseWriter, status int, code, msg string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	h.writeJSON(w, status, b)
}

func (h *handler) writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		h.log.Error("rest: encode response", "err", err)
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"code":"internal","message":"internal server error"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
