package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/walrelay/walrelay"
)

// Local is this node's side of the stream: where the follower hands each
// transaction, as cdc hands them to a single node's hub (server's hubSink
// is one).
type Local interface {
	// Deliver hands on one transaction or chunk, in commit order.
	Deliver(ctx context.Context, tx *walrelay.Txn) error
	// Reset starts over with a new epoch (the slot was recreated).
	Reset(epoch uint32)
}

// follower consumes the stream from startSeq with an ordered consumer and
// hands every transaction to local. It is run by Node.Run, on one
// goroutine; the atomics are read by Status.
type follower struct {
	js     jetstream.JetStream
	names  names
	schema *walrelay.Schema
	local  Local
	// dbEpoch reads the slot's current epoch from the database, to tell a
	// new epoch from a stale one.
	dbEpoch func(ctx context.Context) (uint32, error)
	log     *slog.Logger

	// epoch is the epoch of what local holds; stale the epochs seen and
	// found not current. Owned by the run goroutine.
	epoch uint32
	stale map[uint32]bool
	asm   assembly

	// next is the stream sequence to consume from; target the stream's
	// last sequence at startup, which must be reached to be caught up.
	next      atomic.Uint64
	target    uint64
	pending   atomic.Uint64
	streamEnd atomic.Uint64
}

// assembly gathers the parts of one chunk.
type assembly struct {
	key   chunkKey
	h     txnHeader
	parts [][]byte
	have  int
}

// caughtUp reports whether the follower has consumed the stream up to
// where it ended at startup.
func (f *follower) caughtUp() bool { return f.next.Load() > f.target }

// lag is the number of stream messages not yet consumed, as last seen.
func (f *follower) lag() uint64 {
	n := f.pending.Load()
	if end, next := f.streamEnd.Load(), f.next.Load(); end >= next {
		n = max(n, end-next+1)
	}
	return n
}

// run consumes until ctx ends. A consumer that fails is made again from
// the next sequence, after a short backoff.
func (f *follower) run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		consumed, err := f.consume(ctx)
		if ctx.Err() != nil {
			return
		}
		if consumed {
			backoff = 100 * time.Millisecond
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		f.log.Warn("cluster: stream consumer stopped; starting again", "err", err, "from_seq", f.next.Load(), "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// consume runs one ordered consumer until it fails or ctx ends; consumed
// reports whether it handed on anything.
func (f *follower) consume(ctx context.Context) (consumed bool, err error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	cons, err := f.js.OrderedConsumer(cctx, f.names.stream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: f.next.Load(),
	})
	cancel()
	if err != nil {
		return false, fmt.Errorf("create consumer: %w", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(256))
	if err != nil {
		return false, fmt.Errorf("consume: %w", err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer func() {
		stop()
		it.Stop()
	}()
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) && ctx.Err() != nil {
				return consumed, nil
			}
			return consumed, fmt.Errorf("next message: %w", err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return consumed, fmt.Errorf("message metadata: %w", err)
		}
		if want := f.next.Load(); md.Sequence.Stream > want {
			f.gap(want, md.Sequence.Stream)
		}
		if err := f.handle(ctx, msg); err != nil {
			return consumed, err
		}
		consumed = true
		f.pending.Store(md.NumPending)
		f.next.Store(md.Sequence.Stream + 1)
	}
}

// gap handles stream messages that are gone before this node consumed
// them (it fell behind by more than the stream's max age, or they aged
// out while it started): its history no longer continues the stream, so
// it starts over as after a new epoch, and clients resync rather than
// miss changes.
func (f *follower) gap(want, got uint64) {
	f.log.Error("cluster: stream messages were removed before this node read them; clients resync",
		"from_seq", want, "to_seq", got-1)
	f.asm = assembly{}
	f.local.Reset(f.epoch)
}

// handle processes one stream message. An error (the database could not
// say which epoch is current, or local failed) makes run consume it again.
func (f *follower) handle(ctx context.Context, msg jetstream.Msg) error {
	if msg.Subject() == f.names.resetSubject() {
		e, err := strconv.ParseUint(msg.Headers().Get(hdrEpoch), 10, 32)
		if err != nil {
			f.log.Error("cluster: reset marker without an epoch; skipped", "subject", msg.Subject())
			return nil
		}
		_, err = f.useEpoch(ctx, uint32(e))
		return err
	}
	h, err := parseTxnHeader(msg.Headers().Get(hdrTxn))
	if err != nil {
		f.log.Error("cluster: stream message skipped", "subject", msg.Subject(), "err", err)
		return nil
	}
	if ok, err := f.useEpoch(ctx, h.Epoch); !ok {
		return err
	}
	if f.asm.key != h.key() {
		if f.asm.have > 0 {
			f.log.Error("cluster: incomplete transaction chunk in the stream; dropped", "lsn", f.asm.h.CommitLSN, "parts", f.asm.h.Parts, "had", f.asm.have)
		}
		f.asm = assembly{key: h.key(), h: h, parts: make([][]byte, h.Parts)}
	}
	if f.asm.parts[h.Part] == nil {
		f.asm.parts[h.Part] = append([]byte{}, msg.Data()...)
		f.asm.have++
	}
	if f.asm.have < len(f.asm.parts) {
		return nil
	}
	var data []byte
	for _, p := range f.asm.parts {
		data = append(data, p...)
	}
	f.asm = assembly{}
	events, err := decodeEvents(data, h, f.schema)
	if err != nil {
		f.log.Error("cluster: transaction in the stream cannot be decoded; skipped", "lsn", h.CommitLSN, "err", err)
		return nil
	}
	txn := &walrelay.Txn{
		XID: h.XID, CommitLSN: h.CommitLSN, EndLSN: h.EndLSN, CommitTime: timeFromNanos(h.CommitTime),
		Events: events, More: h.More,
	}
	if err := f.local.Deliver(ctx, txn); err != nil {
		return fmt.Errorf("deliver txn %d at %s: %w", h.XID, h.CommitLSN, err)
	}
	return nil
}

// useEpoch reports whether a message of epoch e is to be handed on. A new
// epoch that the database confirms as the slot's current one resets local
// first; one it does not is stale and skipped from then on.
func (f *follower) useEpoch(ctx context.Context, e uint32) (bool, error) {
	if e == f.epoch {
		return true, nil
	}
	if f.stale[e] {
		return false, nil
	}
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	cur, err := f.dbEpoch(qctx)
	cancel()
	if err != nil {
		return false, fmt.Errorf("read the slot's epoch: %w", err)
	}
	if cur != e {
		f.log.Warn("cluster: messages of an old epoch in the stream; skipped", "epoch", e, "current", cur)
		f.stale[e] = true
		return false, nil
	}
	f.log.Warn("cluster: the slot has a new epoch; clients resync", "epoch", e, "was", f.epoch)
	f.stale[f.epoch] = true
	f.epoch = e
	f.asm = assembly{}
	f.local.Reset(e)
	return true, nil
}
