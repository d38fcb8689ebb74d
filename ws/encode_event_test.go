package ws

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/hub"
)

// encodeEventReflect is the reference encoding: encoding/json of an
// eventMsg, as the server encoded events before appendEventJSON.
func encodeEventReflect(m *hub.Message, epoch uint32) ([]byte, error) {
	ev := m.Event
	out := eventMsg{Type: "event", Channel: m.Channel, Event: m.Op,
		Cursor:   walrelay.Cursor{Epoch: epoch, LSN: ev.LSN, Seq: ev.Seq}.String(),
		CommitTS: ev.CommitTime.UTC().Format(commitTSLayout)}
	if m.Op != walrelay.OpTruncated {
		out.ID = ev.ID()
		if m.Op != walrelay.OpDeleted {
			out.Data = visibleRow(ev.Model, ev.New)
		}
		if m.Op != walrelay.OpCreated {
			out.Old = visibleRow(ev.Model, ev.Old)
		}
	}
	return json.Marshal(out)
}

var oddValues = []any{
	nil, "", "plain", `quote " backslash \ slash /`, "<script>&amp;</script>", "tab\tnl\nbs\bff\fcr\r\x00\x01\x1f\x7f",
	"é ü 日本 🎉", "\u2028\u2029", "bad \xff\xfe utf8 \xc3", "\xed\xa0\x80 surrogate",
	int64(0), int64(-1), int64(9007199254740991), int64(-9223372036854775808), 42, int32(-7),
	0.0, -0.0, 1.0, 1.5, -2.25, 1e20, 1e21, 1.2345e21, 1e-6, 1e-7, 9.99e-7, 3.141592653589793, 1e308, -5e-324,
	true, false, json.Number("12.50"), json.Number("-0"), json.Number("1e10"), json.Number("0.000001"),
	json.Number(""), json.RawMessage(`{"a": [1, 2 ], "b":"<x>"}`), json.RawMessage(`null`),
	[]any{int64(1), "two", nil, []any{3.5}}, map[string]any{"k": "v", "a": int64(1)},
	time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC),
}

// The fast encoder writes exactly what encoding/json writes, for every op,
// hidden columns, odd strings and every value type a row may hold.
func TestEventEncoding(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	models := []*walrelay.Model{
		{Name: "Message", PrimaryKey: "id", Hide: []string{"secret", "ip"}},
		{Name: "Plain", PrimaryKey: "id"},
		nil,
	}
	cols := []string{"id", "body", "secret", "ip", "z", "a", "Ä", "<k>", "room_id", ""}
	row := func() walrelay.Row {
		if rng.IntN(8) == 0 {
			return nil
		}
		r := walrelay.Row{}
		for range rng.IntN(len(cols) + 1) {
			r[cols[rng.IntN(len(cols))]] = oddValues[rng.IntN(len(oddValues))]
		}
		return r
	}
	ops := []walrelay.Op{walrelay.OpCreated, walrelay.OpUpdated, walrelay.OpDeleted, walrelay.OpTruncated}
	for i := range 20000 {
		m := models[rng.IntN(len(models))]
		ev := &walrelay.Event{Op: ops[rng.IntN(len(ops))], New: row(), Old: row(), LSN: walrelay.LSN(rng.Uint64()),
			Seq: rng.IntN(1 << 20), CommitTime: time.Unix(rng.Int64N(4e9), rng.Int64N(1e9))}
		if m != nil {
			ev.Model = m
		}
		msg := &hub.Message{Channel: []string{"Message:list", "Plain:item:<1>", "x\u2028"}[i%3], Op: ev.Op, Event: ev}
		if ev.Model == nil && ev.Op != walrelay.OpTruncated {
			ev.Model = &walrelay.Model{Name: "Anon", PrimaryKey: "id"}
		}
		epoch := rng.Uint32()
		want, wantErr := encodeEventReflect(msg, epoch)
		got, err := encodeEvent(msg, epoch)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("event %d: error %v, want %v", i, err, wantErr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("event %d (%s %v / %v):\n got %s\nwant %s", i, ev.Op, ev.New, ev.Old, got, want)
		}
	}
	// encoding/json's refusals are the fast encoder's too.
	ev := &walrelay.Event{Model: models[1], Op: walrelay.OpCreated, New: walrelay.Row{"id": 1, "f": func() {}}}
	if _, err := encodeEvent(&hub.Message{Channel: "Plain:list", Op: ev.Op, Event: ev}, 1); err == nil {
		t.Fatal("a func value encoded")
	}
}
