package integration

import (
	"testing"
	"time"

	"github.com/walrelay/walrelay/pgembed/pgtest"
)

// A 200,000-row transaction reaches a subscriber whole and in order
// through the real server: the replication side spills and hands it on in
// chunks, the hub paces the chunks to the client's bounded send queue, and
// the client is not closed as too slow.
func TestLargeTransactionEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("large transaction: skipped in -short mode")
	}
	url := pgtest.MustDatabase(t)
	pgtest.MustExec(t, url, itemsSchema)
	ts := startServerWith(t, url, itemsConfig)
	c := dial(t, ts.URL)
	c.subscribe("s", "Item:list", "")
	conn := db(t, url)
	const n = 200_000
	exec(t, conn, "insert into items (grp, val, note) select i % 3, i, null from generate_series(1, $1) i", n)
	for i := 1; i <= n; i++ {
		// The first event waits for Postgres to commit and decode the
		// whole transaction: allow for a slow, busy machine.
		m := c.nextWithin(2 * time.Minute)
		if m.str("type") != "event" {
			t.Fatalf("message %d: %v", i, m)
		}
		if got := num(m.obj("data")["val"]); got != int64(i) {
			t.Fatalf("event %d carries val %d: out of order", i, got)
		}
	}
}
