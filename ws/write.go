package ws

import (
	"context"
	"fmt"
	"time"

	"github.com/coder/websocket"
)

// turn is the connection's share of the writers (see writerPool): it
// writes what is queued as one frame, and reports whether the connection
// needs another turn. The queue asks for turns while there is something to
// do, one at a time, so an idle connection costs no goroutine. At most one
// frame goes out per BatchWindow: after a quiet spell the first message
// goes out at once; what is queued within the window after a frame waits
// for the window's end (on the connection's timer, not a worker) and
// shares the next frame, unless fullBatch messages are waiting already.
// A turn closes the connection: with 4408 when the queue overflowed, with
// the code given to closeWith (both on a goroutine of their own, as the
// close handshake waits for the client), or at once when a write fails. A
// write that takes longer than WriteTimeout is cut off by the server's
// write watchdog (see watchWrites). Pings are the heartbeat's (see
// conn.heartbeat).
func (c *conn) turn() (again bool) {
	if c.ctx.Err() != nil {
		c.q.release()
		return false
	}
	if c.closeAsked() {
		go func() {
			c.closeIfAsked()
			c.end()
		}()
		return false
	}
	// Waiting serves to gather small messages; a queue that already holds
	// a frame's worth (a large transaction, a backlog) is written at once.
	if w := c.s.cfg.BatchWindow; w > 0 && c.q.len() < fullBatch {
		if wait := w - time.Since(c.lastFrame); wait > 0 {
			c.later(wait)
			return false
		}
	}
	if items := c.q.take(); len(items) > 0 {
		if err := c.flush(items); err != nil {
			c.logger().Debug("websocket write failed, closing", "err", err)
			_ = c.ws.CloseNow()
			c.end()
			return false
		}
		c.lastFrame = time.Now()
	}
	return c.q.again()
}

// later gives the connection its next turn after d, the rest of the batch
// window; the turn stays the connection's meanwhile. The timer is the
// connection's own, reused.
func (c *conn) later(d time.Duration) {
	if c.batchTimer == nil {
		c.batchTimer = time.AfterFunc(d, func() { c.s.writers.schedule(c) })
		return
	}
	c.batchTimer.Reset(d)
}

// end ends the connection from the writer's side, in its last turn: its
// context is canceled (the read loop and requests stop), the queue takes
// nothing more, and the turn is over for good.
func (c *conn) end() {
	c.cancel()
	c.q.close()
	c.q.release()
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

// closeAsked reports whether the queue overflowed or closeWith was
// called.
func (c *conn) closeAsked() bool {
	select {
	case <-c.q.over:
		return true
	case <-c.closing:
		return true
	default:
		return false
	}
}

// closeIfAsked closes the connection if the queue overflowed (4408) or
// closeWith was called (its code), and reports whether it did.
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
	c.s.counts.frames.Add(uint64(len(frames)))
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
