package pgjson

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"
)

// Querier runs a query; *pgx.Conn, *pgxpool.Pool and pgx.Tx satisfy it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// pgTypeRow is the part of pg_type that Register needs.
type pgTypeRow struct {
	oid      uint32
	typtype  byte   // b base, d domain, e enum, c composite, r range, ...
	category byte   // 'A' for arrays
	base     uint32 // domains: the underlying type
	elem     uint32 // arrays: the element type
	delim    byte
}

// Register loads from pg_type what Decode needs for the given OIDs and the
// types they are built on: enums decode as strings, domains as their base
// type, arrays by their element type. OIDs that are already known are
// skipped; other types (composites, ranges, extension types such as citext)
// are registered as strings. Register may run while other goroutines call
// Decode; concurrent Register calls are serialized.
func (d *Decoder) Register(ctx context.Context, q Querier, oids []uint32) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	cur := *d.types.Load()
	rows := map[uint32]pgTypeRow{}
	want := unknown(cur, rows, oids)
	for depth := 0; len(want) > 0; depth++ {
		if depth > 16 {
			return fmt.Errorf("register types: type nesting too deep")
		}
		got, err := loadTypes(ctx, q, want)
		if err != nil {
			return fmt.Errorf("register types: %w", err)
		}
		var next []uint32
		for _, oid := range want {
			r, ok := got[oid]
			if !ok {
				r = pgTypeRow{oid: oid} // vanished type: decode as text
			}
			rows[oid] = r
			next = append(next, r.base, r.elem)
		}
		want = unknown(cur, rows, next)
	}
	if len(rows) == 0 {
		return nil
	}
	out := maps.Clone(cur)
	var resolve func(oid uint32, depth int) typeInfo
	resolve = func(oid uint32, depth int) typeInfo {
		if ti, ok := out[oid]; ok || depth > 16 {
			return ti
		}
		r := rows[oid]
		var ti typeInfo
		switch {
		case r.typtype == 'd':
			ti = resolve(r.base, depth+1)
		case r.category == 'A' && r.elem != 0:
			delim := rows[r.elem].delim // unset for built-in elements
			if delim == 0 {
				delim = ','
			}
			resolve(r.elem, depth+1)
			ti = typeInfo{kind: kindArray, elem: r.elem, delim: delim}
		default:
			ti = typeInfo{kind: kindString}
		}
		out[oid] = ti
		return ti
	}
	for _, oid := range slices.Sorted(maps.Keys(rows)) {
		resolve(oid, 0)
	}
	d.types.Store(&out)
	return nil
}

// unknown returns the OIDs of oids that are neither in cur nor loaded yet.
func unknown(cur map[uint32]typeInfo, loaded map[uint32]pgTypeRow, oids []uint32) []uint32 {
	var out []uint32
	for _, oid := range oids {
		if oid == 0 {
			continue
		}
		if _, ok := cur[oid]; ok {
			continue
		}
		if _, ok := loaded[oid]; ok || slices.Contains(out, oid) {
			continue
		}
		out = append(out, oid)
	}
	return out
}

func loadTypes(ctx context.Context, q Querier, oids []uint32) (map[uint32]pgTypeRow, error) {
	rows, err := q.Query(ctx, `select oid, typtype::text, typcategory::text, typbasetype, typelem, typdelim::text
		from pg_catalog.pg_type where oid = any($1)`, oids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[uint32]pgTypeRow{}
	for rows.Next() {
		var r pgTypeRow
		var typtype, category, delim string
		if err := rows.Scan(&r.oid, &typtype, &category, &r.base, &r.elem, &delim); err != nil {
			return nil, err
		}
		r.typtype, r.category, r.delim = first(typtype), first(category), first(delim)
		out[r.oid] = r
	}
	return out, rows.Err()
}

func first(s string) byte {
	if s == "" {
		return 0
	}
	return s[0]
}
