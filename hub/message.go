package hub

import (
	"sync/atomic"

	"github.com/walrelay/walrelay"
)

// Message is one event as sent on one channel. Deliver makes one Message per
// event, channel and event name and shares it among all the subscriptions
// that receive it, so its encoding can be computed once (see Encoded).
// Its exported fields are immutable.
type Message struct {
	// Channel is the channel name, e.g. "Message:list".
	Channel string
	// Op is the event name sent. It differs from Event.Op when a filtered
	// :list subscription sees a row enter ("created") or leave ("deleted")
	// its filter through an update.
	Op    walrelay.Op
	Event *walrelay.Event
	// Epoch is the hub's epoch when the message was made: the epoch of the
	// event's cursor.
	Epoch uint32
	// Custom is set for an event on a custom channel (see CustomEvent):
	// Event is then nil for a published event, or the OpMessage event of a
	// message emitted from SQL. Op is empty.
	Custom *CustomEvent
	// Presence is set for a presence message on a custom channel; Event
	// is then nil and Op empty.
	Presence *Presence

	enc [Encodings]atomic.Pointer[encoding]
}

// Encodings is how many encodings of itself a Message keeps (see
// EncodedAs): one per wire protocol that sends it (package ws: walrelay's
// own and Phoenix channels).
const Encodings = 2

// encoding is one cached encoding of a Message.
type encoding struct {
	b   []byte
	err error
}

// Encoded returns encode(m), computed once per Message and shared: later
// calls, from any goroutine, return the first result stored. Calls that
// race on a Message not yet encoded may each run encode (encode must be
// deterministic); none waits for another, so the thousands of write loops
// woken by one event never queue on a lock. The bytes returned are shared
// and must not be modified. It is EncodedAs(0, encode).
func (m *Message) Encoded(encode func(*Message) ([]byte, error)) ([]byte, error) {
	return m.EncodedAs(0, encode)
}

// EncodedAs is Encoded for encoding number slot (0 <= slot < Encodings),
// so that each protocol computes its own form once per Message.
func (m *Message) EncodedAs(slot int, encode func(*Message) ([]byte, error)) ([]byte, error) {
	p := &m.enc[slot]
	if e := p.Load(); e != nil {
		return e.b, e.err
	}
	b, err := encode(m)
	e := &encoding{b: b, err: err}
	if !p.CompareAndSwap(nil, e) {
		e = p.Load()
	}
	return e.b, e.err
}
