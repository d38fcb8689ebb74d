package ws

import (
	"reflect"
	"strings"
	"testing"

	"github.com/walrelay/walrelay"
)

func TestSupabaseFilterSyntax(t *testing.T) {
	m := testSchema().ByName("Message")
	row := walrelay.Row{"id": 7, "room_id": 5, "body": "a,b (c)"}
	cases := map[string]bool{
		"room_id=eq.5":                   true,
		"room_id=eq.6":                   false,
		"room_id=neq.6,id=gt.3":          true,
		"room_id=in.(4,5)":               true,
		"room_id=not.in.(4,5)":           false,
		`body=eq."a,b (c)"`:              true,
		`body=eq."a,b (c)",room_id=eq.6`: false,
		"body=like.a%":                   true,
		"id=gte.7, room_id=lte.5":        true,
	}
	for f, want := range cases {
		flt, err := parseSupabaseFilter(m, f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if got := flt.Match(row); got != want {
			t.Errorf("%s: match %v, want %v", f, got, want)
		}
	}
	for _, f := range []string{"room_id", "=eq.5", "room_id=eq.5,", "room_id=foo.5", "nope=eq.1", "ip_address=eq.x", "room_id=eq.x"} {
		if _, err := parseSupabaseFilter(m, f); err == nil {
			t.Errorf("%q parsed", f)
		}
	}
}

// Values realtime-js would re-parse lossily (a bigint beyond 2^53 sent as
// a string) keep their column out of columns, so they arrive exact.
func TestChangeColumnsKeepValuesExact(t *testing.T) {
	m := &walrelay.Model{Name: "T", Schema: "public", Table: "t", PrimaryKey: "id", Hide: []string{"secret"},
		Columns: []walrelay.Column{
			{Name: "id", TypeOID: oidInt8}, {Name: "big", TypeOID: oidInt8}, {Name: "doc", TypeOID: 3802},
			{Name: "name", TypeOID: 25}, {Name: "secret", TypeOID: 25}, {Name: "kind", TypeOID: 99999, Type: "mood"},
		}}
	row := walrelay.Row{"id": 1, "big": "9007199254740993", "doc": "just a JSON string", "name": "x", "secret": "s", "kind": "happy"}
	var names []string
	for _, c := range pgColumns(m, row, nil) {
		names = append(names, c.Name+":"+c.Type)
	}
	if want := "id:int8 name:text kind:mood"; strings.Join(names, " ") != want {
		t.Fatalf("columns %v, want %s", names, want)
	}
	row["big"], row["doc"] = 5, map[string]any{"a": 1}
	if got := len(pgColumns(m, row)); got != 5 {
		t.Fatalf("%d columns for typed values, want 5 (all visible)", got)
	}
	if !reflect.DeepEqual(splitTopLevel(`a=eq."x,y",b=in.(1,2),c=eq.\"`), []string{`a=eq."x,y"`, `b=in.(1,2)`, `c=eq.\"`}) {
		t.Fatalf("split %q", splitTopLevel(`a=eq."x,y",b=in.(1,2),c=eq.\"`))
	}
}
