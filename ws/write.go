package ws

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/coder/websocket"
)

// writeLoop is the connection's only writer. It sends what is queued as one
// frame per BatchWindow, pings every Heartbeat, and closes the connection:
// with 4408 when the queue overflowed, with the code given to closeWith, or
// at once when a write or ping fails. It returns when the connection ends.
func (c *conn) writeLoop() {
	defer c.cancel()
	defer c.q.close()
	heartbeat := time.NewTicker(c.s.cfg.Heartbeat)
	defer heartbeat.Stop()
	for {
		if c.closeIfAsked() {
			return
		}
		select {
		case <-c.ctx.Done():
			return
		case <-c.q.over:
		case <-c.closing:
		case <-heartbeat.C:
			ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.WriteTimeout)
			err := c.ws.Ping(ctx)
			cancel()
			if err != nil {
				c.log.Debug("websocket ping failed, closing", "err", err)
				_ = c.ws.CloseNow()
				return
			}
		case <-c.q.notify:
			if !c.waitBatch() {
				continue
			}
			if err := c.flush(); err != nil {
				c.log.Debug("websocket write failed, closing", "err", err)
				_ = c.ws.CloseNow()
				return
			}
		}
	}
}

// closeIfAsked closes the connection if the queue overflowed or closeWith
// was called, and reports whether it did.
func (c *conn) closeIfAsked() bool {
	select {
	case <-c.q.over:
		_ = c.ws.Close(closeTooSlow, "too slow")
		return true
	default:
	}
	select {
	case <-c.closing:
		_ = c.ws.Close(c.closeCode, c.closeWhy)
		return true
	default:
	}
	return false
}

// waitBatch waits out the batch window so that messages queued meanwhile
// share the frame. It reports false when the connection is to close.
func (c *conn) waitBatch() bool {
	if c.s.cfg.BatchWindow <= 0 {
		return true
	}
	t := time.NewTimer(c.s.cfg.BatchWindow)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.ctx.Done():
	case <-c.q.over:
	case <-c.closing:
	}
	return false
}

// flush writes everything queued as one frame: the message itself when
// there is one, else a JSON array of them, in queue order.
func (c *conn) flush() error {
	items := c.q.drain()
	if len(items) == 0 {
		return nil
	}
	var frame []byte
	if len(items) == 1 {
		b, err := c.encode(items[0])
		if err != nil {
			return err
		}
		frame = b
	} else {
		var buf bytes.Buffer
		buf.WriteByte('[')
		n := 0
		for _, it := range items {
			b, err := c.encode(it)
			if err != nil {
				c.log.Error("websocket encode", "err", err)
				continue
			}
			if n > 0 {
				buf.WriteByte(',')
			}
			buf.Write(b)
			n++
		}
		buf.WriteByte(']')
		frame = buf.Bytes()
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.WriteTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, frame); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	return nil
}

func (c *conn) encode(it outItem) ([]byte, error) {
	if it.msg != nil {
		return it.msg.Encoded(c.s.encodeEvent)
	}
	return it.raw, nil
}
