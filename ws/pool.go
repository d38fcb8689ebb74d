package ws

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// writerPool runs the connections' turns (see conn.turn) on a bounded
// number of goroutines, in the order the connections became ready.
//
// A goroutine per connection woken for every message would leave, under a
// fan-out, thousands of runnable goroutines ahead of the hub each time it
// hands on an event: the hub then hands on one event per round of writers,
// every frame carries one message, and the server never catches up. With
// a few workers the hub keeps its share of the CPU; while the workers are
// behind, messages pile up in the queues of the connections waiting their
// turn and go out together, one frame and one write for several: the
// server batches more the further behind it is, and catches up.
//
// A write blocks only when the client's socket buffer is full (a client
// that stopped reading). So that such a connection cannot hold a worker
// from the others, a worker whose write has taken longer than stuckWrite
// is let go when the pool needs one (checked on schedule, and every
// stuckWrite while connections wait): it stops counting against the
// bound, finishes that connection's turn, and ends; a new worker takes its
// place. (The write watchdog closes the connection after WriteTimeout.)
type writerPool struct {
	max int // workers counted at once

	mu      sync.Mutex
	workers []*worker // counted against max
	ready   []*conn   // connections waiting for a turn, oldest at head
	head    int
	// check runs checkStuck, armed while connections wait.
	check      *time.Timer
	checkArmed bool
}

// worker is one goroutine of the pool; cur is the connection it serves.
type worker struct {
	cur      atomic.Pointer[conn]
	detached bool // let go (mu)
}

// stuckWrite is how long a worker's write may take before the pool lets
// the worker go and starts another.
const stuckWrite = 10 * time.Millisecond

// newWriterPool returns a pool of n workers; 0: one per CPU (more would
// take the CPU from the hub under a fan-out: see docs/performance.md).
func newWriterPool(n int) *writerPool {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return &writerPool{max: n}
}

// schedule gives c a turn: at once on a new worker if one may start, else
// after the connections ready before it.
func (p *writerPool) schedule(c *conn) {
	p.mu.Lock()
	if len(p.workers) >= p.max {
		p.detachStuck()
	}
	if len(p.workers) < p.max {
		w := &worker{}
		p.workers = append(p.workers, w)
		p.mu.Unlock()
		go p.run(w, c)
		return
	}
	p.ready = append(p.ready, c)
	p.armCheck()
	p.mu.Unlock()
}

// armCheck makes checkStuck run after stuckWrite, unless it will already:
// connections wait, and all workers may be blocked. Called with mu held.
func (p *writerPool) armCheck() {
	if p.checkArmed {
		return
	}
	p.checkArmed = true
	if p.check == nil {
		p.check = time.AfterFunc(stuckWrite, p.checkStuck)
		return
	}
	p.check.Reset(stuckWrite)
}

// checkStuck lets go the workers blocked in a write and starts workers for
// the connections waiting, in their places, while any wait.
func (p *writerPool) checkStuck() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.checkArmed = false
	if p.head == len(p.ready) {
		return
	}
	p.detachStuck()
	for len(p.workers) < p.max && p.head < len(p.ready) {
		w := &worker{}
		p.workers = append(p.workers, w)
		go p.run(w, p.pop())
	}
	if p.head < len(p.ready) {
		p.armCheck()
	}
}

// pop takes the oldest waiting connection; there must be one. Called with
// mu held.
func (p *writerPool) pop() *conn {
	c := p.ready[p.head]
	p.ready[p.head] = nil
	p.head++
	switch {
	case p.head == len(p.ready):
		p.ready, p.head = p.ready[:0], 0
	case p.head > 1024 && p.head > len(p.ready)/2:
		n := copy(p.ready, p.ready[p.head:])
		clear(p.ready[n:])
		p.ready, p.head = p.ready[:n], 0
	}
	return c
}

// run is a worker: c's turn, then the next ready connection's, until none
// is ready.
func (p *writerPool) run(w *worker, c *conn) {
	for c != nil {
		w.cur.Store(c)
		again := c.turn()
		w.cur.Store(nil)
		next, detached := p.next(w, c, again)
		if detached && again {
			p.schedule(c)
		}
		c = next
	}
}

// next returns the connection for w's next turn, nil when w is to end:
// it was let go (detached; then the caller schedules c again if it asked
// for another turn), or nothing is ready. When again, c goes back to the
// end of the line first.
func (p *writerPool) next(w *worker, c *conn, again bool) (*conn, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w.detached {
		return nil, true
	}
	if again {
		p.ready = append(p.ready, c)
	}
	if p.head < len(p.ready) {
		return p.pop(), false
	}
	for i, x := range p.workers {
		if x == w {
			p.workers = append(p.workers[:i], p.workers[i+1:]...)
			break
		}
	}
	return nil, false
}

// detachStuck lets go the workers whose write has taken longer than
// stuckWrite. Called with mu held.
func (p *writerPool) detachStuck() {
	now := time.Now().UnixNano()
	kept := p.workers[:0]
	for _, w := range p.workers {
		if c := w.cur.Load(); c != nil && c.writeAge(now) > stuckWrite {
			w.detached = true
			continue
		}
		kept = append(kept, w)
	}
	clear(p.workers[len(kept):])
	p.workers = kept
}
