package integration

import (
	"strings"
	"testing"
)

// A client away while more changes were made than its send queue holds
// (as after a restart under write load) resumes with its cursor exactly:
// the replay comes in parts as it reads, not as a resync, and an event
// on another of its channels committed after the changes (a fence) comes
// after all of them.
func TestResumeBacklogBiggerThanSendQueue(t *testing.T) {
	url := newDatabase(t)
	conn := db(t, url)
	exec(t, conn, itemsSchema)
	exec(t, conn, "insert into items (grp, val, note) select i % 3, i, 'seed' from generate_series(1, 20) i")
	cfg := strings.Replace(itemsConfig, "limits:\n", "limits:\n  send_queue: 16\n", 1)
	ts := startServerWith(t, url, cfg)
	rep, cursor := hydrate(t, ts.URL, "")
	c := dial(t, ts.URL)
	c.send(map[string]any{"type": "subscribe", "ref": "s", "channel": "Item:list", "since": cursor})
	c.nextOf("subscribed")
	exec(t, conn, "update items set val = val + 1 where id = 1")
	rep.apply(c.nextOf("event"))
	c.conn.CloseNow()

	// 200 transactions (10 queues' worth) while the client is away, then
	// a fence another client waits for: the server has them all.
	for i := range 200 {
		exec(t, conn, "update items set val = val + 1, note = $1 where id = $2", "away", 1+i%20)
	}
	watcher := dial(t, ts.URL)
	watcher.subscribe("f", "Fence:list", "")
	exec(t, conn, "insert into fences (note) values ('written')")
	watcher.nextOf("event")

	c2 := dial(t, ts.URL)
	c2.subscribe("f", "Fence:list", "")
	c2.send(map[string]any{"type": "subscribe", "ref": "s", "channel": "Item:list", "since": rep.last.String()})
	c2.nextOf("subscribed")
	// converge fails on a resync (nextOf), a miss, a duplicate, or the
	// fence arriving before the Item events committed before it.
	converge(t, c2, rep, conn)
	if rep.events != 201 {
		t.Fatalf("applied %d events, want 201", rep.events)
	}
}
