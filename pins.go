package walrelay

import (
	"fmt"
	"slices"
	"strings"
)

// Pin is one column the config depends on: the primary key, the owner
// column, a hidden column, or a column a rule reads. Its name and type are
// those resolved at startup; rules were compiled against them, so a table
// version without a column of that name and type cannot be served safely.
type Pin struct {
	Column  string
	TypeOID uint32
	// Type is the SQL type at startup, for messages.
	Type string
	// Use says what depends on the column: "primary key", "owner",
	// "hide", or "read rule" and the like.
	Use string
	// Source is the config position that names it ("walrelay.yaml:14").
	Source string
}

// Mismatch says why a version of a model's table does not fit the config.
// Its Error is for the server log; Client is what clients are told.
type Mismatch struct {
	Model string
	// Sources are the config positions of what no longer fits, in order,
	// without repeats.
	Sources []string
	// Problems describe each problem in full, each prefixed with its
	// source.
	Problems []string
}

// Add records one problem found at config position source.
func (e *Mismatch) Add(source, format string, args ...any) {
	if !slices.Contains(e.Sources, source) {
		e.Sources = append(e.Sources, source)
	}
	e.Problems = append(e.Problems, source+": "+fmt.Sprintf(format, args...))
}

// Error lists every problem, for the log.
func (e *Mismatch) Error() string {
	return "model " + e.Model + " stopped: " + strings.Join(e.Problems, "; ")
}

// Client returns the error clients get for the stopped model: it wraps
// ErrUnavailable and names the model and the config lines, but no column
// (the names of hidden columns stay on the server).
func (e *Mismatch) Client() error {
	return fmt.Errorf("%w: model %s is stopped: its table no longer matches %s (details in the server log); it resumes when the table matches again",
		ErrUnavailable, e.Model, strings.Join(e.Sources, ", "))
}

// Equal reports whether e and o describe the same problems.
func (e *Mismatch) Equal(o *Mismatch) bool {
	if e == nil || o == nil {
		return e == o
	}
	return e.Model == o.Model && slices.Equal(e.Problems, o.Problems)
}

// Available returns nil for a working model, and the client error of its
// Mismatch (wrapping ErrUnavailable) for a stopped one.
func (m *Model) Available() error {
	if m.Unavailable == nil {
		return nil
	}
	return m.Unavailable.Client()
}

// CheckPins compares a version of the table's columns (cols, by name and
// type OID; Type is used in messages when set) with m's pins, and returns
// the mismatch, or nil when every pinned column is there with its type.
// Problems are added to into, or to a new Mismatch when into is nil.
func (m *Model) CheckPins(cols []Column, into *Mismatch) *Mismatch {
	for _, p := range m.Pins {
		i := slices.IndexFunc(cols, func(c Column) bool { return c.Name == p.Column })
		if i >= 0 && cols[i].TypeOID == p.TypeOID {
			continue
		}
		if into == nil {
			into = &Mismatch{Model: m.Name}
		}
		if i < 0 {
			into.Add(p.Source, "%s column %q is no longer in %s (dropped or renamed)", p.Use, p.Column, m.QualifiedTable())
			continue
		}
		now := cols[i].Type
		if now == "" {
			now = fmt.Sprintf("another type (oid %d)", cols[i].TypeOID)
		}
		into.Add(p.Source, "%s column %q of %s changed type from %s to %s", p.Use, p.Column, m.QualifiedTable(), p.Type, now)
	}
	return into
}
