// Package scaffold writes a first walrelay.yaml for an existing database
// (`walrelay init`): it reads the tables of the catalog, suggests a model
// for each (name, owner column, hidden columns, whether it looks live),
// renders the config with comments and safe rules, and works out the SQL
// the database still needs before walrelay can serve it (Needs).
package scaffold

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Querier runs a query; *pgx.Conn, *pgxpool.Pool and pgx.Tx are Queriers.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Table is one table of the catalog.
type Table struct {
	Schema, Name string
	Columns      []Column
	// PrimaryKey lists the primary key's columns (none, one or more).
	PrimaryKey []string
}

// Column is one column of a Table.
type Column struct {
	Name    string
	Type    string // format_type, e.g. "bigint", "text"
	TypeOID uint32
	NotNull bool
}

// Qualified returns schema.name.
func (t Table) Qualified() string { return t.Schema + "." + t.Name }

// Column returns the named column, or nil.
func (t Table) Column(name string) *Column {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i]
		}
	}
	return nil
}

const tablesSQL = `
select n.nspname, c.relname, c.oid
from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p') and not c.relispartition and n.nspname = any($1)
order by n.nspname, c.relname`

const columnsSQL = `
select a.attname, format_type(a.atttypid, a.atttypmod), a.atttypid, a.attnotnull
from pg_catalog.pg_attribute a
where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped
order by a.attnum`

const pkSQL = `
select a.attname from pg_catalog.pg_index i
join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
where i.indrelid = $1 and i.indisprimary
order by array_position(i.indkey::int2[], a.attnum)`

// Inspect reads the tables (plain and partitioned, not partitions) of the
// given schemas, in schema and name order.
func Inspect(ctx context.Context, q Querier, schemas []string) ([]Table, error) {
	rows, err := q.Query(ctx, tablesSQL, schemas)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	type rel struct {
		t   Table
		oid uint32
	}
	var rels []rel
	var r rel
	if _, err := pgx.ForEachRow(rows, []any{&r.t.Schema, &r.t.Name, &r.oid}, func() error {
		rels = append(rels, r)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	out := make([]Table, 0, len(rels))
	for _, r := range rels {
		t := r.t
		rows, err := q.Query(ctx, columnsSQL, r.oid)
		if err != nil {
			return nil, fmt.Errorf("columns of %s: %w", t.Qualified(), err)
		}
		var c Column
		if _, err := pgx.ForEachRow(rows, []any{&c.Name, &c.Type, &c.TypeOID, &c.NotNull}, func() error {
			t.Columns = append(t.Columns, c)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("columns of %s: %w", t.Qualified(), err)
		}
		rows, err = q.Query(ctx, pkSQL, r.oid)
		if err != nil {
			return nil, fmt.Errorf("primary key of %s: %w", t.Qualified(), err)
		}
		if t.PrimaryKey, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return nil, fmt.Errorf("primary key of %s: %w", t.Qualified(), err)
		}
		out = append(out, t)
	}
	return out, nil
}
