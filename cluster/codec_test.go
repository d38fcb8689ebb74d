package cluster

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/walrelay/walrelay"
)

var testModel = &walrelay.Model{Name: "Message", PrimaryKey: "id"}
var testSchema = walrelay.NewSchema([]*walrelay.Model{testModel, {Name: "Room", PrimaryKey: "id"}})

// randValue returns a random value of the kinds package pgjson makes.
func randValue(r *rand.Rand, depth int) any {
	switch r.IntN(10) {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return r.Int64() - math.MaxInt64/2
	case 3:
		return r.NormFloat64() * 1e6
	case 4:
		return strings.Repeat("é", r.IntN(5)) + "x\x00y"
	case 5:
		return json.Number("12.50")
	case 6:
		return json.RawMessage(`{"a":[1,2,{"b":null}]}`)
	case 7:
		if depth > 2 {
			return "leaf"
		}
		out := []any{}
		for range r.IntN(4) {
			out = append(out, randValue(r, depth+1))
		}
		return out
	case 8:
		return ""
	}
	return int64(r.IntN(100))
}

func randRow(r *rand.Rand) walrelay.Row {
	if r.IntN(4) == 0 {
		return nil
	}
	row := walrelay.Row{}
	for i := range r.IntN(6) {
		row[string(rune('a'+i))] = randValue(r, 0)
	}
	return row
}

// Every value kind, nil and empty rows, messages: encoded and decoded
// they are deeply equal, in Seq order, with the header's fields set.
func TestCodecRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	at := time.Date(2026, 11, 25, 17, 0, 0, 123456789, time.UTC)
	h := txnHeader{Epoch: 7, XID: 99, CommitLSN: 0x16B374D848, EndLSN: 0x16B374D900, CommitTime: at.UnixNano()}
	for round := range 200 {
		var want []*walrelay.Event
		var b []byte
		for seq := range r.IntN(8) + 1 {
			ev := &walrelay.Event{Op: walrelay.OpUpdated, Model: testModel, New: randRow(r), Old: randRow(r),
				XID: h.XID, LSN: h.CommitLSN, CommitTime: at, Seq: seq}
			if r.IntN(5) == 0 {
				ev = &walrelay.Event{Op: walrelay.OpMessage, Prefix: "walrelay", Content: []byte(`{"channel":"c"}`),
					XID: h.XID, LSN: h.CommitLSN, CommitTime: at, Seq: seq}
			}
			want = append(want, ev)
		}
		// Encode out of order (as per-model parts are) to check the sort.
		for _, i := range r.Perm(len(want)) {
			b = appendEvent(b, want[i])
		}
		got, err := decodeEvents(b, h, testSchema)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d:\n got %#v\nwant %#v", round, got, want)
		}
	}
}

// A value of a type pgjson does not make travels as its JSON, and events
// of a model this node does not have are left out.
func TestCodecFallbacks(t *testing.T) {
	type odd struct{ X int }
	b := appendEvent(nil, &walrelay.Event{Op: walrelay.OpCreated, Model: testModel, New: walrelay.Row{"o": odd{3}, "i": 4}})
	b = appendEvent(b, &walrelay.Event{Op: walrelay.OpCreated, Model: &walrelay.Model{Name: "Gone"}, Seq: 1})
	got, err := decodeEvents(b, txnHeader{}, testSchema)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d events, want 1 (Gone is not a model here)", len(got))
	}
	if o := got[0].New["o"]; !reflect.DeepEqual(o, json.RawMessage(`{"X":3}`)) {
		t.Fatalf("odd value = %#v", o)
	}
	if i := got[0].New["i"]; !reflect.DeepEqual(i, json.RawMessage(`4`)) {
		t.Fatalf("int value = %#v", i)
	}
}

// An event of a stopped model version travels without its rows and is
// decoded as an event of a stopped version, so no node sends it.
func TestCodecStoppedModel(t *testing.T) {
	stopped := *testModel
	stopped.Unavailable = &walrelay.Mismatch{Model: testModel.Name}
	stopped.Unavailable.Add("w.yaml:3", "hide column %q is no longer in %s", "ip", "public.messages")
	b := appendEvent(nil, &walrelay.Event{Op: walrelay.OpCreated, Model: &stopped, New: walrelay.Row{"id": int64(1), "ip2": "secret"}})
	if strings.Contains(string(b), "secret") {
		t.Fatalf("a stopped version's row was encoded: %q", b)
	}
	got, err := decodeEvents(b, txnHeader{}, testSchema)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Model.Name != "Message" || got[0].Model.Unavailable == nil || got[0].New != nil {
		t.Fatalf("decoded %+v", got)
	}
	if testModel.Unavailable != nil {
		t.Fatal("the schema's model was changed")
	}
	// An unmarked event is of a version that fits, even when this node's
	// catalog view has the model stopped.
	schema := walrelay.NewSchema([]*walrelay.Model{testModel})
	schema.Replace(&stopped)
	got, err = decodeEvents(appendEvent(nil, &walrelay.Event{Op: walrelay.OpCreated, Model: testModel, New: walrelay.Row{"id": int64(2)}}), txnHeader{}, schema)
	if err != nil || len(got) != 1 || got[0].Model.Unavailable != nil || got[0].New["id"] != int64(2) {
		t.Fatalf("decoded %+v, %v", got, err)
	}
}

func TestCodecRejectsCorruptInput(t *testing.T) {
	full := appendEvent(nil, &walrelay.Event{Op: walrelay.OpCreated, Model: testModel,
		New: walrelay.Row{"a": []any{"x", int64(1)}, "b": json.Number("1")}})
	for i := 1; i < len(full); i++ {
		if _, err := decodeEvents(full[:i], txnHeader{}, testSchema); !errors.Is(err, errCorrupt) {
			t.Fatalf("truncated at %d/%d: err = %v, want errCorrupt", i, len(full), err)
		}
	}
	huge := appendString(nil, "created")
	huge = appendString(huge, "Message")
	huge = append(huge, 0, 0xff, 0xff, 0xff, 0xff, 0x0f) // seq 0, a row of 4 billion columns
	if _, err := decodeEvents(huge, txnHeader{}, testSchema); !errors.Is(err, errCorrupt) {
		t.Fatalf("huge count: err = %v", err)
	}
}

func FuzzDecodeEvents(f *testing.F) {
	f.Add(appendEvent(nil, &walrelay.Event{Op: walrelay.OpCreated, Model: testModel, New: walrelay.Row{"id": int64(1), "t": []any{"a"}}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := decodeEvents(data, txnHeader{}, testSchema)
		if err == nil {
			var b []byte
			for _, ev := range evs {
				b = appendEvent(b, ev)
			}
			if _, err := decodeEvents(b, txnHeader{}, testSchema); err != nil {
				t.Fatalf("re-encoded events do not decode: %v", err)
			}
		}
	})
}

func TestTxnHeaderRoundTrip(t *testing.T) {
	h := txnHeader{Epoch: 1<<32 - 1, XID: 5, CommitLSN: 1 << 40, EndLSN: 1<<40 + 8, CommitTime: 1764000000123456789,
		More: true, FirstSeq: 10000, Part: 2, Parts: 3}
	got, err := parseTxnHeader(h.format())
	if err != nil || got != h {
		t.Fatalf("parse(format) = %+v, %v; want %+v", got, err, h)
	}
	for _, bad := range []string{"", "1.2.3", "1.2.3.4.5.2.0.0.1", "1.2.3.4.5.0.0.1.1", "1.2.3.4.5.0.0.0.0", "x.2.3.4.5.0.0.0.1", "4294967296.2.3.4.5.0.0.0.1"} {
		if _, err := parseTxnHeader(bad); !errors.Is(err, errCorrupt) {
			t.Errorf("parse(%q) err = %v, want errCorrupt", bad, err)
		}
	}
}

// A transaction is split per model and into parts of at most maxPart;
// the parts put back together decode to the transaction.
func TestPartSize(t *testing.T) {
	for payload, want := range map[int64]int{0: maxPart, 1 << 20: maxPart, 64 << 10: 56 << 10, 4 << 10: 1 << 10} {
		if got := partSize(payload); got != want {
			t.Errorf("partSize(%d) = %d, want %d", payload, got, want)
		}
	}
}

func TestSplitTxn(t *testing.T) {
	n := newNames("c1")
	room := testSchema.ByName("Room")
	big := strings.Repeat("x", maxPart/3)
	txn := &walrelay.Txn{XID: 1, CommitLSN: 100}
	for seq := range 8 {
		m := testModel
		if seq%2 == 1 {
			m = room
		}
		txn.Events = append(txn.Events, &walrelay.Event{Op: walrelay.OpCreated, Model: m, New: walrelay.Row{"body": big}, Seq: seq, XID: 1, LSN: 100})
	}
	txn.Events = append(txn.Events, &walrelay.Event{Op: walrelay.OpMessage, Prefix: "walrelay", Content: []byte("{}"), Seq: 8, XID: 1, LSN: 100})
	parts := splitTxn(txn, n, maxPart)
	subjects := map[string]int{}
	var data []byte
	for _, p := range parts {
		if len(p.data) > maxPart {
			t.Fatalf("part of %d bytes", len(p.data))
		}
		subjects[p.subject]++
		data = append(data, p.data...)
	}
	want := map[string]int{"walrelay.c1.tx.model.Message": 2, "walrelay.c1.tx.model.Room": 2, "walrelay.c1.tx.message": 1}
	if !reflect.DeepEqual(subjects, want) {
		t.Fatalf("parts per subject %v, want %v", subjects, want)
	}
	got, err := decodeEvents(data, txnHeader{XID: 1, CommitLSN: 100}, testSchema)
	if err != nil || !reflect.DeepEqual(got, txn.Events) {
		t.Fatalf("reassembled: %v, equal=%v", err, reflect.DeepEqual(got, txn.Events))
	}
	if ps := splitTxn(&walrelay.Txn{}, n, maxPart); len(ps) != 1 || ps[0].subject != "walrelay.c1.tx.message" || len(ps[0].data) != 0 {
		t.Fatalf("empty chunk: %+v", ps)
	}
}
