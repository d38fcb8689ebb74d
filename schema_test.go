package walrelay

import (
	"errors"
	"strings"
	"testing"
)

func TestSchemaReplace(t *testing.T) {
	a := &Model{Name: "A", Schema: "public", Table: "a", Path: "a"}
	b := &Model{Name: "B", Schema: "public", Table: "b", Path: "b"}
	s := NewSchema([]*Model{a, b})
	a2 := *a
	a2.Columns = []Column{{Name: "x"}}
	if old, ok := s.Replace(&a2); !ok || old != a {
		t.Fatalf("Replace = %v, %v", old, ok)
	}
	if s.ByName("A") != &a2 || s.ByPath("a") != &a2 || s.ByTable("public", "a") != &a2 || s.Models()[0] != &a2 || s.Models()[1] != b {
		t.Fatal("lookups do not return the new version")
	}
	other := *a
	other.Path = "elsewhere"
	if _, ok := s.Replace(&other); ok || s.ByName("A") != &a2 {
		t.Fatal("Replace accepted a version with another path")
	}
	if _, ok := s.Replace(&Model{Name: "C"}); ok {
		t.Fatal("Replace accepted an unknown model")
	}
}

func TestCheckPins(t *testing.T) {
	m := &Model{Name: "Doc", Schema: "public", Table: "docs", Pins: []Pin{
		{Column: "id", TypeOID: 20, Type: "bigint", Use: "primary key", Source: "w.yaml:2"},
		{Column: "secret", TypeOID: 25, Type: "text", Use: "hide", Source: "w.yaml:5"},
		{Column: "level", TypeOID: 23, Type: "integer", Use: "read rule", Source: "w.yaml:7"},
	}}
	if mm := m.CheckPins([]Column{{Name: "id", TypeOID: 20}, {Name: "x", TypeOID: 1}, {Name: "secret", TypeOID: 25}, {Name: "level", TypeOID: 23}}, nil); mm != nil {
		t.Fatalf("fitting columns: %v", mm)
	}
	mm := m.CheckPins([]Column{{Name: "id", TypeOID: 20}, {Name: "secret2", TypeOID: 25}, {Name: "level", TypeOID: 20, Type: "bigint"}}, nil)
	if mm == nil {
		t.Fatal("no mismatch")
	}
	want := `model Doc stopped: w.yaml:5: hide column "secret" is no longer in public.docs (dropped or renamed); ` +
		`w.yaml:7: read rule column "level" of public.docs changed type from integer to bigint`
	if mm.Error() != want {
		t.Fatalf("Error() =\n%s\nwant\n%s", mm.Error(), want)
	}
	v := *m
	v.Unavailable = mm
	err := v.Available()
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "w.yaml:5, w.yaml:7") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("client error %q: want ErrUnavailable naming the lines and no column", err)
	}
	if m.Available() != nil {
		t.Fatal("a model without a mismatch is unavailable")
	}
	if !mm.Equal(m.CheckPins([]Column{{Name: "id", TypeOID: 20}, {Name: "level", TypeOID: 20, Type: "bigint"}}, nil)) {
		t.Fatal("the same problems are not Equal")
	}
}
