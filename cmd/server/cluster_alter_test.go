package main

import (
	"strings"
	"testing"
	"time"

	"github.com/walrelay/walrelay/pgembed/pgtest"
)

// ALTER TABLE in a cluster: the hidden column renamed stops the model on
// every node, whichever leads: clients on each node are told to resync and
// never get the row written meanwhile (its renamed column would carry the
// secret); renamed back, events flow again everywhere.
func TestClusterStoppedModelSendsNothing(t *testing.T) {
	cfg := strings.Replace(clusterConfig, "    subscribe: [list]\n", "    subscribe: [list]\n    hide: [secret]\n", 1)
	if cfg == clusterConfig {
		t.Fatal("could not add hide to the cluster config")
	}
	tc := newTestClusterWith(t, `create table items (id bigint generated always as identity primary key, n int not null, body text, secret text)`, cfg)
	nodes := tc.start("a", "b")
	waitLeader(t, nodes, 60*time.Second)
	var clients []*client
	for _, n := range nodes {
		c := dialNode(t, n, "")
		c.subscribe("")
		clients = append(clients, c)
	}
	pgtest.MustExec(t, tc.db, "insert into items (n, secret) values (1, 'SECRET-1')")
	for _, c := range clients {
		if m := c.await("row 1", func(m wsMsg) bool { return m.Type == "event" }); m.n() != 1 || strings.Contains(string(m.Data), "SECRET") {
			t.Fatalf("client on %s: %s %s", c.node, m.Event, m.Data)
		}
	}
	pgtest.MustExec(t, tc.db, "alter table items rename column secret to secret2; insert into items (n, secret2) values (2, 'SECRET-2')")
	pgtest.MustExec(t, tc.db, "alter table items rename column secret2 to secret; insert into items (n, secret) values (3, 'SECRET-3')")
	for _, c := range clients {
		resynced := false
		m := c.await("row 3", func(m wsMsg) bool {
			t.Logf("client on %s: %s %s %s %s", c.node, m.Type, m.Event, m.Reason, m.Data)
			if m.Type == "resync" && m.Reason == "schema_changed" {
				resynced = true
			}
			if m.Type == "event" && (m.n() == 2 || strings.Contains(string(m.Data), "SECRET")) {
				t.Fatalf("client on %s got %s %s", c.node, m.Event, m.Data)
			}
			return m.Type == "event"
		})
		if m.n() != 3 || !resynced {
			t.Fatalf("client on %s: row %d, resync %v", c.node, m.n(), resynced)
		}
	}
}
