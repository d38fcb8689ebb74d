package authz

import "github.com/walrelay/walrelay"

// Caller is one client's view of the policy: the claims of its verified
// token (nil for anonymous) bound to the compiled rules. It is immutable and
// safe for concurrent use; a refreshed token makes a new Caller.
//
// Caller implements store.Guard, so REST and WebSocket requests run the
// same checks.
type Caller struct {
	p      *Policy
	claims Claims
}

// Caller binds claims to the policy.
func (p *Policy) Caller(claims Claims) *Caller { return &Caller{p: p, claims: claims} }

// Claims returns the caller's claims (nil when anonymous).
func (c *Caller) Claims() Claims { return c.claims }

// ReadFilter returns the model's read rule as a SQL boolean expression over
// its columns, values appended to args as parameters ("false" without a
// read rule).
func (c *Caller) ReadFilter(m *walrelay.Model, args *[]any) (string, error) {
	return c.p.ReadSQL(m, c.claims, args)
}

// Allow reports whether the caller may perform action ("subscribe", "read",
// "create", "update" or "delete") on row; row is nil for subscribe. A
// missing rule denies.
func (c *Caller) Allow(m *walrelay.Model, action string, row walrelay.Row) bool {
	return c.p.Allow(m, Action(action), c.claims, row)
}

// Refuses reports whether the model has no rule for action, so that every
// row is refused whoever asks (store.Refuser).
func (c *Caller) Refuses(m *walrelay.Model, action string) bool {
	return c.p.Rule(m, Action(action)) == nil
}
