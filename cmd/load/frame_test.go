package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/walrelay/walrelay"
)

func eventJSON(t *testing.T, lsn walrelay.LSN, seq int, row map[string]any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"type": "event", "channel": "Message:list", "event": "created", "id": 1,
		"data": row, "cursor": walrelay.Cursor{Epoch: 7, LSN: lsn, Seq: seq}.String(), "commit_ts": "2026-01-01T00:00:00.000Z"})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestScanFrame(t *testing.T) {
	row := map[string]any{"id": 1, "room_id": 5, "user_id": "user-\"3\"", "sent_us": 1700000000000001,
		"body": "a } tricky ] \"body\", with {braces}", "meta": map[string]any{"room_id": 9, "x": []any{1, "]"}}}
	ev := eventJSON(t, 42, 3, row)
	frames := map[string]int{
		ev:                        1,
		"[" + ev + "," + ev + "]": 2,
		`{"type":"subscribed","ref":"1","channel":"Message:list","cursor":"x"}`: 1,
		"[ ]": 0,
	}
	for frame, want := range frames {
		var got []msg
		if err := scanFrame([]byte(frame), func(m *msg) { got = append(got, *m) }); err != nil {
			t.Fatalf("scan %s: %v", frame, err)
		}
		if len(got) != want {
			t.Fatalf("scan %s: %d messages, want %d", frame, len(got), want)
		}
	}
	var m msg
	if err := scanFrame([]byte(ev), func(x *msg) { m = *x }); err != nil {
		t.Fatal(err)
	}
	if m.typ != "event" || m.roomID != 5 || string(m.userID) != `user-\"3\"` || m.sentUS != 1700000000000001 || m.hidden {
		t.Fatalf("scanned %+v", m)
	}
	p, ok := parsePosition(m.cursor)
	if !ok || p != (position{epoch: 7, lsn: 42, seq: 3}) {
		t.Fatalf("position %+v %v", p, ok)
	}
	leak := eventJSON(t, 1, 0, map[string]any{"room_id": 1, hiddenColumn: "x"})
	if err := scanFrame([]byte(leak), func(x *msg) { m = *x }); err != nil || !m.hidden {
		t.Fatalf("hidden column not seen: %+v %v", m, err)
	}
	for _, bad := range []string{"", "[", `{"type":"event"`, `[{"type":"event"},]`, `{"type":}`, "[{}] x"} {
		if err := scanFrame([]byte(bad), func(*msg) {}); err == nil {
			t.Errorf("scan %q: no error", bad)
		}
	}
}

// The checks count what the contract forbids: a duplicate, an event out of
// commit order, a row of another room, a hidden column.
func TestClientChecks(t *testing.T) {
	c := &client{spec: &clientSpec{room: 5}}
	in := func(lsn walrelay.LSN, seq int, room int64, hidden bool) {
		m := msg{typ: "event", cursor: []byte(walrelay.Cursor{LSN: lsn, Seq: seq}.String()), roomID: room, hidden: hidden}
		c.event(&m)
	}
	in(10, 0, 5, false)
	in(10, 1, 5, false)
	in(10, 1, 5, false) // duplicate
	in(9, 0, 5, false)  // out of order
	in(11, 0, 6, false) // another room
	in(12, 0, 5, true)  // hidden column
	if c.got.Load() != 4 || c.dups != 1 || c.outOfOrder != 1 || c.foreign != 1 || c.leaks != 1 {
		t.Fatalf("got %d dups %d out of order %d foreign %d leaks %d", c.got.Load(), c.dups, c.outOfOrder, c.foreign, c.leaks)
	}
	f := &fleet{clients: []*client{c}}
	if tl := f.tally(func(*client) int64 { return 4 }); tl.ok() {
		t.Fatalf("tally %+v passes", tl)
	}
	ok := &fleet{clients: []*client{{spec: &clientSpec{}, subscribed: true}}}
	ok.clients[0].got.Store(3)
	if tl := ok.tally(func(*client) int64 { return 3 }); !tl.ok() {
		t.Fatalf("clean tally %+v fails", tl)
	}
	if tl := ok.tally(func(*client) int64 { return 4 }); tl.ok() || tl.Lost != 1 {
		t.Fatalf("a lost delivery passes: %+v", tl)
	}
}

func TestHistogram(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.Add(time.Duration(i) * time.Millisecond)
	}
	s := h.Summary()
	near := func(got, want float64) bool { return got > want*0.98 && got < want*1.02 }
	if s.Count != 1000 || !near(s.P50, 500) || !near(s.P99, 990) || s.Max != 1000 {
		t.Fatalf("summary %+v", s)
	}
	for _, us := range []uint64{0, 1, 127, 128, 129, 255, 256, 1 << 20, 1<<20 + 12345} {
		i := bucketOf(us)
		if lo, hi := lowerOf(i), lowerOf(i+1); us < lo || us >= hi {
			t.Errorf("%d in bucket %d = [%d, %d)", us, i, lo, hi)
		}
	}
}
