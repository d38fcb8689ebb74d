package filter_test

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/filter"
	"github.com/walrelay/walrelay/pgembed/pgtest"
	"github.com/walrelay/walrelay/pgjson"
	"github.com/walrelay/walrelay/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const agreementDDL = `
create type mood as enum ('sad', 'ok', 'happy');
create table t (
	id int primary key, i int, big bigint, n numeric(12,3), f float8, r real, s text, c char(4), v varchar(10),
	b bool, ts timestamptz, tsn timestamp, d date, tm time, u uuid, e mood, j jsonb, a int[]);
insert into t values
	(1, 1, 9007199254740993, 1.5, 0.1, 0.1, 'apple', 'ab', 'x', true, '2024-03-01 10:00:00+00', '2024-03-01 10:00:00', '2024-03-01', '10:00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'happy', '{"k":1}', '{1,2}'),
	(2, -5, -1, -2.25, 1e300, 3.5, 'Apple pie', 'abcd', 'x_y', false, '2024-03-01 09:59:59.999999+00', '2023-12-31 23:59:59', '2023-12-31', '23:59:59.5', 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'sad', '[]', '{}'),
	(3, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null),
	(4, 0, 0, 'NaN', 'NaN', '-Infinity', '', ' a', '100%', true, 'infinity', '-infinity', 'infinity', '00:00', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12', 'ok', 'null', '{null}'),
	(5, 2147483647, 9223372036854775807, 123456789.123, -0.0, 1e-30, 'ÄÖü ß', 'zz', 'Z', false, '2024-03-01 12:00:00+02', '2024-03-01 10:00:00.5', '2024-02-29', '12:00', 'c0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'happy', '{"k":2}', '{3}'),
	(6, 1, 1, 1.500, 0.30000000000000004, 0.3, 'a%b_c\d', 'a%', 'a\b', true, '2024-03-01T08:00:00Z', '2024-03-01', '2024-03-01', '10:00:00', null, 'sad', '{}', '{1}');`

// TestMatchAgreesWithPostgres evaluates each filter both ways, in SQL with
// Where and in Go with Match on the rows as the store decodes them, and
// requires the same rows.
func TestMatchAgreesWithPostgres(t *testing.T) {
	pool, _ := pgtest.MustPool(t, agreementDDL, store.ConfigurePool)
	ctx := context.Background()
	m := &walrelay.Model{Name: "T", Table: "t"}
	if err := store.LoadModels(ctx, pool, []*walrelay.Model{m}); err != nil {
		t.Fatal(err)
	}
	st := store.New(pool, walrelay.NewSchema([]*walrelay.Model{m}), pgjson.NewDecoder())
	all, err := st.List(ctx, store.AllowAll, m, store.ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Items) != 6 {
		t.Fatalf("%d rows", len(all.Items))
	}

	filters := []string{
		"i=eq.1", "i=neq.1", "i=lt.1", "i=lte.0", "i=gt.-5", "i=gte.2147483647", "i=in.(1,2,-5)", "i=not.in.(1)", "i=in.()",
		"i=not.in.()", "i=is.null", "i=not.is.null", "i=not.eq.1",
		"big=eq.9007199254740993", "big=gt.9007199254740992", "big=lt.0", "big=eq.9223372036854775807",
		"n=eq.1.5", "n=eq.1.50", "n=gt.1", "n=lt.NaN", "n=eq.NaN", "n=gt.1e8", "n=lte.-2.25", "n=in.(1.5,-2.25)",
		"f=eq.0.1", "f=gt.1e299", "f=eq.NaN", "f=lt.0.3", "f=eq.0.30000000000000004", "f=eq.0", "f=gte.-0",
		"r=eq.0.1", "r=eq.3.5", "r=lt.0", "r=gt.0", "r=eq.0.3", "r=lt.-1e38",
		"s=eq.apple", "s=like.*pple*", "s=like.%25pple%25", "s=ilike.apple*", "s=like.a\\%25b*", "s=like.a%25b\\_c*",
		"s=lt.B", "s=gt.apple", "s=gte.", "s=eq.", "s=like.___", "s=ilike.äöü*", "s=ilike.ÄÖÜ*", "s=ilike.*ß", "s=ilike.APPLE_PIE", "s=not.like.A*", "s=in.(apple,\"Apple pie\")",
		"c=eq.ab", "c=eq.ab  ", "c=like.a*", "c=lt.b", "c=eq. a", "c=gt.a",
		"v=eq.x", "v=like.x\\_y", "v=like.x_y", "v=like.100\\%25", "v=eq.a\\b", "v=lt.a", "v=eq.xxxxxxxxxxxx",
		"b=is.true", "b=is.false", "b=not.is.true", "b=eq.true", "b=neq.t", "b=lt.true", "b=is.null",
		"ts=eq.2024-03-01T10:00:00Z", "ts=eq.2024-03-01 12:00:00%2B02", "ts=gt.2024-03-01", "ts=lt.2024-03-01T10:00:00Z",
		"ts=eq.infinity", "ts=lt.infinity", "ts=gte.2024-03-01T09:59:59.999999Z", "ts=eq.2024-03-01T10:00:00", "ts=gt.2024-03-01T09:00:00-01:00",
		"tsn=eq.2024-03-01 10:00:00", "tsn=gt.2024-03-01T10:00:00Z", "tsn=gt.-infinity", "tsn=eq.-infinity", "tsn=lt.2024-03-01T10:00:00.500001",
		"d=eq.2024-03-01", "d=gt.2024-02-29", "d=lt.infinity", "d=gte.2024-02-29", "d=in.(2023-12-31,2024-02-29)",
		"tm=eq.10:00", "tm=gt.10:00:00", "tm=lt.23:59:59.5", "tm=lte.23:59:59.5", "tm=eq.00:00:00",
		"u=eq.a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "u=gt.a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "u=eq.A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12",
		"u=in.(b0eebc999c0b4ef8bb6d6bb9bd380a11,{c0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11})", "u=is.null",
		"e=eq.happy", "e=neq.sad", "e=in.(ok,sad)", "j=is.null", "j=not.is.null", "a=is.null",
		"i=gt.0&b=is.true", "i=gte.0&s=like.a*&n=lt.2",
	}
	for _, fs := range filters {
		f, err := filter.ParseString(m, fs)
		if err != nil {
			t.Errorf("%q: %v", fs, err)
			continue
		}
		var args []any
		rows, err := pool.Query(ctx, "select id from t where "+f.Where(&args)+" order by id", args...)
		if err != nil {
			t.Errorf("%q: query: %v", fs, err)
			continue
		}
		sqlIDs, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			t.Errorf("%q: %v", fs, err)
			continue
		}
		var goIDs []int32
		for _, r := range all.Items {
			if f.Match(r) {
				goIDs = append(goIDs, int32(toInt(t, r["id"])))
			}
		}
		if !slices.Equal(sqlIDs, goIDs) {
			t.Errorf("%q: SQL matches %v, Match %v", fs, sqlIDs, goIDs)
		}
	}
}

func toInt(t *testing.T, v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	case int32:
		return int64(x)
	case int:
		return int64(x)
	}
	var n int64
	if _, err := fmtSscan(v, &n); err != nil {
		t.Fatalf("id %v (%T)", v, v)
	}
	return n
}
