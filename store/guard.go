package store

import (
	"errors"

	"github.com/walrelay/walrelay"
)

// Guard restricts what one caller may read and write. *authz.Caller
// implements it. A Guard must be safe for concurrent use; the store calls
// it during a request only, never keeping it.
type Guard interface {
	// ReadFilter returns a SQL boolean expression over m's (unqualified)
	// columns that holds for the rows the caller may read, appending its
	// values to args and numbering its parameters after those already in
	// args ($len+1, ...). It must splice nothing client-supplied into the
	// text.
	ReadFilter(m *walrelay.Model, args *[]any) (string, error)
	// Allow reports whether the caller may do action ("create", "update",
	// "delete") on row, the full row including hidden columns.
	Allow(m *walrelay.Model, action string, row walrelay.Row) bool
}

// Refuser is implemented by a Guard that knows before any SQL runs that it
// refuses an action on every row (the model has no rule for it). The store
// then answers ErrForbidden without touching the table, so a database role
// without write grants still gets a 403, not a database error.
type Refuser interface {
	Refuses(m *walrelay.Model, action string) bool
}

func refuses(g Guard, m *walrelay.Model, action string) bool {
	r, ok := g.(Refuser)
	return ok && r.Refuses(m, action)
}

// AllowAll is the Guard of trusted callers and tests: it reads every row
// and may write every row.
var AllowAll Guard = allowAll{}

type allowAll struct{}

func (allowAll) ReadFilter(*walrelay.Model, *[]any) (string, error) { return "true", nil }

func (allowAll) Allow(*walrelay.Model, string, walrelay.Row) bool { return true }

// errNilGuard is returned for a nil Guard: failing closed, as an internal
// error, since it is a wiring bug and not the client's fault.
var errNilGuard = errors.New("store: nil guard")

// readFilter returns g's read filter in parentheses, its values appended
// to args.
func readFilter(g Guard, m *walrelay.Model, args *[]any) (string, error) {
	if g == nil {
		return "", errNilGuard
	}
	rf, err := g.ReadFilter(m, args)
	if err != nil {
		return "", err
	}
	return "(" + rf + ")", nil
}
