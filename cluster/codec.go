package cluster

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/walrelay/walrelay"
)

// The body of a stream message is a run of encoded events (appendEvent),
// which decodeEvents reads back into the same Go values: a row value is
// one of the types package pgjson produces (nil, bool, int64, float64,
// string, json.Number, json.RawMessage, []any), so read rules, filters and
// the wire encoding see exactly what the leader's decoder made. A value of
// any other type is carried as its JSON encoding (json.RawMessage).

// Value tags.
const (
	tagNil byte = iota
	tagFalse
	tagTrue
	tagInt
	tagFloat
	tagString
	tagNumber
	tagRaw
	tagArray
	tagObject
)

// errCorrupt is wrapped by every decoding error.
var errCorrupt = errors.New("corrupt stream message")

// stoppedSuffix marks the model name of an event of a stopped model
// version (walrelay.Model.Unavailable: its table no longer fits the
// config). Such an event travels without its rows, which may carry a
// renamed hidden column; a node decodes it as an event of a stopped
// version, which its hub does not send (a gap), and a node that does not
// know the mark skips it as an event of an unknown model. An event without
// the mark is of a version that fits, whatever the node's own catalog view
// says: the leader's decoder saw the relation the rows came with.
const stoppedSuffix = "\x00stopped"

// appendEvent appends the encoding of ev (all but the transaction's
// fields: XID, LSN and CommitTime travel in the message header).
func appendEvent(b []byte, ev *walrelay.Event) []byte {
	b = appendString(b, string(ev.Op))
	model := ""
	newRow, oldRow := ev.New, ev.Old
	if ev.Model != nil {
		model = ev.Model.Name
		if ev.Model.Unavailable != nil {
			model += stoppedSuffix
			newRow, oldRow = nil, nil
		}
	}
	b = appendString(b, model)
	b = binary.AppendUvarint(b, uint64(ev.Seq))
	b = appendRow(b, newRow)
	b = appendRow(b, oldRow)
	b = appendString(b, ev.Prefix)
	b = appendBytes(b, ev.Content)
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendBytes distinguishes nil (0) from empty (1) and n bytes (n+1).
func appendBytes(b []byte, p []byte) []byte {
	if p == nil {
		return binary.AppendUvarint(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(p))+1)
	return append(b, p...)
}

// appendRow writes 0 for a nil row, else 1+len and the columns.
func appendRow(b []byte, r walrelay.Row) []byte {
	if r == nil {
		return binary.AppendUvarint(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(r))+1)
	for k, v := range r {
		b = appendString(b, k)
		b = appendValue(b, v)
	}
	return b
}

func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, tagNil)
	case bool:
		if x {
			return append(b, tagTrue)
		}
		return append(b, tagFalse)
	case int64:
		return binary.AppendVarint(append(b, tagInt), x)
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, tagFloat), math.Float64bits(x))
	case string:
		return appendString(append(b, tagString), x)
	case json.Number:
		return appendString(append(b, tagNumber), string(x))
	case json.RawMessage:
		return appendString(append(b, tagRaw), string(x))
	case []any:
		b = binary.AppendUvarint(append(b, tagArray), uint64(len(x)))
		for _, e := range x {
			b = appendValue(b, e)
		}
		return b
	case map[string]any:
		b = binary.AppendUvarint(append(b, tagObject), uint64(len(x)))
		for k, e := range x {
			b = appendString(b, k)
			b = appendValue(b, e)
		}
		return b
	}
	raw, err := json.Marshal(v)
	if err != nil {
		raw = []byte("null")
	}
	return appendString(append(b, tagRaw), string(raw))
}

// decoder reads what appendEvent wrote.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s", errCorrupt, what)
	}
	d.b = nil
}

func (d *decoder) uvarint(what string) uint64 {
	n, k := binary.Uvarint(d.b)
	if k <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[k:]
	return n
}

// count reads a length and checks that at least min bytes per element
// remain, so corrupt input cannot make it allocate much.
func (d *decoder) count(what string, min int) int {
	n := d.uvarint(what)
	if n > uint64(len(d.b)/min) {
		d.fail(what)
		return 0
	}
	return int(n)
}

func (d *decoder) string(what string) string {
	n := d.count(what, 1)
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) bytes(what string) []byte {
	n := d.uvarint(what)
	if n == 0 {
		return nil
	}
	if n-1 > uint64(len(d.b)) {
		d.fail(what)
		return nil
	}
	p := append([]byte{}, d.b[:n-1]...)
	d.b = d.b[n-1:]
	return p
}

func (d *decoder) row() walrelay.Row {
	n := d.uvarint("row")
	if n == 0 {
		return nil
	}
	if n-1 > uint64(len(d.b)/2) {
		d.fail("row")
		return nil
	}
	r := make(walrelay.Row, n-1)
	for range n - 1 {
		k := d.string("column name")
		r[k] = d.value(0)
		if d.err != nil {
			return nil
		}
	}
	return r
}

// maxDepth bounds nesting of arrays and objects.
const maxDepth = 64

func (d *decoder) value(depth int) any {
	if len(d.b) == 0 || depth > maxDepth {
		d.fail("value")
		return nil
	}
	tag := d.b[0]
	d.b = d.b[1:]
	switch tag {
	case tagNil:
		return nil
	case tagFalse:
		return false
	case tagTrue:
		return true
	case tagInt:
		n, k := binary.Varint(d.b)
		if k <= 0 {
			d.fail("integer")
			return nil
		}
		d.b = d.b[k:]
		return n
	case tagFloat:
		if len(d.b) < 8 {
			d.fail("float")
			return nil
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
		d.b = d.b[8:]
		return f
	case tagString:
		return d.string("string")
	case tagNumber:
		return json.Number(d.string("number"))
	case tagRaw:
		return json.RawMessage(d.string("json"))
	case tagArray:
		n := d.count("array", 1)
		out := make([]any, 0, n)
		for range n {
			out = append(out, d.value(depth+1))
		}
		return out
	case tagObject:
		n := d.count("object", 2)
		out := make(map[string]any, n)
		for range n {
			k := d.string("key")
			out[k] = d.value(depth + 1)
		}
		return out
	}
	d.fail("value tag")
	return nil
}

// txnHeader is what every message of one transaction chunk carries, besides
// its events: the transaction's fields and where the part belongs.
type txnHeader struct {
	Epoch      uint32
	XID        uint32
	CommitLSN  walrelay.LSN
	EndLSN     walrelay.LSN
	CommitTime int64 // Unix nanoseconds
	More       bool
	FirstSeq   int // Seq of the chunk's first event: names the chunk
	Part       int
	Parts      int
}

// decodeEvents reads the events of data, resolving models by name in
// schema, and returns them sorted by Seq with h's transaction fields set.
// Events of a model schema does not have (the nodes' configs differ) are
// left out.
func decodeEvents(data []byte, h txnHeader, schema *walrelay.Schema) ([]*walrelay.Event, error) {
	d := &decoder{b: data}
	var out []*walrelay.Event
	commitTime := timeFromNanos(h.CommitTime)
	for len(d.b) > 0 && d.err == nil {
		ev := &walrelay.Event{XID: h.XID, LSN: h.CommitLSN, CommitTime: commitTime}
		ev.Op = walrelay.Op(d.string("op"))
		model := d.string("model")
		seq := d.uvarint("seq")
		if seq > math.MaxInt32 {
			d.fail("seq")
		}
		ev.Seq = int(seq)
		ev.New = d.row()
		ev.Old = d.row()
		ev.Prefix = d.string("prefix")
		ev.Content = d.bytes("content")
		if d.err != nil {
			break
		}
		if name, stopped := strings.CutSuffix(model, stoppedSuffix); stopped {
			m := schema.ByName(name)
			if m == nil {
				continue
			}
			v := *m
			v.Unavailable = &walrelay.Mismatch{Model: name}
			v.Unavailable.Add(m.Source, "the table no longer fits the config on the node that streams (see its log)")
			ev.Model = &v
		} else if model != "" {
			if ev.Model = schema.ByName(model); ev.Model == nil {
				continue
			}
			if ev.Model.Unavailable != nil {
				// The leader's decoder found the event's relation fits the
				// config; this node's catalog view (REST) may lag or lead.
				v := *ev.Model
				v.Unavailable = nil
				ev.Model = &v
			}
		}
		out = append(out, ev)
	}
	if d.err != nil {
		return nil, d.err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, nil
}
