package ws

import (
	"encoding/json"
	"fmt"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/hub"
)

// eventMsg is the wire form of one event on one channel.
type eventMsg struct {
	Type     string       `json:"type"` // "event"
	Channel  string       `json:"channel"`
	Event    walrelay.Op  `json:"event"`
	ID       any          `json:"id,omitempty"`
	Data     walrelay.Row `json:"data,omitempty"`
	Old      walrelay.Row `json:"old,omitempty"`
	Cursor   string       `json:"cursor"`
	CommitTS string       `json:"commit_ts"`
}

// commitTSLayout is RFC 3339 with milliseconds, in UTC.
const commitTSLayout = "2006-01-02T15:04:05.000Z"

// encodeEvent encodes m as an event frame. It is called once per hub
// Message (see hub.Message.Encoded) and shared by every subscriber.
//
// data is the new row, absent for deletes and truncates (also for an update
// that leaves a filter); old is the previous row when the event has one,
// absent for creates (also for an update that enters a filter) and
// truncates. Hidden columns are removed from both; truncates carry no id.
func encodeEvent(m *hub.Message, epoch uint32) ([]byte, error) {
	ev := m.Event
	var ts [len(commitTSLayout) + 8]byte
	commit := ev.CommitTime.UTC().AppendFormat(ts[:0], commitTSLayout)
	var id any
	var data, old walrelay.Row
	if m.Op != walrelay.OpTruncated {
		id = ev.ID()
		if m.Op != walrelay.OpDeleted {
			data = ev.New
		}
		if m.Op != walrelay.OpCreated {
			old = ev.Old
		}
	}
	b, err := appendEventJSON(make([]byte, 0, 256+64*len(ev.Row())), m.Channel, m.Op, id, data, old, ev.Model,
		walrelay.Cursor{Epoch: epoch, LSN: ev.LSN, Seq: ev.Seq}, commit)
	if err != nil {
		return nil, fmt.Errorf("encode event on %s: %w", m.Channel, err)
	}
	return b, nil
}

// visibleRow returns row without m's hidden columns, copying it only when
// it has some.
func visibleRow(m *walrelay.Model, row walrelay.Row) walrelay.Row {
	if row == nil || m == nil || len(m.Hide) == 0 {
		return row
	}
	out := make(walrelay.Row, len(row))
	for k, v := range row {
		if !m.Hidden(k) {
			out[k] = v
		}
	}
	return out
}

// marshal encodes a server message that cannot fail to encode.
func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("ws: encode %T: %v", v, err))
	}
	return b
}
