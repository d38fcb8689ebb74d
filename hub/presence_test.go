package hub

import (
	"encoding/json"
	"testing"
)

func TestPresenceJoinLeaveTabs(t *testing.T) {
	h := New(nil)
	const room = "chat:room:7"
	a1, a2, b := &recorder{}, &recorder{}, &recorder{}
	sa1 := h.SubscribeCustom(a1, room, true, &Track{Key: "alice", Meta: json.RawMessage(`{"tab":1}`)}, nil)
	wantSeq(t, "a1 join", a1.all(), room+` state alice={"tab":1}`)
	var announced []string
	h.SubscribeCustom(b, room, true, &Track{Key: "bob", Meta: json.RawMessage(`{}`)}, func() { announced = b.all() })
	if len(announced) != 0 {
		t.Fatalf("announce called after deliveries: %v", announced)
	}
	wantSeq(t, "b join", b.all(), room+` state alice={"tab":1},bob={}`)
	wantSeq(t, "a1 sees bob", a1.all(), room+` state alice={"tab":1}`, room+" joins bob={} leaves ")
	a1.reset()
	b.reset()

	sa2 := h.SubscribeCustom(a2, room, true, &Track{Key: "alice", Meta: json.RawMessage(`{"tab":2}`)}, nil)
	wantSeq(t, "a2", a2.all(), room+` state alice={"tab":1}|{"tab":2},bob={}`)
	wantSeq(t, "b sees 2nd tab", b.all(), room+` joins alice={"tab":2} leaves `)
	st := h.PresenceState(room)
	if len(st) != 2 || st[0].Key != "alice" || len(st[0].Metas) != 2 || st[0].Metas[0].Ref == st[0].Metas[1].Ref {
		t.Fatalf("state %+v", st)
	}
	b.reset()
	a1.reset()

	h.SetPresence(sa2, &Track{Key: "alice", Meta: json.RawMessage(`{"tab":2,"typing":true}`)})
	wantSeq(t, "update", b.all(), room+` joins alice={"tab":2,"typing":true} leaves alice={"tab":2}`)
	wantSeq(t, "updater sees it too", a2.all()[1:], room+` joins alice={"tab":2,"typing":true} leaves alice={"tab":2}`)
	b.reset()

	h.UnsubscribeCustom(sa1)
	h.UnsubscribeCustom(sa1) // no-op
	wantSeq(t, "tab closed", b.all(), room+` joins  leaves alice={"tab":1}`)
	if st := h.PresenceState(room); len(st) != 2 || len(st[0].Metas) != 1 {
		t.Fatalf("alice still present once: %+v", st)
	}
	h.UnsubscribeCustom(sa2)
	if st := h.PresenceState(room); len(st) != 1 || st[0].Key != "bob" {
		t.Fatalf("after both tabs: %+v", st)
	}
	// An untracked subscriber sees presence but is not in it.
	w := &recorder{}
	h.SubscribeCustom(w, room, true, nil, nil)
	wantSeq(t, "watcher", w.all(), room+" state bob={}")
}
