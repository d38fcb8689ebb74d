package hub

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
)

// fakeRelay records what the hub relays, as strings.
type fakeRelay struct {
	mu  sync.Mutex
	out []string
}

func (f *fakeRelay) Published(name string, ev *CustomEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.out = append(f.out, fmt.Sprintf("publish %s %s %s", name, ev.Event, ev.Data))
}

func (f *fakeRelay) PresenceChanged(v uint64, name string, p *Presence) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.out = append(f.out, fmt.Sprintf("presence %d %s", v, describe(Delivery{Msg: &Message{Channel: name, Presence: p}})))
}

func (f *fakeRelay) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.out
	f.out = nil
	return out
}

func entry(key, ref, meta string) PresenceEntry {
	return PresenceEntry{Key: key, Metas: []PresenceMeta{{Ref: ref, Meta: json.RawMessage(meta)}}}
}

func TestRelayCarriesPublishesAndLocalPresence(t *testing.T) {
	h := New(nil, WithRefPrefix("n1."))
	rel := &fakeRelay{}
	h.SetRelay(rel)
	a, b := &recorder{}, &recorder{}
	// A publish with no local subscriber still goes to the other nodes.
	h.Publish("room:1", &CustomEvent{Event: "typing", Data: json.RawMessage(`1`)}, nil)
	wantSeq(t, "relay", rel.take(), "publish room:1 typing 1")

	sa := h.SubscribeCustom(a, "room:1", true, &Track{Key: "alice", Meta: json.RawMessage(`{"x":1}`)}, nil)
	h.SubscribeCustom(b, "room:1", true, nil, nil)
	h.Publish("room:1", &CustomEvent{Event: "typing", Data: json.RawMessage(`2`)}, a)
	h.SetPresence(sa, &Track{Key: "alice", Meta: json.RawMessage(`{"x":2}`)})
	h.UnsubscribeCustom(sa)
	wantSeq(t, "relay", rel.take(),
		`presence 1 room:1 joins alice={"x":1} leaves `,
		"publish room:1 typing 2",
		`presence 2 room:1 joins alice={"x":2} leaves alice={"x":1}`,
		`presence 3 room:1 joins  leaves alice={"x":2}`)

	// Remote publishes reach every local subscriber and are not relayed.
	b.reset()
	if n := h.PublishRemote("room:1", &CustomEvent{Event: "typing", Data: json.RawMessage(`3`)}); n != 1 {
		t.Fatalf("PublishRemote reached %d, want 1", n)
	}
	wantSeq(t, "b", b.all(), "room:1 typing 3 <nil>")
	wantSeq(t, "relay", rel.take())

	v, st := h.LocalPresence()
	if v != 3 || len(st) != 0 {
		t.Fatalf("LocalPresence = %d %v, want 3 and nothing", v, st)
	}
	if ref := h.nextRef(); ref[:3] != "n1." {
		t.Fatalf("ref %q lacks the prefix", ref)
	}
}

func TestRemotePresenceShowsAndLeaves(t *testing.T) {
	h := New(nil)
	rel := &fakeRelay{}
	h.SetRelay(rel)
	a := &recorder{}
	h.SubscribeCustom(a, "room:1", true, &Track{Key: "alice", Meta: json.RawMessage(`{"at":"A"}`)}, nil)
	a.reset()

	// A member on node n2 joins: the local subscriber gets the diff.
	h.ApplyRemotePresence("n2", "room:1", []PresenceEntry{entry("bob", "n2.1", `{"at":"B"}`)}, nil)
	// A join of a known ref and a leave of an unknown ref change nothing.
	h.ApplyRemotePresence("n2", "room:1", []PresenceEntry{entry("bob", "n2.1", `{"at":"B"}`)}, []PresenceEntry{entry("x", "n2.9", `{}`)})
	wantSeq(t, "a", a.all(), `room:1 joins bob={"at":"B"} leaves `)

	// A new local subscriber's state has both, remote members on another
	// channel with no local subscriber are kept for later subscribers.
	h.ApplyRemotePresence("n2", "room:2", []PresenceEntry{entry("carol", "n2.2", `{}`)}, nil)
	c := &recorder{}
	h.SubscribeCustom(c, "room:1", true, nil, nil)
	d := &recorder{}
	h.SubscribeCustom(d, "room:2", true, nil, nil)
	wantSeq(t, "c", c.all(), `room:1 state alice={"at":"A"},bob={"at":"B"}`)
	wantSeq(t, "d", d.all(), `room:2 state carol={}`)

	// Remote members are not local presence, and relay nothing.
	_, st := h.LocalPresence()
	if len(st) != 1 || len(st["room:1"]) != 1 || st["room:1"][0].Key != "alice" {
		t.Fatalf("LocalPresence = %v, want alice on room:1 only", st)
	}
	for _, line := range rel.take() {
		if line != `presence 1 room:1 joins alice={"at":"A"} leaves ` {
			t.Fatalf("remote presence relayed: %q", line)
		}
	}

	// The node's full state replaces what it showed: bob stays, carol
	// leaves, dave joins.
	a.reset()
	d.reset()
	h.ReplaceRemotePresence("n2", map[string][]PresenceEntry{
		"room:1": {entry("bob", "n2.1", `{"at":"B"}`), entry("dave", "n2.3", `{}`)},
	})
	wantSeq(t, "a", a.all(), `room:1 joins dave={} leaves `)
	wantSeq(t, "d", d.all(), `room:2 joins  leaves carol={}`)

	// The node is gone: its members leave.
	a.reset()
	h.ReplaceRemotePresence("n2", nil)
	got := a.all()
	if len(got) != 1 || got[0] != `room:1 joins  leaves bob={"at":"B"},dave={}` && got[0] != `room:1 joins  leaves dave={},bob={"at":"B"}` {
		t.Fatalf("a got %q, want bob and dave leaving", got)
	}
	if st := h.PresenceState("room:1"); len(st) != 1 || st[0].Key != "alice" {
		t.Fatalf("state after the node left: %v", st)
	}
	if len(h.remote) != 0 {
		t.Fatalf("remote index not emptied: %v", h.remote)
	}
}

// A channel that only remote members keep is dropped once they leave.
func TestRemoteOnlyChannelIsForgotten(t *testing.T) {
	h := New(nil)
	h.ApplyRemotePresence("n2", "room:9", []PresenceEntry{entry("bob", "r1", `{}`)}, nil)
	if h.PresenceState("room:9") == nil {
		t.Fatal("remote member not kept")
	}
	h.ApplyRemotePresence("n2", "room:9", nil, []PresenceEntry{{Metas: []PresenceMeta{{Ref: "r1"}}}})
	h.cmu.Lock()
	defer h.cmu.Unlock()
	if len(h.custom) != 0 || len(h.remote) != 0 {
		t.Fatalf("custom %v remote %v, want both empty", h.custom, h.remote)
	}
}
