package ws

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/authz"
	"github.com/walrelay/walrelay/hub"
)

// Authenticator verifies tokens; *authz.Verifier implements it. It must be
// safe for concurrent use.
type Authenticator interface {
	// Verify checks token and returns its claims and expiry. Errors wrap
	// walrelay.ErrUnauthorized with a client-safe reason.
	Verify(ctx context.Context, token string) (authz.Claims, time.Time, error)
	// Anonymous reports whether clients without a token are let in, with
	// nil claims.
	Anonymous() bool
}

// Policy is the compiled rules; *authz.Policy implements it. It must be
// safe for concurrent use.
type Policy interface {
	// Caller binds claims to the rules: the subscribe check and the Guard
	// passed to the store.
	Caller(claims authz.Claims) *authz.Caller
	// Rule returns m's rule for action a (nil: none, which denies); the
	// read rule is used to route events (see Server.access).
	Rule(m *walrelay.Model, a authz.Action) *authz.Rule
}

// closeReasonMax is the longest close reason a close frame carries.
const closeReasonMax = 120

// tokenFromRequest returns the token of an upgrade request: the
// Authorization header's bearer token, else the token query parameter. A
// non-empty Authorization header that is not "Bearer <token>" is an error.
func tokenFromRequest(r *http.Request) (string, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		tok = strings.TrimSpace(tok)
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			return "", fmt.Errorf("%w: Authorization header must be \"Bearer <token>\"", walrelay.ErrUnauthorized)
		}
		return tok, nil
	}
	return r.URL.Query().Get("token"), nil
}

// identity is a verified token: its claims (nil when anonymous), expiry
// (zero: never) and the user it counts against the per-user connection
// limit (the sub claim; hasUser false without one).
type identity struct {
	claims  authz.Claims
	expiry  time.Time
	user    string
	hasUser bool
}

func newIdentity(claims authz.Claims, exp time.Time) identity {
	id := identity{claims: claims, expiry: exp}
	if sub, ok := claims.Subject(); ok {
		id.user, id.hasUser = walrelay.KeyOf(sub), true
	}
	return id
}

// closeReason makes a short close reason out of err's client-safe text.
func closeReason(err error) string {
	msg := err.Error()
	if !errors.Is(err, walrelay.ErrUnauthorized) {
		msg = "unauthorized"
	}
	if len(msg) > closeReasonMax {
		msg = msg[:closeReasonMax]
	}
	return msg
}

// setIdentity makes id the connection's identity: its Caller for
// subscribe checks and requests, and its expiry. Read loop (or before it
// starts) only.
func (c *conn) setIdentity(id identity) {
	c.caller.Store(c.s.policy.Caller(id.claims))
	c.user, c.hasUser = id.user, id.hasUser
	if c.expiryTimer != nil {
		c.expiryTimer.Stop()
		c.expiryTimer = nil
	}
	if id.expiry.IsZero() {
		c.expiry.Store(0)
		return
	}
	c.expiry.Store(id.expiry.UnixNano())
	c.expiryTimer = time.AfterFunc(time.Until(id.expiry), func() {
		c.closeWith(closeUnauthorized, "token expired")
	})
}

// expired reports whether the connection's token has expired. Safe from
// any goroutine.
func (c *conn) expired(now time.Time) bool {
	e := c.expiry.Load()
	return e != 0 && now.UnixNano() >= e
}

// awaitAuth starts the timer within which a connection without a token
// must send an auth message.
func (c *conn) awaitAuth() {
	c.authTimer = time.AfterFunc(c.s.cfg.AuthTimeout, func() {
		c.closeWith(closeUnauthorized, "no auth message in time")
	})
}

// stopTimers stops the auth, expiry and heartbeat timers; serve calls it
// at the end.
func (c *conn) stopTimers() {
	c.hbMu.Lock()
	if c.hbTimer != nil {
		c.hbTimer.Stop()
		c.hbTimer = nil
	}
	c.hbMu.Unlock()
	if c.authTimer != nil {
		c.authTimer.Stop()
	}
	if c.expiryTimer != nil {
		c.expiryTimer.Stop()
	}
}

// authenticate serves {"type":"auth","token":..}: the first message of a
// connection that came without a token, or a refresh. A token that does
// not verify closes the connection with 4401; a new user over the per-user
// limit closes it with 4429. On success the new claims apply at once to
// every subscription (see adopt) and the client gets
// {"type":"authenticated","ref":..}.
func (c *conn) authenticate(msg inbound) error {
	if msg.Token == "" {
		c.closeWith(closeUnauthorized, "auth message without a token")
		return nil
	}
	id, err := c.verify(msg.Token)
	if err != nil {
		c.closeWith(closeUnauthorized, closeReason(err))
		return nil
	}
	if err := c.adopt(id); err != nil {
		c.closeWith(closeRateLimited, "too many connections for this user")
		return nil
	}
	c.send(marshal(authenticatedMsg{Type: "authenticated", Ref: msg.Ref}))
	return nil
}

// verify checks a token sent on the connection. Its errors wrap
// walrelay.ErrUnauthorized with a client-safe reason.
func (c *conn) verify(token string) (identity, error) {
	claims, exp, err := c.s.auth.Verify(c.ctx, token)
	if err != nil {
		return identity{}, err
	}
	return newIdentity(claims, exp), nil
}

// adopt makes id the connection's identity: a new user is counted against
// the per-user connection limit (over it: an error wrapping
// walrelay.ErrRateLimited, and nothing changes), the auth timer stops,
// and the new claims apply at once to every subscription (reauthorize).
// Read loop only.
func (c *conn) adopt(id identity) error {
	if id.hasUser && (!c.hasUser || id.user != c.user) {
		if !c.s.limits.acquireUser(id.user) {
			return fmt.Errorf("%w: too many connections for this user", walrelay.ErrRateLimited)
		}
		if c.hasUser {
			c.s.limits.releaseUser(c.user)
		}
	} else if c.hasUser && !id.hasUser {
		c.s.limits.releaseUser(c.user)
	}
	if c.authTimer != nil {
		c.authTimer.Stop()
		c.authTimer = nil
	}
	c.setIdentity(id)
	c.authed = true
	c.reauthorize()
	return nil
}

// reauthorize re-checks every subscription against the current claims: one
// the subscribe rule no longer allows is dropped and the client told (see
// wire.revoked); the others are re-keyed in the hub for the new read
// access, each in one step. Custom channel subscriptions are re-checked
// too (see reauthorizeCustom). Read loop only.
func (c *conn) reauthorize() {
	caller := c.caller.Load()
	for key, sub := range c.subs {
		if !caller.Allow(sub.model, string(authz.ActionSubscribe), nil) {
			c.dropSubscription(key)
			c.w.revoked(sub.hs.Channel.String(), sub.owner)
			continue
		}
		sub.hs, _ = c.s.hub.Replace(sub.hs, sub.hs.Filter, c.s.access(sub.model, caller.Claims()))
	}
	c.reauthorizeCustom()
}

// access resolves model m's read rule for claims into the hub's terms: a
// key for indexed rules (see authz.Rule.SubscriberKey), else a function
// that evaluates the rule per row (failing closed, with a rate-limited log
// line, when it cannot be evaluated). Without a read rule nothing is read.
func (s *Server) access(m *walrelay.Model, claims authz.Claims) hub.Access {
	rule := s.policy.Rule(m, authz.ActionRead)
	if rule == nil {
		return hub.Access{None: true}
	}
	if _, ok := rule.Index(); ok {
		key, all, none := rule.SubscriberKey(claims)
		return hub.Access{Key: key, All: all, None: none}
	}
	return hub.Access{Allow: s.allowFunc(m, rule, claims)}
}

// indexReadRules declares the indexable read rules of the realtime models
// to the hub, so that it routes their events by key.
func (s *Server) indexReadRules() {
	for _, m := range s.schema.Realtime() {
		rule := s.policy.Rule(m, authz.ActionRead)
		if _, ok := rule.Index(); ok {
			s.hub.SetReadIndex(m.Name, s.rowKeyFunc(m, rule))
		} else {
			s.hub.SetReadIndex(m.Name, nil)
		}
	}
}
