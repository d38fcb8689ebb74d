package walrelay

import (
	"errors"
	"fmt"
)

// Sentinel errors. Packages wrap them with a client-safe message, e.g.
// fmt.Errorf("%w: unknown column %q", walrelay.ErrInvalidFilter, name);
// rest and ws map them to HTTP status and error codes in one place each.
// The wrapped message is shown to clients, so it must never contain SQL
// text or database error details beyond constraint and column names.
var (
	ErrBadRequest    = errors.New("bad request")            // 400 bad_request
	ErrInvalidFilter = errors.New("invalid filter")         // 400 invalid_filter
	ErrUnauthorized  = errors.New("unauthorized")           // 401 unauthorized
	ErrForbidden     = errors.New("forbidden")              // 403 forbidden
	ErrNotFound      = errors.New("not found")              // 404 not_found
	ErrConflict      = errors.New("conflict")               // 409 conflict
	ErrTooLarge      = errors.New("too large")              // 413 too_large
	ErrUnprocessable = errors.New("unprocessable")          // 422 unprocessable
	ErrRateLimited   = errors.New("rate limited")           // 429 rate_limited
	ErrTooManySubs   = errors.New("too many subscriptions") // too_many_subscriptions
	ErrUnknownModel  = errors.New("unknown model")          // 404 not_found
	// ErrUnavailable: the model is stopped because its table no longer
	// matches the config (see Mismatch), or it changed during the request.
	ErrUnavailable = errors.New("unavailable") // 503 unavailable
	// ErrSchemaChanged: a query failed because the table changed under it
	// (a column dropped, renamed or retyped). Callers re-read the catalog
	// and retry once; unhandled it is a 503 like ErrUnavailable.
	ErrSchemaChanged = fmt.Errorf("%w: the table changed; retry", ErrUnavailable)
)
