package cdc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay"
)

var identityNames = map[string]string{"d": "DEFAULT", "n": "NOTHING", "i": "USING INDEX", "f": "FULL"}

// ensureReplicaIdentity makes or checks REPLICA IDENTITY FULL on the
// models' tables, so updates and deletes carry the whole old row.
func ensureReplicaIdentity(ctx context.Context, conn *pgx.Conn, models []*walrelay.Model, manage bool) error {
	var missing []string
	for _, m := range models {
		var ident string
		err := conn.QueryRow(ctx, `select c.relreplident::text from pg_catalog.pg_class c
			join pg_catalog.pg_namespace n on n.oid = c.relnamespace
			where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p')`, m.Schema, m.Table).Scan(&ident)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("replica identity: table %s (model %s) does not exist", m.QualifiedTable(), m.Name)
		}
		if err != nil {
			return fmt.Errorf("replica identity of %s: %w", m.QualifiedTable(), err)
		}
		if ident == "f" {
			continue
		}
		table := pgx.Identifier{m.Schema, m.Table}.Sanitize()
		if !manage {
			missing = append(missing, fmt.Sprintf("table %s has REPLICA IDENTITY %s; run: ALTER TABLE %s REPLICA IDENTITY FULL;",
				m.QualifiedTable(), identityNames[ident], table))
			continue
		}
		if _, err := conn.Exec(ctx, "alter table "+table+" replica identity full"); err != nil {
			return fmt.Errorf("set replica identity full on %s: %w", m.QualifiedTable(), err)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w (or set realtime.manage_replica_identity: true): %s",
			ErrReplicaIdentity, strings.Join(missing, " "))
	}
	return nil
}
