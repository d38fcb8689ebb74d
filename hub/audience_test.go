package hub

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/walrelay/walrelay"
)

// roomKeyed is room_id=eq.N as a KeyedMatcher; abstain makes ValueKey
// unable to key the given room, as a matcher may be for odd values.
type roomKeyed struct {
	room    int
	abstain int
}

func (f roomKeyed) Match(row walrelay.Row) bool { return row["room_id"] == f.room }
func (f roomKeyed) EqualityKey() (string, string, bool) {
	return "room_id", fmt.Sprint(f.room), true
}
func (f roomKeyed) ValueKey(v any) (string, bool) {
	if v == nil {
		return "\x00null", true
	}
	if f.abstain != 0 && v == f.abstain {
		return "", false
	}
	return fmt.Sprint(v), true
}

// Subscriptions indexed by their filter's equality key get exactly what
// the filter matches: creates, deletes, and updates that move a row
// between rooms (out of one filter, into another), like unindexed ones.
func TestEqualityIndexRoutesByValue(t *testing.T) {
	h := New(nil)
	list := walrelay.Channel{Model: "Message", Kind: walrelay.KindList}
	r1, r2, plain, r3 := &recorder{}, &recorder{}, &recorder{}, &recorder{}
	h.Subscribe(r1, list, roomKeyed{room: 1}, ReadAll)
	s2, _ := h.Subscribe(r2, list, roomKeyed{room: 2}, ReadAll)
	h.Subscribe(plain, list, roomIs(1), ReadAll)
	h.Subscribe(r3, list, roomKeyed{room: 3, abstain: 3}, ReadAll)
	mustDeliver(t, h, ins(1, 1), ins(2, 2), upd(1, 1, 2), upd(2, 2, 2), del(2, 2), ins(3, 3), upd(3, 3, 1))
	want := map[*recorder][]string{
		r1:    {"Message:list created 1", "Message:list deleted 1", "Message:list created 3"},
		plain: {"Message:list created 1", "Message:list deleted 1", "Message:list created 3"},
		r2:    {"Message:list created 2", "Message:list created 1", "Message:list updated 2", "Message:list deleted 2"},
		r3:    {"Message:list created 3", "Message:list deleted 3"},
	}
	for r, w := range want {
		if got := r.got(); !reflect.DeepEqual(got, w) {
			t.Errorf("got %q, want %q", got, w)
		}
	}
	// Unsubscribed, room 2 gets nothing more; a truncate reaches the rest.
	h.Unsubscribe(s2)
	if h.Len() != 3 {
		t.Fatalf("Len = %d after unsubscribe, want 3", h.Len())
	}
	mustDeliver(t, h, ins(4, 2), &walrelay.Event{Model: testModel, Op: walrelay.OpTruncated})
	if got := r2.got(); len(got) != 4 {
		t.Errorf("room 2 after unsubscribe: %q", got)
	}
	for _, r := range []*recorder{r1, plain, r3} {
		if got := r.got(); got[len(got)-1] != "Message:list truncated <nil>" {
			t.Errorf("no truncate: %q", got)
		}
	}
}
