package rest

import (
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/go-chi/cors"
)

// corsMaxAge is how long (seconds) a browser may cache a preflight answer.
const corsMaxAge = 600

// corsHandler lets browser pages on the origins that patterns allow call
// the API (CORS): it answers their preflight requests itself, before
// authentication (a preflight carries no token), and adds the
// Access-Control headers to their actual requests, errors included, so the
// page can read the answer, the cursor header and Retry-After. Requests
// without an Origin, or from an origin not allowed, get no CORS headers
// (the browser then refuses the page the answer). Credentials (cookies)
// are not used: the token travels in the Authorization header.
func corsHandler(patterns []string) func(http.Handler) http.Handler {
	return cors.Handler(cors.Options{
		AllowOriginFunc: func(_ *http.Request, origin string) bool { return originAllowed(patterns, origin) },
		AllowedMethods:  []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete},
		AllowedHeaders:  []string{"Authorization", "Content-Type", "Accept"},
		ExposedHeaders:  []string{CursorHeader, "Retry-After", "WWW-Authenticate"},
		MaxAge:          corsMaxAge,
	})
}

// originAllowed reports whether a browser origin ("https://app.example.com")
// matches one of patterns, with the rule the WebSocket's origin check uses
// (coder/websocket's OriginPatterns), so one server.allowed_origins list
// means the same for /api and /ws: a pattern is matched with path.Match,
// case-insensitively, against the origin's host[:port], or against
// scheme://host[:port] when the pattern contains "://".
func originAllowed(patterns []string, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	for _, p := range patterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, err := path.Match(strings.ToLower(p), strings.ToLower(target)); err == nil && ok {
			return true
		}
	}
	return false
}
