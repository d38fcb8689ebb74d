// Package hub routes change events to subscriptions, in process, and keeps
// a bounded replay history per model so that subscriptions can resume
// exactly from a cursor (CONTRACT §5).
//
// The cdc package hands every committed transaction to Hub.Deliver, from one
// goroutine and in commit order. Deliver finds the subscriptions each event
// is for through indexes (model, then channel kind, then row id), so its cost
// grows with the number of receivers rather than with the number of
// subscriptions, and hands every Receiver its deliveries for the whole
// transaction in one call that must not block. For small transactions the
// hub never waits for a client: slow clients are the Receiver's business
// (package ws closes them). Large transactions arrive in chunks
// (walrelay.Txn.More); for those, and for a whole transaction with more
// deliveries for one Receiver than half its queue holds, the hub waits,
// bounded, for each Receiver's queue to have room (see Deliver), so that a
// big transaction reaches a client with a small queue without being
// buffered whole.
//
// Authorization: every subscription carries an Access, its read permission
// resolved by the caller. No event reaches a subscription that may not read
// the event's row (the old row for deletes). For models whose read rule is
// indexed (SetReadIndex), subscriptions are bucketed by key, so routing an
// event touches only the subscriptions that may read it; for the others,
// Access.Allow is called per subscription of the channel.
//
// History: per model, the events of the recent committed transactions,
// bounded by count and age (WithHistory), evicted a whole transaction at a
// time. Resume replays from it. Retained tells cdc how far back the slot
// must be kept so that a restarted server rebuilds it; Reset starts over
// after the stream lost changes.
//
// Custom channels (custom.go, presence.go, emitted.go): subscriptions by
// exact channel name, events published by clients (Publish), presence
// state and diffs, and messages emitted from SQL (OpMessage events, routed by Deliver in
// WAL order with the row events). They are never kept in the history.
package hub

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walrelay/walrelay"
)

// Defaults for the options.
const (
	DefaultMaxEvents = 50000
	DefaultMaxAge    = 10 * time.Minute
	DefaultChunkWait = 10 * time.Second
	// DefaultMaxDroppedXids is how many evicted transaction ids a model
	// remembers to judge snapshot cursors exactly (see Resume).
	DefaultMaxDroppedXids = 65536
)

// maxSeq is the largest Seq a cursor carries: (LSN, maxSeq) is the
// position after the whole transaction at LSN.
const maxSeq = math.MaxInt32

// Option configures a Hub.
type Option func(*Hub)

// WithHistory bounds each model's replay history to maxEvents events and
// to transactions delivered less than maxAge ago (zero or negative: the
// default). The lead maps realtime.history.max_events and max_age to it.
func WithHistory(maxEvents int, maxAge time.Duration) Option {
	return func(h *Hub) {
		if maxEvents > 0 {
			h.maxEvents = maxEvents
		}
		if maxAge > 0 {
			h.maxAge = maxAge
		}
	}
}

// WithChunkWait sets how long Deliver waits, for a part it flow-controls
// (of a chunked transaction, or a large one, see Deliver), for a Receiver
// to make room before handing it the rest anyway (which closes a ws
// connection with 4408). Default 10 s.
func WithChunkWait(d time.Duration) Option {
	return func(h *Hub) {
		if d > 0 {
			h.chunkWait = d
		}
	}
}

// WithClock sets the clock used to age the history (tests).
func WithClock(now func() time.Time) Option { return func(h *Hub) { h.now = now } }

// WithMaxDroppedXids sets how many evicted transaction ids each model
// remembers (see DefaultMaxDroppedXids).
func WithMaxDroppedXids(n int) Option {
	return func(h *Hub) {
		if n > 0 {
			h.maxDropped = n
		}
	}
}

// Hub routes events to subscriptions. All methods are safe for concurrent
// use. Deliver must be called from one goroutine at a time, in commit order.
type Hub struct {
	logger     *slog.Logger
	maxEvents  int
	maxAge     time.Duration
	chunkWait  time.Duration
	maxDropped int
	now        func() time.Time

	// mu guards models, readIndex, the histories and the subscriptions'
	// resume points. Deliver holds it for reading while it routes a
	// transaction (or one chunk), calls the Receivers, records history and
	// moves pos; it is the only one to write history under the read lock.
	// Subscribe, Resume, Unsubscribe, Retained, Reset and the replays in
	// progress (catchup) hold it for writing, so a subscription sees either all or none of a transaction,
	// its cursor is exactly the position before the transactions it
	// receives, and nothing arrives after Unsubscribe returns.
	mu     sync.RWMutex
	models map[string]*modelIndex
	// readIndex holds the models' read indexes (SetReadIndex).
	readIndex map[string]RowKeyFunc
	hist      map[string]*history
	// base is what a model's history starts from when it is created.
	base historyBase
	// xidHigh is the highest 64-bit xid seen, to extend 32-bit xids.
	xidHigh uint64
	// pending is the chunked transaction in progress, nil between
	// transactions. Written by Deliver under the read lock; read by
	// writers.
	pending *pendingTxn
	// byReceiver holds each Receiver's model subscriptions; catching the
	// Receivers' replays in progress (see catchup).
	byReceiver map[Receiver]subSet
	catching   map[Receiver]*catchup
	// pendingDone, when not nil, is closed when the chunked transaction
	// in progress ends (replays wait for it, see catchup). Made by
	// writers; closed and cleared by Deliver under the read lock.
	pendingDone chan struct{}
	// resetting is set by Reset until the next transaction arrives.
	resetting bool
	// stopped holds the models whose last event was of a stopped version
	// (see gap.go). Written by Deliver under the read lock.
	stopped map[string]bool

	// pos is written only by Deliver (under mu's read lock) and Reset.
	pos   atomic.Pointer[walrelay.Cursor]
	epoch atomic.Uint32

	// cmu guards the custom channels (see custom.go) and msgCheck. Lock
	// order: mu before cmu; custom-channel calls take cmu alone.
	cmu      sync.Mutex
	custom   map[string]*customChan
	msgCheck func(channel, event string) error
	msgLog   limitedLog
	// relay, presenceVersion and remote: see relay.go; guarded by cmu.
	// refPrefix is immutable after New.
	relay           Relay
	presenceVersion uint64
	remote          map[string]map[string]*CustomSub
	refPrefix       string
}

// New returns an empty Hub. logger may be nil.
func New(logger *slog.Logger, opts ...Option) *Hub {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &Hub{
		logger: logger, maxEvents: DefaultMaxEvents, maxAge: DefaultMaxAge, chunkWait: DefaultChunkWait,
		maxDropped: DefaultMaxDroppedXids, now: time.Now,
		models: map[string]*modelIndex{}, byReceiver: map[Receiver]subSet{}, catching: map[Receiver]*catchup{}, readIndex: map[string]RowKeyFunc{}, hist: map[string]*history{},
		stopped: map[string]bool{},
		custom:  map[string]*customChan{}, remote: map[string]map[string]*CustomSub{},
		// Until SetStart, nothing before the start is known: snapshot
		// cursors cannot be proven exact.
		base: historyBase{covered: walrelay.Cursor{Seq: maxSeq}, droppedMax: math.MaxUint64},
	}
	for _, o := range opts {
		o(h)
	}
	return h
}

// SetEpoch sets the epoch (see walrelay.Cursor.Epoch) stamped on the
// cursors the hub gives out from now on. Set it before the first Deliver,
// to the same value as the store's.
func (h *Hub) SetEpoch(e uint32) { h.epoch.Store(e) }

// Epoch returns the epoch set with SetEpoch or Reset.
func (h *Hub) Epoch() uint32 { return h.epoch.Load() }

// SetStart declares where the stream starts: lsn is the replication
// slot's confirmed position (every transaction committed after it will be
// delivered; those at or before it are ignored if re-delivered), and
// startXmax is pg_snapshot_xmax(pg_current_snapshot()) read at startup
// (every transaction committed before the hub started has a smaller xid;
// 0: unknown, and snapshot cursors then always resync). Call it before
// Deliver runs; it sets the position reported before the first delivery.
func (h *Hub) SetStart(lsn walrelay.LSN, startXmax uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	// The slot re-streams every transaction whose commit LSN is at or after
	// its confirmed position lsn (Postgres skips only those before it), so
	// the history will hold all of them: coverage and the duplicate cut-off
	// start just before lsn. (Two commit records cannot be one byte apart.)
	if lsn > 0 {
		lsn--
	}
	if h.pos.Load() == nil {
		h.pos.Store(&walrelay.Cursor{LSN: lsn, Seq: maxSeq})
	}
	h.base.covered = walrelay.Cursor{LSN: lsn, Seq: maxSeq}
	h.base.droppedMax = math.MaxUint64
	if startXmax > 0 {
		h.base.droppedMax = startXmax - 1
		h.xidHigh = max(h.xidHigh, startXmax)
	}
	for _, hs := range h.hist {
		if len(hs.txns) == 0 {
			hs.historyBase = h.base
		}
	}
}

// Position returns the cursor just after the last transaction delivered
// (completely, for a chunked one): a subscription made now, between
// transactions, receives every change after it and none before. Before the
// first transaction it is the start set with SetStart, or the zero Cursor.
func (h *Hub) Position() walrelay.Cursor {
	c := walrelay.Cursor{}
	if p := h.pos.Load(); p != nil {
		c = *p
	}
	c.Epoch = h.epoch.Load()
	return c
}

// startCursor is where a subscription made now starts: the position, or
// after the chunked transaction in progress, none of which it receives.
// Called with mu held.
func (h *Hub) startCursor() walrelay.Cursor {
	if h.pending != nil {
		return walrelay.Cursor{Epoch: h.epoch.Load(), LSN: h.pending.lsn, Seq: maxSeq}
	}
	return h.Position()
}

// Deliver routes the events of one committed transaction (or one chunk of
// it, see walrelay.Txn.More) to the matching subscriptions, records them in
// the history, and hands each Receiver its deliveries in commit order.
//
// A transaction that arrives whole is handed on without blocking, one
// Receive call per Receiver, except a Receiver's part that is larger than
// half of its queue (see Bounded): that part, like every part of a chunked
// transaction, is flow-controlled. Before handing such a part (or the rest
// of it) on, Deliver waits until the Receiver has room (Receiver.Room), up
// to the chunk wait (WithChunkWait) without progress; a Receiver that
// makes no room in time is handed the rest anyway, and overflows. So a
// transaction bigger than a client's queue reaches it at the pace it reads,
// and a small one that does not fit closes it at once (package ws: 4408).
// Receivers are served concurrently, so one slow client delays the others
// by at most the chunk wait. The position moves only at the last chunk.
//
// A transaction whose CommitLSN is at or before the position (already
// delivered, e.g. re-streamed after a reconnect or restart) is ignored, as
// are re-sent events of the chunked transaction in progress. Deliver
// returns once every Receiver has been handed its part, after which the
// transaction may be acknowledged. It implements the cdc package's Sink.
//
// Message events (OpMessage, emitted from SQL with prefix "walrelay") are
// routed to the subscribers of the custom channel their content names, in
// WAL order with the row events, in the same per-Receiver batch (see
// routeMessage); they are not kept in the history.
func (h *Hub) Deliver(ctx context.Context, txn *walrelay.Txn) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h.mu.RLock()
	defer h.mu.RUnlock()

	if p := h.pending; p != nil && (txn.CommitLSN != p.lsn || txn.XID != p.xid) {
		h.logger.Error("chunked transaction not finished before the next one; its history is dropped",
			"xid", p.xid, "lsn", p.lsn, "next_lsn", txn.CommitLSN)
		h.abandonPending()
	}
	chunked := txn.More || h.pending != nil
	if h.pending == nil {
		if cur := h.pos.Load(); cur != nil && txn.CommitLSN <= cur.LSN && !h.resetting {
			return nil // already delivered
		}
		if h.resetting {
			h.resetting = false
			h.afterReset(txn.CommitLSN)
		}
		if txn.More {
			h.pending = &pendingTxn{lsn: txn.CommitLSN, xid: txn.XID, lastSeq: -1}
		}
	}
	events := txn.Events
	if p := h.pending; p != nil {
		// Drop events of this transaction that were handed on already.
		i := 0
		for i < len(events) && events[i].Seq <= p.lastSeq {
			i++
		}
		events = events[i:]
	}

	var b batch
	b.epoch = h.epoch.Load()
	// cmu is held while routing, so emitted messages see the custom
	// channels' subscribers as they are, and until the Receivers have
	// their deliveries (but those fed with flow control), so those keep
	// their order with publishes on the same channels.
	h.cmu.Lock()
	for _, ev := range events {
		if ev.Op == walrelay.OpMessage {
			h.routeMessage(ev, &b)
			continue
		}
		if ev.Model == nil || !ev.Model.Broadcasts(ev.Op) || h.gapEvent(ev) {
			continue
		}
		if idx := h.models[ev.Model.Name]; idx != nil {
			idx.route(ev, &b)
		}
	}
	wait := h.handOn(&b, chunked)
	h.cmu.Unlock()
	if err := h.feed(ctx, wait); err != nil {
		return err
	}
	h.record(txn, events)
	if txn.More {
		return nil
	}
	last := h.lastSeq(events)
	h.endPending()
	// Updated under the read lock: Deliver is the only writer of pos, and
	// Subscribe (write lock) never sees a half-routed transaction.
	h.pos.Store(&walrelay.Cursor{LSN: txn.CommitLSN, Seq: max(0, last)})
	return nil
}

// lastSeq is the Seq of the transaction's last event: of events, else of
// the earlier chunks. Called by Deliver before it clears pending.
func (h *Hub) lastSeq(events []*walrelay.Event) int {
	if n := len(events); n > 0 {
		return events[n-1].Seq
	}
	if h.pending != nil {
		return h.pending.lastSeq
	}
	return 0
}

// batch gathers one transaction's deliveries per Receiver, keeping each
// Receiver's deliveries in commit order.
type batch struct {
	epoch uint32
	order []Receiver
	by    map[Receiver][]Delivery
}

func (b *batch) add(s *Subscription, m *Message) {
	if s.catchup != nil || !s.wants(m.Event) {
		return
	}
	b.addTo(s.receiver, Delivery{Sub: s, Msg: m})
}

// addTo appends d to r's deliveries.
func (b *batch) addTo(r Receiver, d Delivery) {
	if b.by == nil {
		b.by = map[Receiver][]Delivery{}
	}
	ds, ok := b.by[r]
	if !ok {
		b.order = append(b.order, r)
	}
	b.by[r] = append(ds, d)
}
