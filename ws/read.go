package ws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/coder/websocket"

	"github.com/walrelay/walrelay"
)

// readLoop reads client frames until the connection ends and hands each
// to the connection's protocol (see wire.serveFrame), which answers bad
// ones with errors and keeps the connection open. While the connection is
// closing it only drains. It runs in the connection's goroutine (see
// serve).
func (c *conn) readLoop() {
	for {
		// No context: one that can be canceled costs a registration
		// for every read. Whatever ends the connection closes the
		// socket, which ends the read.
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			if st := websocket.CloseStatus(err); st == -1 && c.ctx.Err() == nil {
				c.logger().Debug("websocket read", "err", err)
			}
			return
		}
		select {
		case <-c.closing:
			continue // closing: drain until the close handshake ends
		default:
		}
		c.serveFrame(typ, data)
	}
}

// serveFrame hands one client frame to the connection's protocol on a
// goroutine of its own, and waits for it. Serving a message (a subscribe's
// rules, decoding, the hub) takes a deeper stack than waiting for the next
// one: run on the read loop's goroutine, it would leave that stack grown
// for the connection's life, 4 KB more for every idle connection.
func (c *conn) serveFrame(typ websocket.MessageType, data []byte) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.w.serveFrame(typ, data)
	}()
	<-done
}

// errClosing is admit's answer when the connection is closing (4429).
var errClosing = errors.New("connection closing")

// admit applies the client message rate limit to one message: nil when it
// may be served, else the rate_limited error to answer it with, or
// errClosing when the client kept going over the limit and the connection
// is being closed with 4429. Read loop.
func (c *conn) admit() error {
	if c.limiter.allow(time.Now()) {
		return nil
	}
	if c.limiter.sustained() {
		c.closeWith(closeRateLimited, "rate limit exceeded")
		return errClosing
	}
	return fmt.Errorf("%w: more than %d messages per second", walrelay.ErrRateLimited, c.s.cfg.MessagesPerSecond)
}

// handle serves one client message; its error is sent as an error frame.
func (c *conn) handle(m inbound) error {
	switch m.Type {
	case "subscribe":
		return c.subscribe(m)
	case "unsubscribe":
		return c.unsubscribe(m)
	case "request":
		return c.startRequest(m)
	case "ping":
		c.send(marshal(pongMsg{Type: "pong", Ref: m.Ref}))
		return nil
	case "auth":
		return c.authenticate(m)
	case "publish":
		return c.publish(m)
	case "presence":
		return c.updatePresence(m)
	case "":
		return fmt.Errorf("%w: message has no type", walrelay.ErrBadRequest)
	}
	return fmt.Errorf("%w: unknown message type %q", walrelay.ErrBadRequest, m.Type)
}

// sendError queues an error frame for err. Internal errors are logged and
// sent without their text.
func (c *conn) sendError(ref json.RawMessage, err error) {
	code, msg, internal := errorCode(err)
	if internal {
		c.logger().Error("websocket request failed", "err", err)
	}
	c.send(marshal(errorMsg{Type: "error", Ref: ref, Code: code, Message: msg}))
}

// decode parses one client frame. Its errors wrap walrelay.ErrBadRequest.
func decode(typ websocket.MessageType, data []byte) (inbound, error) {
	var m inbound
	if typ != websocket.MessageText {
		return m, fmt.Errorf("%w: binary frames are not supported", walrelay.ErrBadRequest)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return inbound{}, fmt.Errorf("%w: malformed message: want a JSON object with a type", walrelay.ErrBadRequest)
	}
	return m, nil
}
