package authz

import (
	"testing"

	"github.com/walrelay/walrelay"
)

func TestIndex(t *testing.T) {
	cases := map[string]struct {
		rule string
		col  string // "" = not indexable
	}{
		"eq":           {"row.author_id == auth.sub", "author_id"},
		"flipped":      {"auth.sub == row.author_id", "author_id"},
		"owner":        {"isOwner", "author_id"},
		"owner admin":  {"isOwner || isAdmin", "author_id"},
		"int claim":    {"auth.role == 'staff' || row.room_id == auth.room", "room_id"},
		"two keys":     {"isOwner || row.room_id == auth.room", ""},
		"and":          {"isOwner && row.published == true", ""},
		"in":           {"row.room_id in auth.rooms", ""},
		"auth only":    {"isAdmin", ""},
		"double":       {"row.score == auth.x", ""},
		"not equality": {"row.room_id != auth.room", ""},
	}
	for name, c := range cases {
		m := testModel("author_id", map[string]string{"read": c.rule})
		p := mustPolicy(t, m)
		col, ok := p.Rule(m, ActionRead).Index()
		if col != c.col || ok != (c.col != "") {
			t.Errorf("%s: Index() = %q, %v, want %q", name, col, ok, c.col)
		}
	}
}

func TestSubscriberKey(t *testing.T) {
	m := testModel("author_id", map[string]string{"read": "isOwner || isAdmin"})
	r := mustPolicy(t, m).Rule(m, ActionRead)
	m2 := testModel("", map[string]string{"read": "auth.org == row.room_id || auth.level > 5"})
	r2 := mustPolicy(t, m2).Rule(m2, ActionRead)
	cases := []struct {
		r         *Rule
		claims    Claims
		key       string
		all, none bool
	}{
		{r, Claims{"sub": "alice"}, "alice", false, false},
		{r, Claims{"sub": "root", "roles": []any{"admin"}}, "", true, false},
		{r, Claims{}, "", false, true},
		{r, nil, "", false, true},
		{r, Claims{"sub": int64(5)}, "", false, true}, // int never equals a text column
		{r2, Claims{"org": int64(7)}, "7", false, false},
		{r2, Claims{"org": 7.0}, "7", false, false},
		{r2, Claims{"org": "7"}, "", false, true},
		{r2, Claims{"org": int64(7), "level": int64(9)}, "", true, false},
		{r2, Claims{"level": int64(1)}, "", false, true},
		{r2, Claims{"org": nil}, NullKey, false, false},
	}
	for i, c := range cases {
		key, all, none := c.r.SubscriberKey(c.claims)
		if key != c.key || all != c.all || none != c.none {
			t.Errorf("case %d: SubscriberKey(%v) = %q %v %v, want %q %v %v", i, c.claims, key, all, none, c.key, c.all, c.none)
		}
	}
}

// TestSubscriberKeyMatchesAllow checks the routing contract: the rule
// holds exactly when all, or the key equals KeyOf(row[col]).
func TestSubscriberKeyMatchesAllow(t *testing.T) {
	m := testModel("author_id", map[string]string{"read": "isOwner || isAdmin"})
	m2 := testModel("", map[string]string{"read": "auth.room == row.room_id || auth.sub == 'bob'"})
	m3 := testModel("room_id", map[string]string{"read": "isOwner || isAdmin"}) // an integer owner column
	for _, mm := range []*walrelay.Model{m, m2, m3} {
		p := mustPolicy(t, mm)
		rule := p.Rule(mm, ActionRead)
		col, ok := rule.Index()
		if !ok {
			t.Fatalf("%s: not indexable", rule.Source())
		}
		rows := randomRows(randSource(), 40)
		for range 50 {
			claims := randomClaims(randSource())
			key, all, none := rule.SubscriberKey(claims)
			for _, row := range rows {
				routed := all || (!none && rule.RowKey(row) == key)
				if row[col] != nil && rule.RowKey(row) != walrelay.KeyOf(row[col]) {
					t.Fatalf("RowKey differs from KeyOf")
				}
				if got := p.Allow(mm, ActionRead, claims, row); got != routed {
					t.Errorf("%s claims %v row %v: Allow %v, routed %v (key %q all %v none %v)", rule.Source(), claims, row, got, routed, key, all, none)
				}
			}
		}
	}
}
