package filter

import (
	"encoding/json"
	"testing"

	"github.com/walrelay/walrelay"
)

// For a filter col=eq.v, a row matches exactly when its value's key is the
// operand's key: the hub indexes subscriptions by that key, so a
// difference would lose or leak events.
func TestValueKeyAgreesWithMatch(t *testing.T) {
	values := []any{nil, int64(5), int64(-5), int64(0), 5, int32(5), uint32(5), 5.0, 5.5, json.Number("5"),
		json.Number("5.0"), json.Number("99999999999999999999"), "5", "05", " 5", "five", "", "hello", "Hello",
		"hello ", "ab", "ab  ", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
		true, []any{5}, map[string]any{"a": 5}}
	filters := []string{"room_id=eq.5", "room_id=eq.-5", "room_id=eq.0", "id=eq.5", "body=eq.hello", "body=eq.",
		"body=eq.5", "code=eq.ab", "uid=eq.a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
		"uid=eq.{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}", "room_id=eq.5&body=like.h*"}
	for _, q := range filters {
		f := mustParse(t, q)
		col, key, ok := f.EqualityKey()
		if !ok {
			t.Fatalf("%s: no equality key", q)
		}
		for _, v := range values {
			row := walrelay.Row{col: v, "body": "hello"}
			if col == "body" {
				row = walrelay.Row{col: v}
			}
			k, ok := f.ValueKey(v)
			if !ok {
				t.Fatalf("%s: no key for %#v", q, v)
			}
			if got := f.Match(row); got && k != key {
				t.Errorf("%s matches %#v, whose key %q is not %q", q, v, k, key)
			} else if !got && k == key && len(f.Conds) == 1 {
				t.Errorf("%s does not match %#v, whose key is the operand's %q", q, v, key)
			}
		}
		if k, _ := f.ValueKey(nil); k != NullKey {
			t.Errorf("%s: key of NULL = %q", q, k)
		}
	}
	for _, q := range []string{"room_id=neq.5", "room_id=not.eq.5", "room_id=gt.5", "score=eq.5", "done=is.true", "room_id=in.(5)"} {
		if col, key, ok := mustParse(t, q).EqualityKey(); ok {
			t.Errorf("%s: equality key %s=%q", q, col, key)
		}
	}
	var none *Filter
	if _, ok := none.ValueKey(5); ok {
		t.Error("nil filter has a value key")
	}
}
