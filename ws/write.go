package ws

import (
	"context"
	"fmt"
	"time"

	"github.com/coder/websocket"
)

// writeLoop is the connection's only writer, run by its queue while there
// is something to do (see queue): it ends when nothing is queued, and the
// queue starts it again for the next message, so an idle connection has no
// writing goroutine. It sends what is queued as one frame, at most one
// frame per BatchWindow: after a quiet spell the first message goes out at
// once, and what is queued within the window after a frame waits for the
// window's end and shares the next frame, unless fullBatch messages are
// waiting already. It closes the connection: with 4408 when the queue
// overflowed, with the code given to closeWith, or at once when a write
// fails. A write that takes longer than WriteTimeout is cut off by the
// server's write watchdog (see watchWrites). Pings are the heartbeat's
// (see conn.heartbeat).
func (c *conn) writeLoop() {
	for {
		if c.ctx.Err() != nil {
			return
		}
		if c.closeIfAsked() {
			c.end()
			return
		}
		// Waiting serves to gather small messages; a queue that already
		// holds a frame's worth (a large transaction, a backlog) is
		// written at once.
		if w := c.s.cfg.BatchWindow; w > 0 && c.q.len() < fullBatch {
			if wait := w - time.Since(c.lastFrame); wait > 0 && !c.waitBatch(wait) {
				continue
			}
		}
		items, more := c.q.next()
		if !more {
			return
		}
		if err := c.flush(items); err != nil {
			c.logger().Debug("websocket write failed, closing", "err", err)
			_ = c.ws.CloseNow()
			c.end()
			return
		}
		if len(items) > 0 {
			c.lastFrame = time.Now()
		}
	}
}

// end ends the connection from the writer's side: its context is canceled
// (the read loop and requests stop) and the queue takes nothing more.
func (c *conn) end() {
	c.cancel()
	c.q.close()
}

// heartbeat pings the client, and closes the connection when no pong comes
// within WriteTimeout; then it runs again after Heartbeat. It runs on the
// connection's heartbeat timer (a goroutine only while it pings).
func (c *conn) heartbeat() {
	if c.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.WriteTimeout)
	err := c.ws.Ping(ctx)
	cancel()
	if err != nil {
		if c.ctx.Err() == nil {
			c.logger().Debug("websocket ping failed, closing", "err", err)
		}
		_ = c.ws.CloseNow()
		return
	}
	c.hbMu.Lock()
	defer c.hbMu.Unlock()
	if c.hbTimer != nil {
		c.hbTimer.Reset(c.s.cfg.Heartbeat)
	}
}

// fullBatch is the queue length from which the write loop does not wait
// out the batch window: so many messages make a frame worth sending now.
const fullBatch = 128

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

// waitBatch waits d, the rest of the batch window, so that messages queued
// meanwhile share the frame. It reports false when the connection is to
// close. The timer is the connection's own, reused.
func (c *conn) waitBatch(d time.Duration) bool {
	if c.batchTimer == nil {
		c.batchTimer = time.NewTimer(d)
	} else {
		c.batchTimer.Reset(d)
	}
	select {
	case <-c.batchTimer.C:
		return true
	case <-c.ctx.Done():
	case <-c.q.over:
	case <-c.closing:
	}
	c.batchTimer.Stop()
	return false
}

// flush writes items, as the connection's protocol frames them (see
// wire.frames).
func (c *conn) flush(items []outItem) error {
	if len(items) == 0 {
		return nil
	}
	frames, err := c.w.frames(items)
	if err != nil {
		return err
	}
	for _, frame := range frames {
		// No deadline on the context: a context with one costs a timer
		// and a cancellation hook per frame. The write watchdog bounds
		// the write (see Server.watchWrites).
		c.writing.Store(time.Now().UnixNano())
		err := c.ws.Write(context.Background(), websocket.MessageText, frame)
		c.writing.Store(0)
		if err != nil {
			c.s.countDropped(items)
			return fmt.Errorf("write frame: %w", err)
		}
	}
	c.s.sent(items, time.Now())
	return nil
}

// maxKeptFrame is the largest frame buffer a connection keeps for the next
// batch; a bigger one (a burst) is left to the garbage collector, so idle
// connections do not hold large buffers.
const maxKeptFrame = 16 << 10

// appendFrame appends to buf a JSON array of the items' encodings, in
// order. An item that fails to encode is left out and reported to bad.
func appendFrame(buf []byte, items []outItem, encode func(outItem) ([]byte, error), bad func(error)) []byte {
	buf = append(buf, '[')
	n := 0
	for _, it := range items {
		b, err := encode(it)
		if err != nil {
			bad(err)
			continue
		}
		if n > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, b...)
		n++
	}
	return append(buf, ']')
}
