package store

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/walrelay/walrelay"
)

// writeError translates a Postgres error from a write into a sentinel
// error with a client-safe message: constraint violations to ErrConflict
// (unique, foreign key, exclusion) or ErrUnprocessable (not null, check,
// invalid or out-of-range values, naming column when known). Other errors
// are returned wrapped, without a sentinel: an internal error.
func writeError(err error, column string) error {
	var pg *pgconn.PgError
	if !errors.As(err, &pg) {
		return err
	}
	switch {
	case pg.Code == "23505":
		return constraintError{fmt.Errorf("%w: duplicate value violates unique constraint %q", walrelay.ErrConflict, pg.ConstraintName)}
	case pg.Code == "23503":
		return constraintError{fmt.Errorf("%w: foreign key constraint %q is violated", walrelay.ErrConflict, pg.ConstraintName)}
	case pg.Code == "23P01":
		return constraintError{fmt.Errorf("%w: exclusion constraint %q is violated", walrelay.ErrConflict, pg.ConstraintName)}
	case pg.Code == "23502":
		return constraintError{fmt.Errorf("%w: column %q must not be null", walrelay.ErrUnprocessable, pg.ColumnName)}
	case pg.Code == "23514":
		return constraintError{fmt.Errorf("%w: check constraint %q is violated", walrelay.ErrUnprocessable, pg.ConstraintName)}
	case pg.Code == "428C9":
		return fmt.Errorf("%w: a generated column cannot be written", walrelay.ErrBadRequest)
	case strings.HasPrefix(pg.Code, "22"):
		if column != "" {
			return fmt.Errorf("%w: invalid value for column %q (%s)", walrelay.ErrUnprocessable, column, dataProblem(pg.Code))
		}
		return fmt.Errorf("%w: invalid value (%s)", walrelay.ErrUnprocessable, dataProblem(pg.Code))
	}
	return fmt.Errorf("postgres error %s: %w", pg.Code, err)
}

// constraintError marks a write's integrity constraint violation (SQLSTATE
// class 23): it tells about other rows or the table, so a caller whose write
// the rule refuses must get forbidden instead (see Store.mayCreate).
type constraintError struct{ error }

func (e constraintError) Unwrap() error { return e.error }

// isConstraintError reports whether err is, or wraps, a constraintError.
func isConstraintError(err error) bool {
	var c constraintError
	return errors.As(err, &c)
}

// readError translates a Postgres error from a read: a data exception
// means a filter operand, id or page token that the column's type rejects,
// a bad request. Other errors are internal.
func readError(what string, err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && strings.HasPrefix(pg.Code, "22") {
		return fmt.Errorf("%w: invalid id or filter value (%s)", walrelay.ErrBadRequest, dataProblem(pg.Code))
	}
	return fmt.Errorf("%s: %w", what, err)
}

// invalidID is the error for an id that the primary key's type rejects
// (err is the data exception), naming the id, the key and its type.
func invalidID(m *walrelay.Model, id string, err error) error {
	var pg *pgconn.PgError
	problem := "rejected by the column's type"
	if errors.As(err, &pg) {
		problem = dataProblem(pg.Code)
	}
	if len(id) > 64 {
		id = id[:64] + "..."
	}
	typ := "?"
	if c := m.Column(m.PrimaryKey); c != nil {
		typ = c.Type
	}
	return fmt.Errorf("%w: invalid id %q for %s: its primary key %s is %s (%s)", walrelay.ErrBadRequest, id, m.Name, m.PrimaryKey, typ, problem)
}

// invalidFilterValue is the error for a filter operand that the column's
// type rejected in SQL (err is the data exception); cols are the filter's
// columns that only the database checks (filter.Filter.DatabaseChecked).
func invalidFilterValue(cols []string, err error) error {
	var pg *pgconn.PgError
	problem := "rejected by the column's type"
	if errors.As(err, &pg) {
		problem = dataProblem(pg.Code)
	}
	if len(cols) == 1 {
		return fmt.Errorf("%w: %s: the value is %s", walrelay.ErrInvalidFilter, cols[0], problem)
	}
	return fmt.Errorf("%w: a value of %s is %s", walrelay.ErrInvalidFilter, strings.Join(cols, ", "), problem)
}

func isDataException(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && strings.HasPrefix(pg.Code, "22")
}

// dataProblem names a data exception by its SQLSTATE, in words that leak
// nothing of the database.
func dataProblem(code string) string {
	switch code {
	case "22P02", "22007", "22008":
		return "not valid for the column's type"
	case "22003":
		return "out of range"
	case "22001":
		return "too long"
	case "22021":
		return "invalid characters"
	}
	return "rejected by the column's type"
}
