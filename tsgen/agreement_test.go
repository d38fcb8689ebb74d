package tsgen

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay/pgembed/pgtest"
	"github.com/walrelay/walrelay/pgjson"
)

// kitchenRows are inserted from a separate connection: one with only the
// required columns (every nullable one null), one with edge values.
const kitchenRows = `
insert into kitchen_sink (small, price, mood, positive) values (1, 12.50, 'sad', 5);
insert into kitchen_sink (small, n, big, price, ratio, r4, flag, mood, mood_list, mood_dom, level, kind, positive,
  amount, tags, matrix, docs, payload, born, at, ts, t, tz, dur, bin, addr, net, mac, ch, rng, pt, cash,
  "display name", "camelCase")
values (-2, 7, 9007199254740993, 12345678901234.56, 'NaN', 'Infinity', false, 'it''s "fine"', '{sad,NULL}', '{happy}',
  'high', 'closed', 3, 0.1, '{a,NULL,"b c"}', '{{1,2},{3,NULL}}', array['{"a":1}'::jsonb, 'null'::jsonb, NULL],
  '[1,"x"]', 'infinity', '2026-01-01 10:00', '2026-01-01 10:00:00.5+02', '10:00', '10:00+02', '1 day 2 hours',
  '\x00ff', '1.2.3.4', '10.0.0.0/8', '08:00:2b:01:02:03', 'ab', '[1,5)', '(1,2)', 12.5, 'x', 'y');
`

// Every value the server would send for kitchen_sink (decoded by pgjson,
// the server's converter) has the TypeScript type generated for its
// column: the generator and the wire format agree.
func TestGeneratedTypesMatchWireValues(t *testing.T) {
	url, models := mustDemoModels(t)
	pgtest.MustExec(t, url, kitchenRows)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range pgjson.SessionParams() {
		cfg.RuntimeParams[k] = v
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)

	m := models[len(models)-1] // Kitchen
	cat, err := loadCatalog(ctx, conn, models)
	if err != nil {
		t.Fatalf("load catalog: %v", err)
	}
	n := assignNames(sortedModels(models), cat)
	enumLabels := map[string][]string{}
	for _, e := range n.enums {
		enumLabels[n.enum[e.oid]] = e.labels
	}
	dec := pgjson.NewDecoder()
	var oids []uint32
	var exprs []string
	for _, c := range m.Columns {
		oids = append(oids, c.TypeOID)
		exprs = append(exprs, pgx.Identifier{c.Name}.Sanitize()+"::text")
	}
	if err := dec.Register(ctx, conn, oids); err != nil {
		t.Fatalf("register types: %v", err)
	}
	rows, err := conn.Query(ctx, "select "+strings.Join(exprs, ", ")+" from kitchen_sink order by seq")
	if err != nil {
		t.Fatalf("select: %v", err)
	}
	var texts [][]*string
	for rows.Next() {
		row := make([]*string, len(m.Columns))
		dest := make([]any, len(row))
		for i := range row {
			dest[i] = &row[i]
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatalf("scan: %v", err)
		}
		texts = append(texts, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("select: %v", err)
	}
	if len(texts) != 2 {
		t.Fatalf("got %d rows, want 2", len(texts))
	}
	dims := cat.dims[m.QualifiedTable()]
	for r, row := range texts {
		for i, c := range m.Columns {
			var text []byte
			if row[i] != nil {
				text = []byte(*row[i])
			}
			v, err := dec.Decode(c.TypeOID, text)
			if err != nil {
				t.Fatalf("row %d: decode %s %q: %v", r, c.Name, text, err)
			}
			wire := wireValue(t, v)
			ts := columnType(cat, c, dims, n.enum)
			if !conforms(wire, ts, enumLabels) {
				t.Errorf("row %d: column %s: value %s does not have the generated type %s", r, c.Name, mustJSON(t, wire), ts)
			}
		}
	}
}

// wireValue round-trips v through JSON, as a client would receive it.
func wireValue(t *testing.T, v any) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(mustJSON(t, v)))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// conforms is a checker for the small type language the generator emits:
// unions of number, string, boolean, null, Json, enum names and (T)[]
// arrays.
func conforms(v any, ts string, enums map[string][]string) bool {
	for _, m := range splitUnion(ts) {
		if conformsOne(v, m, enums) {
			return true
		}
	}
	return false
}

func conformsOne(v any, ts string, enums map[string][]string) bool {
	if elem, ok := strings.CutSuffix(ts, "[]"); ok {
		if strings.HasPrefix(elem, "(") && strings.HasSuffix(elem, ")") && len(splitUnion(elem)) == 1 {
			elem = elem[1 : len(elem)-1]
		}
		arr, ok := v.([]any)
		if !ok {
			return false
		}
		for _, e := range arr {
			if !conforms(e, elem, enums) {
				return false
			}
		}
		return true
	}
	switch ts {
	case "null":
		return v == nil
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "Json":
		return true
	}
	labels, ok := enums[ts]
	if !ok {
		return false
	}
	s, isString := v.(string)
	for _, l := range labels {
		if isString && s == l {
			return true
		}
	}
	return false
}

// splitUnion splits ts at the top-level " | ".
func splitUnion(ts string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(ts); i++ {
		switch ts[i] {
		case '(':
			depth++
		case ')':
			depth--
		case '|':
			if depth == 0 {
				out = append(out, strings.TrimSpace(ts[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(ts[start:]))
}

func TestConforms(t *testing.T) {
	enums := map[string][]string{"Mood": {"sad", "happy"}}
	for _, c := range []struct {
		json, ts string
		want     bool
	}{
		{`1`, "number", true},
		{`"1"`, "number", false},
		{`"1"`, "number | string", true},
		{`null`, "number | string", false},
		{`null`, "string | null", true},
		{`"sad"`, "Mood", true},
		{`"meh"`, "Mood", false},
		{`["sad",null]`, "(Mood | null)[] | null", true},
		{`["sad",1]`, "(Mood | null)[]", false},
		{`[[1,null],[2,3]]`, "(number | null)[][]", true},
		{`[1,2]`, "(number | null)[][]", false},
		{`{"a":[1]}`, "Json", true},
		{`true`, "boolean", true},
	} {
		d := json.NewDecoder(strings.NewReader(c.json))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if got := conforms(v, c.ts, enums); got != c.want {
			t.Errorf("conforms(%s, %s) = %v, want %v", c.json, c.ts, got, c.want)
		}
	}
}
