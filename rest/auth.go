package rest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/authz"
	"github.com/walrelay/walrelay/internal/clientip"
	"github.com/walrelay/walrelay/store"
)

// Authenticator verifies bearer tokens; *authz.Verifier implements it.
// Verify errors must wrap walrelay.ErrUnauthorized with a client-safe
// message. It must be safe for concurrent use.
type Authenticator interface {
	// Verify checks a non-empty token and returns its claims and expiry.
	Verify(ctx context.Context, token string) (authz.Claims, time.Time, error)
	// Anonymous reports whether requests without a token are let in,
	// with nil claims.
	Anonymous() bool
}

// Policy binds a request's claims to the rules; *authz.Policy implements
// it. It must be safe for concurrent use.
type Policy interface {
	Caller(claims authz.Claims) *authz.Caller
}

// caller is the authenticated identity of one request.
type caller struct {
	claims authz.Claims // nil: anonymous
	guard  store.Guard  // claims bound to the policy
}

type callerKey struct{}

// callerFrom returns the caller stored by authenticate. Handlers run only
// behind authenticate, so it is always there.
func callerFrom(ctx context.Context) *caller {
	c, _ := ctx.Value(callerKey{}).(*caller)
	return c
}

// guard returns the request's Guard; without a caller (never, behind
// authenticate) it denies everything.
func guard(r *http.Request) store.Guard {
	if c := callerFrom(r.Context()); c != nil {
		return c.guard
	}
	return denyAll{}
}

// denyAll is the fail-closed Guard.
type denyAll struct{}

func (denyAll) ReadFilter(*walrelay.Model, *[]any) (string, error) { return "false", nil }

func (denyAll) Allow(*walrelay.Model, string, walrelay.Row) bool { return false }

// authenticate verifies the request's bearer token, rate-limits the
// caller and stores it in the request context. The token is taken from
// the Authorization header only, never from the URL: URLs end up in logs.
// No header: anonymous (nil claims) if the Authenticator allows it, else
// 401. A header that is not "Bearer <token>", or a token that does not
// verify, is always 401, anonymous access or not.
func (h *handler) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, err := h.claims(r)
		if err != nil {
			if r.Header.Get("Authorization") != "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="walrelay", error="invalid_token"`)
			}
			h.fail(w, r, err)
			return
		}
		if wait, ok := h.limits.allow(limitKey(r, claims, h.cfg.TrustProxy)); !ok {
			secs := int((wait + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", fmt.Sprint(max(secs, 1)))
			h.fail(w, r, fmt.Errorf("%w: too many requests, retry in %d s", walrelay.ErrRateLimited, max(secs, 1)))
			return
		}
		c := &caller{claims: claims, guard: h.policy.Caller(claims)}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
	})
}

// claims returns the verified claims of r's token, nil for anonymous.
func (h *handler) claims(r *http.Request) (authz.Claims, error) {
	header := r.Header.Values("Authorization")
	if len(header) == 0 {
		if h.auth.Anonymous() {
			return nil, nil
		}
		if r.URL.Query().Has("token") {
			return nil, fmt.Errorf("%w: missing token (send it as Authorization: Bearer; ?token= is not accepted over REST)", walrelay.ErrUnauthorized)
		}
		return nil, fmt.Errorf("%w: missing token", walrelay.ErrUnauthorized)
	}
	if len(header) > 1 {
		return nil, fmt.Errorf("%w: more than one Authorization header", walrelay.ErrUnauthorized)
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(header[0]), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, fmt.Errorf("%w: Authorization must be \"Bearer \" followed by the token", walrelay.ErrUnauthorized)
	}
	claims, _, err := h.auth.Verify(r.Context(), token)
	if err != nil {
		return nil, err
	}
	if claims == nil {
		// A token was given: it must name someone. Never anonymous.
		return nil, fmt.Errorf("%w: token has no claims", walrelay.ErrUnauthorized)
	}
	return claims, nil
}

// limitKey is the rate-limit bucket of a request: the token's subject, or
// the client address for anonymous callers and tokens without sub (see
// package clientip; X-Forwarded-For only with trustProxy).
func limitKey(r *http.Request, claims authz.Claims, trustProxy bool) string {
	if sub, ok := claims.Subject(); ok {
		return fmt.Sprintf("sub:%T:%v", sub, sub)
	}
	return "ip:" + clientip.Of(r, trustProxy)
}
