package store

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/walrelay/walrelay"
)

// DriftError is a query that failed because the table no longer has the
// columns or types of the model version it was built from: a column was
// dropped, renamed or retyped since (ALTER TABLE), or a connection's
// prepared statement predates the change. It is
// walrelay.ErrSchemaChanged; its text is client-safe, Cause is the
// database error, for the log.
type DriftError struct {
	Model string
	Cause error
}

func (e *DriftError) Error() string {
	return "model " + e.Model + ": " + walrelay.ErrSchemaChanged.Error()
}

// Is makes a DriftError walrelay.ErrSchemaChanged (and so
// walrelay.ErrUnavailable).
func (e *DriftError) Is(target error) bool {
	return target == walrelay.ErrSchemaChanged || target == walrelay.ErrUnavailable
}

// driftCodes are the SQLSTATEs of statements that no longer fit the table.
var driftCodes = map[string]bool{
	"42703": true, // undefined_column
	"42P01": true, // undefined_table
	"42804": true, // datatype_mismatch
	"42883": true, // undefined_function (an operator for the old type)
	"42846": true, // cannot_coerce
}

// drift turns err into a *DriftError when the database error it wraps
// says the statement no longer fits m's table; other errors are returned
// as they are.
func drift(m *walrelay.Model, err error) error {
	var pg *pgconn.PgError
	if err == nil || !errors.As(err, &pg) {
		return err
	}
	if driftCodes[pg.Code] || pg.Code == "0A000" && strings.Contains(pg.Message, "cached plan must not change result type") {
		return &DriftError{Model: m.Name, Cause: err}
	}
	return err
}
