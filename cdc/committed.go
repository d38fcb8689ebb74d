package cdc

import "github.com/walrelay/walrelay"

// committed is a committed transaction about to be handed on: its first
// events in memory and, for a large one, the rest in a spill file. It is
// handed on in chunks of at most chunk events; close releases the file.
type committed struct {
	d     *txnDecoder
	txn   *walrelay.Txn // header and the in-memory events
	spill *spill        // nil when everything is in txn.Events
	sent  int           // events handed out so far
	first bool          // the in-memory chunk has been handed out
}

// next returns the next chunk: a Txn sharing the header, with More set
// when further chunks follow. ok is false after the last chunk.
func (c *committed) next() (tx *walrelay.Txn, ok bool, err error) {
	if !c.first {
		c.first = true
		tx := *c.txn
		tx.More = c.spill != nil && c.spill.remaining() > 0
		c.sent = len(tx.Events)
		return &tx, true, nil
	}
	if c.spill == nil || c.spill.remaining() == 0 {
		return nil, false, nil
	}
	tx = &walrelay.Txn{XID: c.txn.XID, CommitLSN: c.txn.CommitLSN, EndLSN: c.txn.EndLSN, CommitTime: c.txn.CommitTime}
	tx.Events = make([]*walrelay.Event, 0, min(c.d.chunk, c.spill.remaining()))
	for len(tx.Events) < c.d.chunk {
		ch, more, err := c.spill.next()
		if err != nil {
			return nil, false, err
		}
		if !more {
			break
		}
		tx.Events = append(tx.Events, c.d.event(ch, c.txn, c.sent))
		c.sent++
	}
	tx.More = c.spill.remaining() > 0
	return tx, true, nil
}

// close releases the spill file, if any.
func (c *committed) close() {
	if c.spill != nil {
		c.spill.close()
		c.spill = nil
	}
}

// prefetcher reads a committed transaction's chunks one ahead: a goroutine
// calls next (reading the spill file and decoding) while the caller hands
// the previous chunk on, so the two overlap. At most one chunk waits
// decoded besides the one being handed on. stop ends the goroutine; call
// it before closing the committed transaction.
type prefetcher struct {
	out  chan chunk
	quit chan struct{}
	done chan struct{}
}

type chunk struct {
	tx  *walrelay.Txn
	ok  bool
	err error
}

func prefetch(c *committed) *prefetcher {
	p := &prefetcher{out: make(chan chunk), quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			tx, ok, err := c.next()
			select {
			case p.out <- chunk{tx, ok, err}:
			case <-p.quit:
				return
			}
			if !ok || err != nil {
				return
			}
		}
	}()
	return p
}

// next returns the next chunk, as committed.next does.
func (p *prefetcher) next() (*walrelay.Txn, bool, error) {
	select {
	case c := <-p.out:
		return c.tx, c.ok, c.err
	case <-p.done:
		return nil, false, nil
	}
}

// stop ends the reading goroutine and waits for it.
func (p *prefetcher) stop() {
	close(p.quit)
	<-p.done
}
