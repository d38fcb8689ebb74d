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
//
// The queue asks for its connection's turns (see conn.turn): schedule is
// called when items arrive, the queue overflows or wakeWriter is called
// while the connection has no turn coming. running says one is (scheduled,
// in progress or waiting out the batch window): a connection has at most
// one, so its writes stay in order, and an idle one costs nothing.
type queue struct {
	max    int
	mu     sync.Mutex
	items  []outItem
	full   bool
	closed bool
	peak   int           // the most items ever queued at once
	grown  chan struct{} // closed at the next drain or close; nil if none asked
	over   chan struct{} // closed on overflow
	// dropped, when set, is told of what the queue drops.
	dropped func([]outItem)

	// schedule asks for a turn; running says one is coming, woken that
	// wakeWriter was called or items came since the turn took the queue.
	// writers counts the turns coming, for wait.
	schedule func()
	running  bool
	woken    bool
	writers  sync.WaitGroup
}

// newQueue returns a queue of at most max items that calls schedule for
// a turn when there is something to do (nil: never; tests take items
// themselves).
func newQueue(max int, schedule func()) *queue {
	return &queue{max: max, over: make(chan struct{}), schedule: schedule}
}

// start asks for a turn unless one is coming or the queue is closed;
// called with mu held. A turn in progress is marked woken, so that it
// looks again before it ends.
func (q *queue) start() {
	if q.closed || q.schedule == nil {
		return
	}
	if q.running {
		q.woken = true
		return
	}
	q.running = true
	q.writers.Add(1)
	q.schedule()
}

// wakeWriter makes the connection's next turn look at it (to close it),
// asking for one if none is coming.
func (q *queue) wakeWriter() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.start()
}

// take is the turn's: it takes everything queued, waking whoever waits
// for room.
func (q *queue) take() []outItem {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	q.woken = false
	q.wake()
	return items
}

// again ends a turn: it reports whether the connection needs another
// (items queued, or woken, since the turn took the queue); if not, it
// has no turn coming until start.
func (q *queue) again() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) > 0 || q.woken {
		q.woken = false
		return true
	}
	q.running = false
	q.writers.Done()
	return false
}

// release ends the turn for good: the connection is ending, and close
// has been or will be called.
func (q *queue) release() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.running = false
	q.writers.Done()
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
		q.start() // to close the connection
		return false
	}
	q.items = append(q.items, items...)
	q.peak = max(q.peak, len(q.items))
	q.start()
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

// close makes the queue drop everything from now on and start no writer;
// the connection calls it when it ends. It does not wait for a running
// writer (see wait): the writer may be the one closing.
func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.drop(q.items)
	q.items = nil
	q.wake()
}

// wait closes the queue and waits until its writer has ended.
func (q *queue) wait() {
	q.close()
	q.writers.Wait()
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
