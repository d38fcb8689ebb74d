package hub

import (
	"reflect"
	"testing"

	"github.com/walrelay/walrelay"
)

// ownerKey is the read index of "row.user_id == auth.sub" for these tests.
func ownerKey(row walrelay.Row) string { return walrelay.KeyOf(row["user_id"]) }

func owned(op walrelay.Op, id int, oldUser, newUser string) *walrelay.Event {
	ev := &walrelay.Event{Model: testModel, Op: op}
	if oldUser != "" {
		ev.Old = walrelay.Row{"id": id, "user_id": oldUser}
	}
	if newUser != "" {
		ev.New = walrelay.Row{"id": id, "user_id": newUser}
	}
	return ev
}

// accessFor returns the Access of user under "row.user_id == auth.sub",
// keyed (indexed) or as an Allow func.
func accessFor(user string, indexed bool) Access {
	if indexed {
		return Access{Key: user}
	}
	return Access{Allow: func(row walrelay.Row) bool { return row["user_id"] == user }}
}

// userIs is a filter on user_id.
type userIs string

func (f userIs) Match(row walrelay.Row) bool { return row["user_id"] == string(f) }

// TestReadAccess runs one scenario with the read rule indexed and with it
// evaluated per subscriber: both must route the same.
func TestReadAccess(t *testing.T) {
	for name, indexed := range map[string]bool{"indexed": true, "per subscriber": false} {
		t.Run(name, func(t *testing.T) {
			h := New(nil)
			if indexed {
				h.SetReadIndex("Message", ownerKey)
			}
			subs := map[string]*recorder{}
			sub := func(who, channel string, f Matcher, a Access) {
				r := &recorder{}
				subs[who] = r
				h.Subscribe(r, mustChannel(t, channel), f, a)
			}
			sub("alice", "Message:list", nil, accessFor("alice", indexed))
			sub("bob", "Message:list", nil, accessFor("bob", indexed))
			sub("admin", "Message:list", nil, Access{All: true, Key: "x"})
			sub("nobody", "Message:list", nil, Access{None: true, All: true})
			sub("zero", "Message:list", nil, Access{})
			sub("bob-filtered", "Message:list", userIs("alice"), accessFor("bob", indexed))
			sub("alice-item", "Message:item:1", nil, accessFor("alice", indexed))
			sub("bob-item", "Message:item:1", nil, accessFor("bob", indexed))
			sub("bob-created", "Message:created", nil, accessFor("bob", indexed))
			sub("alice-created", "Message:created", nil, accessFor("alice", indexed))

			mustDeliver(t, h,
				owned(walrelay.OpCreated, 1, "", "alice"),
				owned(walrelay.OpUpdated, 1, "alice", "alice"),
				owned(walrelay.OpUpdated, 1, "alice", "bob"), // moves from alice's view to bob's
				owned(walrelay.OpUpdated, 2, "carol", "carol"),
				owned(walrelay.OpUpdated, 3, "", "alice"), // no old row
				owned(walrelay.OpDeleted, 1, "bob", ""),
				owned(walrelay.OpDeleted, 4, "alice", ""),
				&walrelay.Event{Model: testModel, Op: walrelay.OpTruncated},
			)
			want := map[string][]string{
				"alice": {"Message:list created 1", "Message:list updated 1", "Message:list deleted 1",
					"Message:list updated 3", "Message:list deleted 4", "Message:list truncated <nil>"},
				"bob": {"Message:list created 1", "Message:list deleted 1", "Message:list truncated <nil>"},
				"admin": {"Message:list created 1", "Message:list updated 1", "Message:list updated 1",
					"Message:list updated 2", "Message:list updated 3", "Message:list deleted 1",
					"Message:list deleted 4", "Message:list truncated <nil>"},
				"nobody":        {"Message:list truncated <nil>"},
				"zero":          {"Message:list truncated <nil>"},
				"bob-filtered":  {"Message:list truncated <nil>"},
				"alice-item":    {"Message:item:1 updated 1"},
				"bob-item":      {"Message:item:1 updated 1", "Message:item:1 deleted 1"},
				"bob-created":   nil,
				"alice-created": {"Message:created created 1"},
			}
			for who, w := range want {
				if got := subs[who].got(); !reflect.DeepEqual(got, w) {
					t.Errorf("%s got %q\nwant %q", who, got, w)
				}
			}
		})
	}
}

func TestReplaceAccessAndLateIndex(t *testing.T) {
	h := New(nil)
	r := &recorder{}
	s, _ := h.Subscribe(r, mustChannel(t, "Message:list"), nil, Access{Key: "alice"})
	// No index yet: a Key alone reads nothing (Allow is nil).
	mustDeliver(t, h, owned(walrelay.OpCreated, 1, "", "alice"))
	// Indexing the model re-buckets existing subscriptions.
	h.SetReadIndex("Message", ownerKey)
	mustDeliver(t, h, owned(walrelay.OpCreated, 2, "", "alice"), owned(walrelay.OpCreated, 3, "", "bob"))
	// Re-keyed to bob (a refreshed token), in one step.
	s2, _ := h.Replace(s, nil, Access{Key: "bob"})
	mustDeliver(t, h, owned(walrelay.OpCreated, 4, "", "alice"), owned(walrelay.OpCreated, 5, "", "bob"))
	h.Unsubscribe(s2)
	mustDeliver(t, h, owned(walrelay.OpCreated, 6, "", "bob"))
	want := []string{"Message:list created 2", "Message:list created 5"}
	if got := r.got(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if h.Len() != 0 {
		t.Fatalf("Len = %d", h.Len())
	}
}
