package ws

import (
	"sync"

	"github.com/walrelay/walrelay/hub"
)

// outItem is one queued server message: raw bytes, or a hub message encoded
// when written (once, shared with other subscribers).
type outItem struct {
	raw []byte
	msg *hub.Message
}

// queue is a connection's bounded send queue. push never blocks: when the
// queue would overflow, it marks the queue full and drops everything, and
// the writer closes the connection (4408). Safe for concurrent use.
type queue struct {
	max    int
	mu     sync.Mutex
	items  []outItem
	full   bool
	notify chan struct{} // has a value when items were added
	over   chan struct{} // closed on overflow
}

func newQueue(max int) *queue {
	return &queue{max: max, notify: make(chan struct{}, 1), over: make(chan struct{})}
}

// push appends items all or none. It reports false when this push
// overflowed the queue (the queue is then full for good and later pushes
// are dropped, reporting true).
func (q *queue) push(items ...outItem) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.full {
		return true
	}
	if len(q.items)+len(items) > q.max {
		q.full = true
		q.items = nil
		close(q.over)
		return false
	}
	q.items = append(q.items, items...)
	select {
	case q.notify <- struct{}{}:
	default:
	}
	return true
}

// drain takes everything queued.
func (q *queue) drain() []outItem {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}
