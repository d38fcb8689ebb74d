package authz

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/walrelay/walrelay"
)

func TestCompileErrors(t *testing.T) {
	cases := map[string]struct {
		owner string
		perms map[string]string
		want  []string
	}{
		"unknown column":   {perms: map[string]string{"read": "row.nope == 1"}, want: []string{"model Message", `rule "read"`, "1:4", "nope"}},
		"type mismatch":    {perms: map[string]string{"read": "row.body == 5"}, want: []string{`rule "read"`, "1:10", "no matching overload"}},
		"int vs string":    {perms: map[string]string{"update": "true &&\n  row.room_id < 'x'"}, want: []string{`rule "update"`, "2:15"}},
		"missing owner":    {perms: map[string]string{"read": "isOwner"}, want: []string{`rule "read"`, "1:1", "owner"}},
		"syntax":           {perms: map[string]string{"delete": "auth.sub == "}, want: []string{`rule "delete"`, "1:", "Syntax error"}},
		"not bool":         {perms: map[string]string{"create": "row.id + 1"}, want: []string{"boolean"}},
		"unknown variable": {perms: map[string]string{"read": "user.id == 1"}, want: []string{"undeclared reference", "user"}},
		"row in subscribe": {perms: map[string]string{"subscribe": "row.id == 1"}, want: []string{`rule "subscribe"`, "only auth"}},
		"unknown action":   {perms: map[string]string{"reed": "true"}, want: []string{"unknown permission", "reed"}},
		"owner column":     {owner: "nobody", perms: map[string]string{"read": "true"}, want: []string{"owner column", "nobody"}},
		"untranslatable":   {perms: map[string]string{"read": "row.body.startsWith('a')"}, want: []string{`rule "read"`, "cannot be translated to SQL"}},
		"json in sql":      {perms: map[string]string{"read": "row.meta == auth.x"}, want: []string{"cannot compare in SQL", "meta"}},
		"column vs column": {perms: map[string]string{"read": "row.id == row.room_id"}, want: []string{"cannot be translated"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Compile(walrelay.NewSchema([]*walrelay.Model{testModel(c.owner, c.perms)}))
			if err == nil {
				t.Fatal("compiled, want error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestCompileJoinsErrors(t *testing.T) {
	m1 := testModel("", map[string]string{"read": "row.a == 1"})
	m2 := testModel("", map[string]string{"update": "row.b == 1"})
	m2.Name = "Other"
	_, err := Compile(walrelay.NewSchema([]*walrelay.Model{m1, m2}))
	if err == nil || !strings.Contains(err.Error(), "model Message") || !strings.Contains(err.Error(), "model Other") {
		t.Fatalf("err = %v, want both models named", err)
	}
}

func TestAllow(t *testing.T) {
	m := testModel("author_id", map[string]string{
		"subscribe": "authenticated",
		"read":      "isOwner || isAdmin || row.room_id in auth.rooms",
		"create":    "public",
		"update":    "isOwner && row.published != true",
		"delete":    "row.created_at < timestamp('2026-01-01T00:00:00Z') && 'x' in row.tags && row.meta.level > 2",
	})
	p := mustPolicy(t, m)
	alice := Claims{"sub": "alice", "rooms": []any{int64(1), int64(2)}}
	admin := Claims{"sub": "root", "roles": []any{"admin"}}
	role := Claims{"sub": "r", "role": "admin"}
	row := walrelay.Row{"id": int64(1), "room_id": int64(3), "author_id": "alice", "body": "hi", "published": false,
		"created_at": "2025-05-01T10:00:00Z", "tags": []any{"x", "y"}, "meta": json.RawMessage(`{"level":3}`)}
	other := walrelay.Row{"id": int64(2), "room_id": int64(2), "author_id": "bob", "body": "yo"}
	nulls := walrelay.Row{"id": int64(3), "body": "z"}
	cases := []struct {
		a      Action
		claims Claims
		row    walrelay.Row
		want   bool
	}{
		{ActionSubscribe, nil, nil, false},
		{ActionSubscribe, alice, nil, true},
		{ActionRead, alice, row, true},                 // owner
		{ActionRead, alice, other, true},               // room 2
		{ActionRead, alice, nulls, false},              // null room
		{ActionRead, Claims{"sub": "bob"}, row, false}, // no rooms claim: fail closed
		{ActionRead, Claims{"sub": "bob"}, other, true},
		{ActionRead, nil, other, false},                      // anonymous
		{ActionRead, admin, other, true},                     // roles
		{ActionRead, role, nulls, true},                      // role
		{ActionRead, Claims{"roles": "admin"}, other, false}, // wrong shape, no panic
		{ActionCreate, nil, nil, true},
		{ActionUpdate, alice, row, true},
		{ActionUpdate, alice, walrelay.Row{"author_id": "alice", "published": true}, false},
		{ActionUpdate, nil, row, false},
		{ActionDelete, alice, row, true},
		{ActionDelete, alice, walrelay.Row{"created_at": "2025-05-01T10:00:00Z", "tags": []any{"x"}, "meta": json.RawMessage(`{}`)}, false},
		{ActionDelete, alice, nulls, false},
		{ActionDelete, alice, walrelay.Row{"created_at": "garbage"}, false},
	}
	for i, c := range cases {
		if got := p.Allow(m, c.a, c.claims, c.row); got != c.want {
			t.Errorf("case %d: Allow(%s, %v, %v) = %v, want %v", i, c.a, c.claims, c.row, got, c.want)
		}
	}
}

func TestMissingRuleDenies(t *testing.T) {
	m := testModel("", map[string]string{"read": "true"})
	p := mustPolicy(t, m)
	if p.Allow(m, ActionDelete, Claims{"sub": "a"}, walrelay.Row{}) {
		t.Error("missing delete rule allowed")
	}
	var args []any
	unknown := testModel("", nil)
	unknown.Name = "Unknown"
	if s, _ := p.ReadSQL(unknown, nil, &args); s != "false" {
		t.Errorf("ReadSQL without rule = %q", s)
	}
}

func TestValueConversions(t *testing.T) {
	m := testModel("", map[string]string{
		"read": "row.id == 9007199254740993 && row.score > 1.5 && row.room_id == 7",
	})
	p := mustPolicy(t, m)
	// Big ints arrive as strings, numerics as json.Number.
	row := walrelay.Row{"id": "9007199254740993", "score": json.Number("2.50"), "room_id": int64(7)}
	if !p.Allow(m, ActionRead, nil, row) {
		t.Error("converted row denied")
	}
	row["score"] = "not a number"
	if p.Allow(m, ActionRead, nil, row) {
		t.Error("bad value allowed")
	}
}

func TestStrip(t *testing.T) {
	m := testModel("", nil)
	row := walrelay.Row{"id": int64(1), "meta": json.RawMessage(`{}`)}
	out := Strip(m, row)
	if _, ok := out["meta"]; ok {
		t.Error("hidden column kept")
	}
	if _, ok := row["meta"]; !ok {
		t.Error("input modified")
	}
	plain := walrelay.Row{"id": int64(1)}
	if got := Strip(m, plain); len(got) != 1 {
		t.Errorf("Strip = %v", got)
	}
}

// An integer owner column is owned by the sub that spells its value.
func TestIsOwnerIntegerColumn(t *testing.T) {
	m := testModel("room_id", map[string]string{"read": "isOwner"})
	p := mustPolicy(t, m)
	row := walrelay.Row{"id": int64(1), "room_id": int64(5), "body": "x"}
	for sub, want := range map[any]bool{"5": true, "05": false, "+5": false, "5.0": false, "6": false, "alice": false, int64(5): true, 5.0: true} {
		if got := p.Allow(m, ActionRead, Claims{"sub": sub}, row); got != want {
			t.Errorf("sub %#v: Allow = %v, want %v", sub, got, want)
		}
	}
}
