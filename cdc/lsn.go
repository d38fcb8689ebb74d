package cdc

import (
	"github.com/jackc/pglogrepl"

	"github.com/walrelay/walrelay"
)

// parseLSN parses Postgres's "16/B374D848" form.
func parseLSN(s string) (walrelay.LSN, error) {
	l, err := pglogrepl.ParseLSN(s)
	return walrelay.LSN(l), err
}
