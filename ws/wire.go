package ws

import (
	"fmt"

	"github.com/coder/websocket"

	"github.com/walrelay/walrelay/hub"
)

// wire is the protocol a connection speaks: walrelay's own at /ws
// (walrelayWire: protocol.go, read.go, encode*.go) or Phoenix channels, as
// Supabase Realtime speaks them, at /realtime/v1/websocket (phoenixWire:
// phoenix*.go). Everything else is one path for both: the connection's
// queue and writer, its identity and limits, its subscriptions in the hub
// and the rules that guard them (conn.go, write.go, auth.go, subscribe.go,
// custom.go, presence.go).
type wire interface {
	// serveFrame answers one client frame. Read loop.
	serveFrame(typ websocket.MessageType, data []byte)
	// items turns one hub Receive call's deliveries into queue items, in
	// order. Hub goroutines (see hub.Receiver): it must not block, and
	// may run concurrently with itself and the read loop.
	items(ds []hub.Delivery) []outItem
	// resync tells the client that subscription s must be re-read (see
	// hub.Receiver.Resync). Hub goroutines.
	resync(s *hub.Subscription, reason string)
	// frames encodes what was drained from the queue as the text frames
	// to write, in order. Write loop.
	frames(items []outItem) ([][]byte, error)
	// revoked tells the client that a token refresh ended its
	// subscription to channel, made for owner (see subscription.owner);
	// the core has already removed it. Read loop.
	revoked(channel, owner string)
}

// walrelayWire is walrelay's own protocol (CONTRACT §3).
type walrelayWire struct{ c *conn }

func (w walrelayWire) serveFrame(typ websocket.MessageType, data []byte) {
	c := w.c
	m, decodeErr := decode(typ, data)
	if !c.authed && (decodeErr != nil || m.Type != "auth") {
		c.closeWith(closeUnauthorized, `authenticate first: send {"type":"auth","token":..}`)
		return
	}
	if err := c.admit(); err != nil {
		if err != errClosing {
			c.sendError(m.Ref, err)
		}
		return
	}
	if decodeErr != nil {
		c.sendError(nil, decodeErr)
		return
	}
	if err := c.handle(m); err != nil {
		c.sendError(m.Ref, err)
	}
}

func (w walrelayWire) items(ds []hub.Delivery) []outItem {
	items := make([]outItem, len(ds))
	for i, d := range ds {
		items[i] = outItem{msg: d.Msg}
	}
	return items
}

func (w walrelayWire) resync(s *hub.Subscription, reason string) {
	w.c.send(marshal(resyncMsg{Type: "resync", Channel: s.Channel.String(), Reason: reason}))
}

// frames writes everything queued as one frame: the message itself when
// there is one, else a JSON array of them, in queue order. A message that
// fails to encode is logged and left out of an array; alone, its error is
// returned.
func (w walrelayWire) frames(items []outItem) ([][]byte, error) {
	c := w.c
	if len(items) == 1 {
		b, err := c.encode(items[0])
		if err != nil {
			return nil, err
		}
		return [][]byte{b}, nil
	}
	frame := appendFrame(c.frameBuf[:0], items, c.encode, func(err error) { c.logger().Error("websocket encode", "err", err) })
	if cap(frame) <= maxKeptFrame {
		c.frameBuf = frame
	}
	return [][]byte{frame}, nil
}

func (w walrelayWire) revoked(channel, _ string) {
	w.c.send(marshal(errorMsg{Type: "error", Code: CodeForbidden, Channel: channel,
		Message: fmt.Sprintf("forbidden: no longer allowed to subscribe to %s", channel)}))
}

// encode returns a walrelay queue item's bytes.
func (c *conn) encode(it outItem) ([]byte, error) {
	if it.msg != nil {
		return it.msg.Encoded(c.s.encodeEvent)
	}
	return it.raw, nil
}
