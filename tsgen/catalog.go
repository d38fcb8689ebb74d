package tsgen

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay"
)

// Querier runs a query; *pgx.Conn, *pgxpool.Pool and pgx.Tx are Queriers.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// pgType is the part of pg_type (and pg_enum) the mapping needs.
type pgType struct {
	oid      uint32
	schema   string
	name     string
	typtype  string // b base, d domain, e enum, c composite, r range, ...
	category string // "A" for arrays
	base     uint32 // domains: the underlying type
	elem     uint32 // arrays: the element type
	labels   []string
}

// catalog holds what the generator read from the database: the types the
// models' columns use (with the types they are built on) and each column's
// declared array dimensions.
type catalog struct {
	types map[uint32]*pgType
	dims  map[string]map[string]int // qualified table -> column -> attndims
}

const typesSQL = `
select t.oid, n.nspname, t.typname, t.typtype::text, t.typcategory::text, t.typbasetype, t.typelem
from pg_catalog.pg_type t join pg_catalog.pg_namespace n on n.oid = t.typnamespace
where t.oid = any($1)`

const enumSQL = `
select enumtypid, enumlabel from pg_catalog.pg_enum
where enumtypid = any($1) order by enumtypid, enumsortorder`

const dimsSQL = `
select a.attname, a.attndims from pg_catalog.pg_attribute a
join pg_catalog.pg_class c on c.oid = a.attrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where n.nspname = $1 and c.relname = $2 and a.attnum > 0 and not a.attisdropped`

// maxTypeDepth bounds domain and array nesting while loading types.
const maxTypeDepth = 16

// loadCatalog reads the types of the models' columns, following domains
// to their base types and arrays to their element types, the labels of
// every enum among them, and the declared dimensions of every column.
func loadCatalog(ctx context.Context, q Querier, models []*walrelay.Model) (*catalog, error) {
	cat := &catalog{types: map[uint32]*pgType{}, dims: map[string]map[string]int{}}
	var want []uint32
	for _, m := range models {
		for _, c := range m.Columns {
			want = append(want, c.TypeOID)
		}
	}
	for depth := 0; ; depth++ {
		want = cat.missing(want)
		if len(want) == 0 {
			break
		}
		if depth > maxTypeDepth {
			return nil, fmt.Errorf("load types: type nesting too deep")
		}
		got, err := loadTypes(ctx, q, want)
		if err != nil {
			return nil, fmt.Errorf("load types: %w", err)
		}
		var next []uint32
		for _, oid := range want {
			t, ok := got[oid]
			if !ok {
				t = &pgType{oid: oid} // vanished type: sent as text
			}
			cat.types[oid] = t
			next = append(next, t.base, t.elem)
		}
		want = next
	}
	if err := cat.loadLabels(ctx, q); err != nil {
		return nil, fmt.Errorf("load enum labels: %w", err)
	}
	for _, m := range models {
		dims, err := loadDims(ctx, q, m)
		if err != nil {
			return nil, fmt.Errorf("model %s: read array dimensions: %w", m.Name, err)
		}
		cat.dims[m.QualifiedTable()] = dims
	}
	return cat, nil
}

// missing returns the distinct non-zero OIDs of oids not loaded yet.
func (c *catalog) missing(oids []uint32) []uint32 {
	var out []uint32
	for _, oid := range oids {
		if _, ok := c.types[oid]; oid != 0 && !ok && !slices.Contains(out, oid) {
			out = append(out, oid)
		}
	}
	return out
}

func loadTypes(ctx context.Context, q Querier, oids []uint32) (map[uint32]*pgType, error) {
	rows, err := q.Query(ctx, typesSQL, oids)
	if err != nil {
		return nil, err
	}
	out := map[uint32]*pgType{}
	var t pgType
	_, err = pgx.ForEachRow(rows, []any{&t.oid, &t.schema, &t.name, &t.typtype, &t.category, &t.base, &t.elem}, func() error {
		cp := t
		out[t.oid] = &cp
		return nil
	})
	return out, err
}

func (c *catalog) loadLabels(ctx context.Context, q Querier) error {
	var enums []uint32
	for oid, t := range c.types {
		if t.typtype == "e" {
			enums = append(enums, oid)
		}
	}
	if len(enums) == 0 {
		return nil
	}
	rows, err := q.Query(ctx, enumSQL, enums)
	if err != nil {
		return err
	}
	var (
		oid   uint32
		label string
	)
	_, err = pgx.ForEachRow(rows, []any{&oid, &label}, func() error {
		c.types[oid].labels = append(c.types[oid].labels, label)
		return nil
	})
	return err
}

func loadDims(ctx context.Context, q Querier, m *walrelay.Model) (map[string]int, error) {
	rows, err := q.Query(ctx, dimsSQL, m.Schema, m.Table)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	var (
		name string
		dims int32
	)
	_, err = pgx.ForEachRow(rows, []any{&name, &dims}, func() error {
		out[name] = int(dims)
		return nil
	})
	return out, err
}
