package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay"
)

// LoadModels resolves each model against the live catalog. The table must
// exist (the error names model and table) and have a single-column primary
// key; every column the config names (owner, hide) must exist (the error
// names model and column). It fills m.Columns, in attribute order without
// dropped columns, and m.PrimaryKey. A column is Generated when it is a
// generated column or an identity column GENERATED ALWAYS, that is when a
// client may not write it. An empty m.Schema means "public".
//
// Call it once at startup, before the models are shared.
func LoadModels(ctx context.Context, q Querier, models []*walrelay.Model) error {
	for _, m := range models {
		if err := loadModel(ctx, q, m); err != nil {
			return fmt.Errorf("model %s: %w", m.Name, err)
		}
	}
	return nil
}

const tableSQL = `
select c.oid, c.relkind::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
where n.nspname = $1 and c.relname = $2`

const columnsSQL = `
select a.attname, a.atttypid, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       a.atthasdef or a.attidentity <> '', a.attgenerated <> '' or a.attidentity = 'a'
from pg_attribute a
where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped
order by a.attnum`

const primaryKeySQL = `
select a.attname from pg_index i
join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
where i.indrelid = $1 and i.indisprimary`

func loadModel(ctx context.Context, q Querier, m *walrelay.Model) error {
	if m.Schema == "" {
		m.Schema = "public"
	}
	cols, pk, err := ReadTable(ctx, q, m.Schema, m.Table)
	if err != nil {
		return err
	}
	resolved := *m
	resolved.Columns, resolved.PrimaryKey = cols, pk
	var errs []error
	if m.Owner != "" && resolved.Column(m.Owner) == nil {
		errs = append(errs, fmt.Errorf("owner column %q does not exist in %s", m.Owner, m.QualifiedTable()))
	}
	for _, h := range m.Hide {
		if resolved.Column(h) == nil {
			errs = append(errs, fmt.Errorf("hidden column %q does not exist in %s", h, m.QualifiedTable()))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	m.Columns, m.PrimaryKey = cols, pk
	return nil
}

// ErrTableMismatch is wrapped by ReadTable's errors about the table itself
// (missing, not a table, no single-column primary key), as opposed to
// errors reading the catalog.
var ErrTableMismatch = errors.New("table does not fit")

// tableError is a problem with the table; its text is the problem alone.
type tableError struct{ msg string }

func (e *tableError) Error() string        { return e.msg }
func (e *tableError) Is(target error) bool { return target == ErrTableMismatch }

func mismatchf(format string, args ...any) error {
	return &tableError{msg: fmt.Sprintf(format, args...)}
}

// ReadTable reads the columns of table schema.table from the catalog, in
// attribute order without dropped columns, and its single-column primary
// key (see LoadModels). A table that is missing, is not a table or lacks a
// single-column primary key gives an error wrapping ErrTableMismatch.
func ReadTable(ctx context.Context, q Querier, schema, table string) ([]walrelay.Column, string, error) {
	qualified := schema + "." + table
	var (
		oid     uint32
		relkind string
	)
	err := forEach(ctx, q, tableSQL, []any{schema, table}, []any{&oid, &relkind}, func() {})
	if err != nil {
		return nil, "", fmt.Errorf("look up table %s: %w", qualified, err)
	}
	if oid == 0 {
		return nil, "", mismatchf("table %s does not exist", qualified)
	}
	if relkind != "r" && relkind != "p" {
		return nil, "", mismatchf("%s is not a table", qualified)
	}

	var cols []walrelay.Column
	var c walrelay.Column
	err = forEach(ctx, q, columnsSQL, []any{oid}, []any{&c.Name, &c.TypeOID, &c.Type, &c.NotNull, &c.HasDefault, &c.Generated},
		func() { cols = append(cols, c) })
	if err != nil {
		return nil, "", fmt.Errorf("read columns of %s: %w", qualified, err)
	}

	var pk []string
	var name string
	if err = forEach(ctx, q, primaryKeySQL, []any{oid}, []any{&name}, func() { pk = append(pk, name) }); err != nil {
		return nil, "", fmt.Errorf("read primary key of %s: %w", qualified, err)
	}
	switch {
	case len(pk) == 0:
		return nil, "", mismatchf("table %s has no primary key", qualified)
	case len(pk) > 1:
		return nil, "", mismatchf("table %s has a primary key of %d columns; walrelay needs a single column", qualified, len(pk))
	}
	return cols, pk[0], nil
}

// forEach runs a query and calls fn after scanning each row into dest.
func forEach(ctx context.Context, q Querier, sql string, args, dest []any, fn func()) error {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	_, err = pgx.ForEachRow(rows, dest, func() error { fn(); return nil })
	return err
}
