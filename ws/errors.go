package ws

import (
	"errors"

	"github.com/walrelay/walrelay"
)

// Error codes sent in {"type":"error"} frames (CONTRACT §3, plus conflict,
// too_large and unprocessable for request replies; see docs/protocol.md).
const (
	CodeBadRequest    = "bad_request"
	CodeUnauthorized  = "unauthorized"
	CodeForbidden     = "forbidden"
	CodeNotFound      = "not_found"
	CodeInvalidFilter = "invalid_filter"
	CodeTooManySubs   = "too_many_subscriptions"
	CodeRateLimited   = "rate_limited"
	CodeConflict      = "conflict"
	CodeTooLarge      = "too_large"
	CodeUnprocessable = "unprocessable"
	CodeUnavailable   = "unavailable"
	CodeInternal      = "internal"
)

// codes maps the root sentinels to error codes, most specific first.
var codes = []struct {
	err  error
	code string
}{
	{walrelay.ErrInvalidFilter, CodeInvalidFilter},
	{walrelay.ErrBadRequest, CodeBadRequest},
	{walrelay.ErrUnauthorized, CodeUnauthorized},
	{walrelay.ErrForbidden, CodeForbidden},
	{walrelay.ErrNotFound, CodeNotFound},
	{walrelay.ErrUnknownModel, CodeNotFound},
	{walrelay.ErrConflict, CodeConflict},
	{walrelay.ErrTooLarge, CodeTooLarge},
	{walrelay.ErrUnprocessable, CodeUnprocessable},
	{walrelay.ErrRateLimited, CodeRateLimited},
	{walrelay.ErrTooManySubs, CodeTooManySubs},
	{walrelay.ErrUnavailable, CodeUnavailable},
}

// errorCode returns the client error code and message for err. Errors that
// wrap no sentinel are internal: their text is not shown to the client.
func errorCode(err error) (code, message string, internal bool) {
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code, err.Error(), false
		}
	}
	return CodeInternal, "internal error", true
}
