package ws

import (
	"strconv"
	"testing"
	"time"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/hub"
)

// benchEvent is a created event of the load tool's messages table, with
// its hidden column.
func benchEvent() *walrelay.Event {
	m := &walrelay.Model{Name: "Message", PrimaryKey: "id", Hide: []string{"secret"}}
	return &walrelay.Event{Model: m, Op: walrelay.OpCreated, LSN: 0x1_6B374D848, Seq: 3, CommitTime: time.Now(),
		New: walrelay.Row{"id": int64(123456), "room_id": int64(42), "user_id": "user-17",
			"body": "hello from the walrelay load tool, a chat line of some sixty bytes", "secret": "not for clients",
			"sent_us": time.Now().UnixMicro()}}
}

// BenchmarkEncodeEvent encodes one event frame (hidden column removed):
// the work done once per event and channel, shared by its receivers.
func BenchmarkEncodeEvent(b *testing.B) {
	m := &hub.Message{Channel: "Message:list", Op: walrelay.OpCreated, Event: benchEvent(), Epoch: 7}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeEvent(m, m.Epoch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFrame batches n encoded events into one frame, as the write
// loop does with what queued up within the batch window.
func BenchmarkFrame(b *testing.B) {
	m := &hub.Message{Channel: "Message:list", Op: walrelay.OpCreated, Event: benchEvent(), Epoch: 7}
	encode := func(it outItem) ([]byte, error) {
		return it.msg.Encoded(func(m *hub.Message) ([]byte, error) { return encodeEvent(m, m.Epoch) })
	}
	for _, n := range []int{2, 10, 100} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			items := make([]outItem, n)
			for i := range items {
				items[i] = outItem{msg: m}
			}
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				buf = appendFrame(buf[:0], items, encode, func(err error) { b.Fatal(err) })
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}
