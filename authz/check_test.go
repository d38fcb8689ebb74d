package authz

import (
	"strings"
	"testing"

	"github.com/walrelay/walrelay"
)

func TestRuleCheck(t *testing.T) {
	m := testModel("author_id", map[string]string{"read": `isOwner || row.room_id in auth.rooms || row.score > 1.0`})
	rule := mustPolicy(t, m).Rule(m, ActionRead)
	claims := Claims{"sub": "u1", "rooms": []any{5.0}}
	full := walrelay.Row{"id": 1, "room_id": 5, "author_id": "u2", "score": 0.5}

	if ok, err := rule.Check(claims, full); !ok || err != nil {
		t.Fatalf("full row: %v, %v", ok, err)
	}
	if ok, err := rule.Check(claims, walrelay.Row{"id": 1, "room_id": 6, "author_id": "u2", "score": 0.5}); ok || err != nil {
		t.Fatalf("not readable: %v, %v", ok, err)
	}
	for _, col := range []string{"room_id", "author_id", "score"} {
		row := walrelay.Row{}
		for k, v := range full {
			if k != col {
				row[k] = v
			}
		}
		ok, err := rule.Check(claims, row)
		if ok || err == nil || !strings.Contains(err.Error(), col) {
			t.Errorf("without %s: %v, %v; want false and an error naming it", col, ok, err)
		}
	}
	// A column the rule does not read may be missing.
	if ok, err := rule.Check(claims, walrelay.Row{"room_id": 5, "author_id": "u2", "score": 0.5}); !ok || err != nil {
		t.Fatalf("without id: %v, %v", ok, err)
	}
	// An evaluation error (the claim has the wrong type) is reported.
	if ok, err := rule.Check(Claims{"sub": "u1", "rooms": "nope"}, full); ok || err == nil {
		t.Fatalf("bad claim: %v, %v", ok, err)
	}
	if ok, err := (*Rule)(nil).Check(claims, full); ok || err != nil {
		t.Fatalf("nil rule: %v, %v", ok, err)
	}
}
