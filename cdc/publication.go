package cdc

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay"
)

// ensurePublication makes publication name publish all changes of exactly
// the models' tables.
func ensurePublication(ctx context.Context, conn *pgx.Conn, name string, models []*walrelay.Model) error {
	want := map[string]bool{}
	var list []string
	for _, m := range models {
		if !want[m.QualifiedTable()] {
			want[m.QualifiedTable()] = true
			list = append(list, pgx.Identifier{m.Schema, m.Table}.Sanitize())
		}
	}
	pub := pgx.Identifier{name}.Sanitize()
	tables := strings.Join(list, ", ")

	var allTables, ins, upd, del, trunc bool
	err := conn.QueryRow(ctx, `select puballtables, pubinsert, pubupdate, pubdelete, pubtruncate
		from pg_catalog.pg_publication where pubname = $1`, name).Scan(&allTables, &ins, &upd, &del, &trunc)
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err := conn.Exec(ctx, "create publication "+pub+" for table "+tables); err != nil {
			return fmt.Errorf("create publication %s: %w", name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("read publication %s: %w", name, err)
	}
	if allTables {
		return fmt.Errorf("publication %s is FOR ALL TABLES; walrelay manages its table list: drop it or set realtime.publication to another name", name)
	}
	if !ins || !upd || !del || !trunc {
		if _, err := conn.Exec(ctx, "alter publication "+pub+" set (publish = 'insert, update, delete, truncate')"); err != nil {
			return fmt.Errorf("alter publication %s: %w", name, err)
		}
	}
	rows, err := conn.Query(ctx, "select schemaname || '.' || tablename from pg_catalog.pg_publication_tables where pubname = $1", name)
	if err != nil {
		return fmt.Errorf("read publication %s tables: %w", name, err)
	}
	have, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("read publication %s tables: %w", name, err)
	}
	slices.Sort(have)
	if slices.Equal(have, slices.Sorted(maps.Keys(want))) {
		return nil
	}
	if _, err := conn.Exec(ctx, "alter publication "+pub+" set table "+tables); err != nil {
		return fmt.Errorf("alter publication %s set table: %w", name, err)
	}
	return nil
}
