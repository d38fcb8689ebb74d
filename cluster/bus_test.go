package cluster

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/walrelay/walrelay/cluster/natstest"
	"github.com/walrelay/walrelay/hub"
)

// busNode is a node with a real hub, sharing custom channels only.
func busNode(t *testing.T, url string, timeout time.Duration) (*testNode, *hub.Hub) {
	t.Helper()
	n := mustNode(t, url, Config{PresenceTimeout: timeout})
	h := hub.New(nil, hub.WithRefPrefix(n.RefPrefix()))
	if err := n.Follow(nil, nil, h); err != nil {
		t.Fatal(err)
	}
	return run(t, n), h
}

func isPresence(pred func(*hub.Presence) bool) func(hub.Delivery) bool {
	return func(d hub.Delivery) bool { return d.Msg.Presence != nil && pred(d.Msg.Presence) }
}

func hasKey(es []hub.PresenceEntry, key string) bool {
	for _, e := range es {
		if e.Key == key {
			return true
		}
	}
	return false
}

// A publish on one node reaches the subscribers of the others (and only
// once: NATS does not echo it back to its own node).
func TestPublishCrossesNodes(t *testing.T) {
	ns := natstest.MustStart(t)
	_, ha := busNode(t, ns.URL(), 5*time.Second)
	_, hc := busNode(t, ns.URL(), 5*time.Second)
	ra, rc := newRecorder(), newRecorder()
	ha.SubscribeCustom(ra, "chat:room:7", false, nil, nil)
	hc.SubscribeCustom(rc, "chat:room:7", false, nil, nil)
	from := map[string]any{"sub": "alice"}
	// The bus subscribes asynchronously: publish until one arrives.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ha.Publish("chat:room:7", &hub.CustomEvent{Event: "typing", Data: json.RawMessage(`{"n":1}`), From: from}, nil)
		rc.mu.Lock()
		n := len(rc.ds)
		rc.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("publish on A never reached C")
		}
		time.Sleep(50 * time.Millisecond) // retry interval while subscriptions settle
	}
	d := rc.waitFor(t, "the event on C", func(d hub.Delivery) bool { return d.Msg.Custom != nil })
	ev := d.Msg.Custom
	if ev.Event != "typing" || string(ev.Data) != `{"n":1}` || string(ev.From.(json.RawMessage)) != `{"sub":"alice"}` {
		t.Fatalf("C got %+v", ev)
	}
	// One more from A, then one from C that A waits for: by then A's own
	// event would have come back to A if NATS echoed it.
	isEvent := func(name string) func(hub.Delivery) bool {
		return func(d hub.Delivery) bool { return d.Msg.Custom != nil && d.Msg.Custom.Event == name }
	}
	ha.Publish("chat:room:7", &hub.CustomEvent{Event: "one"}, nil)
	rc.waitFor(t, "A's second event on C", isEvent("one"))
	hc.Publish("chat:room:7", &hub.CustomEvent{Event: "two"}, nil)
	ra.waitFor(t, "C's event on A", isEvent("two"))
	for who, r := range map[string]*recorder{"A": ra, "C": rc} {
		r.mu.Lock()
		n := 0
		for _, d := range r.ds {
			if isEvent("one")(d) {
				n++
			}
		}
		r.mu.Unlock()
		if n != 1 {
			t.Fatalf("%s got A's event %d times, want 1", who, n)
		}
	}
}

// Presence is cluster-wide: a join on A shows on C, in C's state and
// diffs; A stopping cleanly makes it leave at once; a node that vanishes
// without a word leaves after the presence timeout.
func TestPresenceAcrossNodes(t *testing.T) {
	ns := natstest.MustStart(t)
	const timeout = 4 * time.Second
	na, ha := busNode(t, ns.URL(), timeout)
	_, hc := busNode(t, ns.URL(), timeout)
	rc := newRecorder()
	hc.SubscribeCustom(rc, "room:1", true, &hub.Track{Key: "carol", Meta: json.RawMessage(`{}`)}, nil)
	ra := newRecorder()
	ha.SubscribeCustom(ra, "room:1", true, &hub.Track{Key: "alice", Meta: json.RawMessage(`{"on":"A"}`)}, nil)
	rc.waitFor(t, "alice's join on C", isPresence(func(p *hub.Presence) bool { return hasKey(p.Joins, "alice") }))
	// A subscriber that comes to A later sees carol, who is on C.
	late := newRecorder()
	ha.SubscribeCustom(late, "room:1", true, nil, nil)
	deadline := time.Now().Add(10 * time.Second)
	for !hasKey(ha.PresenceState("room:1"), "carol") {
		if time.Now().After(deadline) {
			t.Fatalf("A's state lacks carol: %v", ha.PresenceState("room:1"))
		}
		time.Sleep(20 * time.Millisecond) // polling
	}
	for _, e := range hc.PresenceState("room:1") {
		if e.Key == "alice" && !strings.HasPrefix(e.Metas[0].Ref, na.RefPrefix()) {
			t.Fatalf("alice's ref %q lacks A's prefix", e.Metas[0].Ref)
		}
	}

	// A stops cleanly: bye, alice leaves on C at once.
	start := time.Now()
	na.stop()
	rc.waitFor(t, "alice's leave on C", isPresence(func(p *hub.Presence) bool { return hasKey(p.Leaves, "alice") }))
	if d := time.Since(start); d >= timeout {
		t.Errorf("leave after a clean stop took %v: the bye was not heard (timeout %v)", d, timeout)
	}

	// B vanishes (its NATS connection is cut, no bye): dave leaves on C
	// within the timeout.
	nb, hb := busNode(t, ns.URL(), timeout)
	rb := newRecorder()
	hb.SubscribeCustom(rb, "room:1", true, &hub.Track{Key: "dave", Meta: json.RawMessage(`{}`)}, nil)
	rc.waitFor(t, "dave's join on C", isPresence(func(p *hub.Presence) bool { return hasKey(p.Joins, "dave") }))
	start = time.Now()
	nb.nc.Close()
	rc.waitFor(t, "dave's leave on C", isPresence(func(p *hub.Presence) bool { return hasKey(p.Leaves, "dave") }))
	if d := time.Since(start); d > 3*timeout {
		t.Errorf("leave of a vanished node took %v (timeout %v)", d, timeout)
	}
	if st := hc.PresenceState("room:1"); len(st) != 1 || st[0].Key != "carol" {
		t.Fatalf("C's state after both left: %v", st)
	}
}
