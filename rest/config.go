package rest

import "net/http"

// Defaults of the Limits fields left zero.
const (
	// DefaultMaxBodyBytes is the default limit of a request body.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultRequestsPerSecond and DefaultBurst are the default per-caller
	// request rate.
	DefaultRequestsPerSecond = 50
	DefaultBurst             = 100
)

// Limits are the REST API's limits that a deployment sets: the REST part of
// walrelay.yaml's `limits` section, whose keys are the yaml tags (package
// config decodes them straight into this struct). Zero fields take the
// Default* values (see WithDefaults).
type Limits struct {
	// MaxBodyBytes limits request bodies (else 413).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// RequestsPerSecond and Burst are each caller's token bucket: a
	// caller is a token's sub, or the client address when anonymous. A
	// negative RequestsPerSecond disables the limit.
	RequestsPerSecond float64 `yaml:"rest_requests_per_second"`
	Burst             int     `yaml:"rest_burst"`
}

// WithDefaults returns l with each zero field set to its Default* value
// (and a negative MaxBodyBytes or Burst). It is the one place these
// defaults are applied; New calls it.
func (l Limits) WithDefaults() Limits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.RequestsPerSecond == 0 {
		l.RequestsPerSecond = DefaultRequestsPerSecond
	}
	if l.Burst <= 0 {
		l.Burst = DefaultBurst
	}
	return l
}

// Config tunes the REST handler.
type Config struct {
	// Limits are walrelay.yaml's limits for the REST API.
	Limits
	// TrustProxy takes anonymous callers' address from X-Forwarded-For
	// (see package clientip).
	TrustProxy bool
	// AllowedOrigins are the browser origins of other sites whose pages may
	// call the API (CORS), as host patterns (see originAllowed); the
	// server's same origin needs none.
	AllowedOrigins []string
	// OpenAPI, when set, serves the API's description at /openapi.json
	// (behind the same authentication and rate limit as every route).
	OpenAPI http.Handler
	// Refresher, when set, is asked to read the catalog again when a
	// query fails because the table changed under it; the request is
	// then retried once (see walrelay.ErrSchemaChanged).
	Refresher Refresher
}
