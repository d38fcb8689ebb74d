package ws

import (
	"math"
	"sync"

	"github.com/walrelay/walrelay/hub"
)

// outItem is one queued server message: raw bytes, or a hub message encoded
// when written (once, shared with other subscribers).
type outItem struct {
	raw []byte
	msg *hub.Message
	// ph says where msg goes on a Phoenix connection (see phoenixWire).
	ph *phxOut
}

// queue is a connection's bounded send queue. push never blocks: when the
// queue would overflow, it marks the queue full and drops everything, and
// the writer closes the connection (4408). room tells the hub how much
// fits, for flow control of chunked transactions. Safe for concurrent use.
type queue struct {
	max    int
	mu     sync.Mutex
	items  []outItem
	full   bool
	closed bool
	peak   int           // the most items ever queued at once
	grown  chan struct{} // closed at the next drain or close; nil if none asked
	notify chan struct{} // has a value when items were added
	over   chan struct{} // closed on overflow
	// dropped, when set, is told of what the queue drops.
	dropped func([]outItem)
}

func newQueue(max int) *queue {
	return &queue{max: max, notify: make(chan struct{}, 1), over: make(chan struct{})}
}

// push appends items all or none. It reports false when this push
// overflowed the queue (the queue is then full for good and later pushes
// are dropped, reporting true). What the queue drops, it hands to
// dropped, if set (with the lock held).
func (q *queue) push(items ...outItem) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.full || q.closed {
		q.drop(items)
		return true
	}
	if len(q.items)+len(items) > q.max {
		q.full = true
		q.drop(q.items)
		q.drop(items)
		q.items = nil
		close(q.over)
		q.wake()
		return false
	}
	q.items = append(q.items, items...)
	q.peak = max(q.peak, len(q.items))
	select {
	case q.notify <- struct{}{}:
	default:
	}
	return true
}

func (q *queue) drop(items []outItem) {
	if q.dropped != nil && len(items) > 0 {
		q.dropped(items)
	}
}

// len returns the number of items queued.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// drain takes everything queued, and wakes whoever waits for room.
func (q *queue) drain() []outItem {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	q.wake()
	return items
}

// room returns how many items fit now and a channel closed when that may
// have grown (the next drain, an overflow or close). A full or closed
// queue drops what it is given, so it has room for anything.
func (q *queue) room() (int, <-chan struct{}) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.full || q.closed {
		return math.MaxInt32, nil
	}
	if q.grown == nil {
		q.grown = make(chan struct{})
	}
	return q.max - len(q.items), q.grown
}

// close makes the queue drop everything from now on; the write loop calls
// it when it ends.
func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.drop(q.items)
	q.items = nil
	q.wake()
}

// wake closes grown. Called with mu held.
func (q *queue) wake() {
	if q.grown != nil {
		close(q.grown)
		q.grown = nil
	}
}

// maxQueued returns the most items ever queued at once (tests).
func (q *queue) maxQueued() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.peak
}
