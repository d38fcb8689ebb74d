package store_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/pgembed/pgtest"
	"github.com/walrelay/walrelay/pgjson"
	"github.com/walrelay/walrelay/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// mustStore creates the tables of ddl in a fresh database, loads the models
// and returns a Store and the database URL.
func mustStore(t *testing.T, ddl string, models ...*walrelay.Model) (*store.Store, string) {
	t.Helper()
	pool, url := pgtest.MustPool(t, ddl, store.ConfigurePool)
	if err := store.LoadModels(context.Background(), pool, models); err != nil {
		t.Fatal(err)
	}
	return store.New(pool, walrelay.NewSchema(models), pgjson.NewDecoder()), url
}

func TestLoadModels(t *testing.T) {
	pool, _ := pgtest.MustPool(t, `
		create table items (id bigint generated always as identity primary key, name varchar(20) not null,
			doubled int generated always as (length(name) * 2) stored, note text default 'x', gone int);
		alter table items drop column gone;
		create table nokey (a int);
		create table twokey (a int, b int, primary key (a, b));
		create view v as select 1 as a;`)
	ctx := context.Background()

	m := &walrelay.Model{Name: "Item", Table: "items", Hide: []string{"note"}, Owner: "name"}
	if err := store.LoadModels(ctx, pool, []*walrelay.Model{m}); err != nil {
		t.Fatal(err)
	}
	want := []walrelay.Column{
		{Name: "id", TypeOID: 20, Type: "bigint", NotNull: true, HasDefault: true, Generated: true},
		{Name: "name", TypeOID: 1043, Type: "character varying(20)", NotNull: true},
		{Name: "doubled", TypeOID: 23, Type: "integer", HasDefault: true, Generated: true},
		{Name: "note", TypeOID: 25, Type: "text", HasDefault: true},
	}
	if !slices.Equal(m.Columns, want) || m.PrimaryKey != "id" || m.Schema != "public" {
		t.Fatalf("got %+v pk %q schema %q", m.Columns, m.PrimaryKey, m.Schema)
	}

	for name, c := range map[string]struct {
		m    walrelay.Model
		want []string
	}{
		"missing table": {walrelay.Model{Name: "X", Table: "nope"}, []string{"X", "public.nope", "does not exist"}},
		"no key":        {walrelay.Model{Name: "N", Table: "nokey"}, []string{"N", "no primary key"}},
		"two keys":      {walrelay.Model{Name: "T", Table: "twokey"}, []string{"T", "2 columns"}},
		"view":          {walrelay.Model{Name: "V", Table: "v"}, []string{"V", "not a table"}},
		"hide":          {walrelay.Model{Name: "H", Table: "items", Hide: []string{"ip"}}, []string{"H", `"ip"`}},
		"owner":         {walrelay.Model{Name: "O", Table: "items", Owner: "author"}, []string{"O", `"author"`}},
	} {
		err := store.LoadModels(ctx, pool, []*walrelay.Model{&c.m})
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", name, err, w)
			}
		}
	}
}

func TestKeysetMixedOrderWithNulls(t *testing.T) {
	m := &walrelay.Model{Name: "Row", Table: "rows", Hide: []string{"id"}}
	st, _ := mustStore(t, `
		create table rows (id int primary key, a int, b text);
		insert into rows select i, case when i % 4 = 0 then null else i % 3 end,
			case when i % 5 = 0 then null else chr(97 + i % 2) end from generate_series(1, 40) i;`, m)
	ctx := context.Background()
	for _, order := range []string{"a.asc,b.desc", "a.desc,b.asc", "b.desc", "a", "a.desc.nullsfirst,b.asc.nullslast"} {
		q := url.Values{"order": {order}}
		p, err := store.ParseListParams(m, q)
		if err != nil {
			t.Fatal(err)
		}
		p.Limit = 40
		all, err := st.List(ctx, store.AllowAll, m, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(all.Items) != 40 || all.NextPage != nil {
			t.Fatalf("%s: one page has %d rows, next %v", order, len(all.Items), all.NextPage)
		}
		p.Limit = 3
		var paged []walrelay.Row
		for pages := 0; ; pages++ {
			if pages > 20 {
				t.Fatalf("%s: too many pages", order)
			}
			res, err := st.List(ctx, store.AllowAll, m, p)
			if err != nil {
				t.Fatalf("%s: %v", order, err)
			}
			paged = append(paged, res.Items...)
			if res.NextPage == nil {
				break
			}
			p.Page = *res.NextPage
		}
		if len(paged) != 40 {
			t.Fatalf("%s: paged %d rows, want 40", order, len(paged))
		}
		for i := range paged {
			if _, hidden := paged[i]["id"]; hidden {
				t.Fatalf("hidden key returned")
			}
			if paged[i]["a"] != all.Items[i]["a"] || paged[i]["b"] != all.Items[i]["b"] {
				t.Fatalf("%s: row %d differs: %v vs %v", order, i, paged[i], all.Items[i])
			}
		}
	}
}

func TestPageTokenChecks(t *testing.T) {
	m := &walrelay.Model{Name: "Row", Table: "rows"}
	st, _ := mustStore(t, `create table rows (id int primary key, a int); insert into rows select i, i from generate_series(1, 5) i;`, m)
	ctx := context.Background()
	p, _ := store.ParseListParams(m, url.Values{"limit": {"2"}, "a": {"gt.0"}})
	res, err := st.List(ctx, store.AllowAll, m, p)
	if err != nil || res.NextPage == nil {
		t.Fatalf("first page: %v %v", res, err)
	}
	other, _ := store.ParseListParams(m, url.Values{"limit": {"2"}, "a": {"gt.1"}})
	other.Page = *res.NextPage
	if _, err := st.List(ctx, store.AllowAll, m, other); !errors.Is(err, walrelay.ErrBadRequest) {
		t.Fatalf("token with another filter: %v", err)
	}
	for _, tok := range []string{"!", "e30", "eyJ2IjpbIngiXSwiaCI6IngifQ"} {
		p.Page = tok
		if _, err := st.List(ctx, store.AllowAll, m, p); !errors.Is(err, walrelay.ErrBadRequest) {
			t.Fatalf("token %q: %v", tok, err)
		}
	}
}

func TestReadCursor(t *testing.T) {
	m := &walrelay.Model{Name: "Row", Table: "rows"}
	st, _ := mustStore(t, `create table rows (id int primary key)`, m)
	ctx := context.Background()
	res, err := st.List(ctx, store.AllowAll, m, store.ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Cursor
	if !c.Snapshot || c.LSN == 0 || c.Xmin == 0 || c.Xmax < c.Xmin {
		t.Fatalf("cursor %+v", c)
	}
	if _, err := st.Create(ctx, store.AllowAll, m, map[string]any{"id": "1"}); err != nil {
		t.Fatal(err)
	}
	_, c2, err := st.Get(ctx, store.AllowAll, m, "1")
	if err != nil {
		t.Fatal(err)
	}
	if c2.LSN <= c.LSN || c2.Xmax <= c.Xmax {
		t.Fatalf("cursor did not advance: %+v then %+v", c, c2)
	}
	if _, err := walrelay.ParseCursor(c2.String()); err != nil {
		t.Fatal(err)
	}
}

func TestParseListParams(t *testing.T) {
	m := &walrelay.Model{Name: "Row", Columns: []walrelay.Column{{Name: "id", TypeOID: 23, Type: "integer"}}, PrimaryKey: "id"}
	p, err := store.ParseListParams(m, url.Values{})
	if err != nil || p.Limit != 100 || p.Count || !p.Filter.Empty() {
		t.Fatalf("defaults: %+v %v", p, err)
	}
	for q, want := range map[string]error{
		"limit=0":              walrelay.ErrBadRequest,
		"limit=1001":           walrelay.ErrBadRequest,
		"limit=x":              walrelay.ErrBadRequest,
		"count=planned":        walrelay.ErrBadRequest,
		"select=id":            walrelay.ErrBadRequest,
		"limit=1&limit=2":      walrelay.ErrBadRequest,
		"order=nope":           walrelay.ErrInvalidFilter,
		"nope=eq.1":            walrelay.ErrInvalidFilter,
		"id=eq.1&limit=1000":   nil,
		"count=exact&order=id": nil,
	} {
		v, _ := url.ParseQuery(q)
		if _, err := store.ParseListParams(m, v); !errors.Is(err, want) && !(want == nil && err == nil) {
			t.Errorf("%s: %v, want %v", q, err, want)
		}
	}
}
