package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/walrelay/walrelay"
)

// Publisher is the leader's side: the replication consumer's Sink (see
// cdc.Sink, cdc.StreamStarter), which publishes every transaction to the
// stream. Publishes are pipelined: Deliver sends a transaction's parts
// and returns, and Retained holds the slot's acknowledgement at the oldest
// transaction JetStream has not acknowledged yet, so the slot is
// acknowledged only for what the stream holds. The Publisher keeps what
// it sent until then; when a publish fails it sends it and everything
// after it again, in order, before anything new (message ids make the
// repeats harmless).
//
// Each part names the message id of the part before it as the stream's
// expected last message id: a node that lost the slot but still publishes
// is refused rather than interleaving with the new leader, and a refused
// leader stops (its Deliver fails) until it takes the slot again. Its
// methods are called from the consumer's goroutine only.
type Publisher struct {
	js      jetstream.JetStream
	names   names
	timeout time.Duration
	log     *slog.Logger

	epoch    atomic.Uint32
	partSize int // set by StreamStarted from the server's max_payload
	// lastID is the message id the next part expects last in the stream.
	lastID string
	// inflight are the transactions sent and not yet acknowledged, oldest
	// first; failed says one of them (or a later one) must be sent again.
	inflight []*sent
	bytes    int // of inflight
	failed   bool
	// published counts the stored parts, for tests and metrics.
	published atomic.Uint64
}

// maxInflight and maxInflightBytes bound the transactions (chunks) sent
// and not yet acknowledged, and their size.
const (
	maxInflight      = 256
	maxInflightBytes = 32 << 20
)

// sent is one transaction (chunk) sent to the stream.
type sent struct {
	lsn   walrelay.LSN
	size  int
	parts []sentPart
}

type sentPart struct {
	subject, header, id string
	data                []byte
	fut                 jetstream.PubAckFuture // nil once settled
}

// StreamStarted reads the stream's last message id (this node has just
// taken the slot and leads) and sends again what was not acknowledged.
func (p *Publisher) StreamStarted(ctx context.Context) error {
	ictx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	s, err := p.js.Stream(ictx, p.names.stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", p.names.stream, err)
	}
	info, err := s.Info(ictx)
	if err != nil {
		return fmt.Errorf("stream %s info: %w", p.names.stream, err)
	}
	p.lastID = ""
	if last := info.State.LastSeq; last > 0 && info.State.Msgs > 0 {
		m, err := s.GetMsg(ictx, last)
		if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("stream %s last message: %w", p.names.stream, err)
		}
		if m != nil {
			p.lastID = m.Header.Get(jetstream.MsgIDHeader)
		}
	}
	p.partSize = partSize(p.js.Conn().MaxPayload())
	p.log.Info("cluster: this node leads: it holds the slot and publishes to the stream", "stream", p.names.stream, "last_seq", info.State.LastSeq)
	if len(p.inflight) == 0 {
		return nil
	}
	p.failed = true // the chain starts again from the stream: send them again
	return p.resend(ctx)
}

// Deliver sends one transaction (or chunk) to the stream. It waits only
// while more than maxInflight transactions or maxInflightBytes are
// unacknowledged, and fails when what was sent could not be sent again
// (it stays in flight, and is sent before anything new).
func (p *Publisher) Deliver(ctx context.Context, txn *walrelay.Txn) error {
	if err := p.settle(ctx, false); err != nil {
		return err
	}
	if p.partSize == 0 {
		p.partSize = maxPart
	}
	parts := splitTxn(txn, p.names, p.partSize)
	h := txnHeader{
		Epoch: p.epoch.Load(), XID: txn.XID, CommitLSN: txn.CommitLSN, EndLSN: txn.EndLSN,
		CommitTime: nanosOf(txn.CommitTime), More: txn.More, Parts: len(parts),
	}
	if len(txn.Events) > 0 {
		h.FirstSeq = txn.Events[0].Seq
	}
	s := &sent{lsn: txn.CommitLSN}
	for i, pt := range parts {
		h.Part = i
		s.parts = append(s.parts, sentPart{subject: pt.subject, header: h.format(), id: h.msgID(), data: pt.data})
		s.size += len(pt.data)
	}
	p.inflight = append(p.inflight, s)
	p.bytes += s.size
	if !p.failed {
		for i := range s.parts {
			if err := p.sendAsync(&s.parts[i]); err != nil {
				p.failed = true
				break
			}
		}
	}
	if err := p.settle(ctx, false); err != nil {
		return err
	}
	for len(p.inflight) > maxInflight || p.bytes > maxInflightBytes {
		if err := p.settle(ctx, true); err != nil {
			return err
		}
	}
	return nil
}

// sendAsync sends one part, chained to the one before it.
func (p *Publisher) sendAsync(sp *sentPart) error {
	opts := []jetstream.PublishOpt{jetstream.WithMsgID(sp.id), jetstream.WithExpectStream(p.names.stream)}
	if p.lastID != "" {
		opts = append(opts, jetstream.WithExpectLastMsgID(p.lastID))
	}
	fut, err := p.js.PublishMsgAsync(p.msg(sp), opts...)
	if err != nil {
		return err
	}
	sp.fut, p.lastID = fut, sp.id
	return nil
}

func (p *Publisher) msg(sp *sentPart) *nats.Msg {
	m := nats.NewMsg(sp.subject)
	m.Data = sp.data
	m.Header.Set(hdrTxn, sp.header)
	return m
}

// settle drops the acknowledged transactions from the front of inflight
// (waiting for the oldest when block), and after a failure sends every
// unacknowledged part again, in order (resend).
func (p *Publisher) settle(ctx context.Context, block bool) error {
	for len(p.inflight) > 0 && !p.failed {
		s := p.inflight[0]
		done := true
		for i := range s.parts {
			sp := &s.parts[i]
			if sp.fut == nil {
				continue // stored
			}
			var err error
			if block {
				err = p.wait(ctx, sp)
			} else {
				select {
				case ack := <-sp.fut.Ok():
					p.stored(sp, ack)
				case err = <-sp.fut.Err():
				default:
					done = false
				}
			}
			if err != nil {
				p.log.Warn("cluster: publish failed; sending again", "lsn", s.lsn, "err", err)
				sp.fut, p.failed = nil, true
			}
			if !done || p.failed {
				break
			}
		}
		if !done || p.failed {
			break
		}
		p.bytes -= s.size
		p.inflight[0] = nil
		p.inflight = p.inflight[1:]
		block = false
	}
	if len(p.inflight) == 0 {
		p.inflight = nil
	}
	if p.failed {
		return p.resend(ctx)
	}
	return nil
}

// wait waits for sp's acknowledgement.
func (p *Publisher) wait(ctx context.Context, sp *sentPart) error {
	select {
	case ack := <-sp.fut.Ok():
		p.stored(sp, ack)
		return nil
	case err := <-sp.fut.Err():
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Publisher) stored(sp *sentPart, ack *jetstream.PubAck) {
	sp.fut = nil
	if !ack.Duplicate {
		p.published.Add(1)
	}
}

// resend waits for what is in flight, then sends every part of inflight
// again, in order, each after the one before was acknowledged. Here the
// chain is exact: a duplicate leaves the expected last id as it was. A
// refusal (another node wrote to the stream: this one no longer leads, or
// lost track of the chain) ends it with an error; the parts stay in
// inflight for StreamStarted.
func (p *Publisher) resend(ctx context.Context) error {
	for _, s := range p.inflight {
		for i := range s.parts {
			if sp := &s.parts[i]; sp.fut != nil {
				_ = p.wait(ctx, sp) // stored or not, it is sent again below
				sp.fut = nil
			}
		}
	}
	for len(p.inflight) > 0 {
		s := p.inflight[0]
		for i := range s.parts {
			sp := &s.parts[i]
			pctx, cancel := context.WithTimeout(ctx, p.timeout)
			opts := []jetstream.PublishOpt{jetstream.WithMsgID(sp.id), jetstream.WithExpectStream(p.names.stream)}
			if p.lastID != "" {
				opts = append(opts, jetstream.WithExpectLastMsgID(p.lastID))
			}
			ack, err := p.js.PublishMsg(pctx, p.msg(sp), opts...)
			cancel()
			if err != nil {
				return fmt.Errorf("publish txn at %s part %d/%d: %w", s.lsn, i+1, len(s.parts), err)
			}
			p.stored(sp, ack)
			if !ack.Duplicate {
				p.lastID = sp.id
			}
		}
		p.bytes -= s.size
		p.inflight[0] = nil
		p.inflight = p.inflight[1:]
	}
	p.inflight, p.bytes, p.failed = nil, 0, false
	return nil
}

// Flush waits until JetStream acknowledged everything sent (tests, and
// shutdown).
func (p *Publisher) Flush(ctx context.Context) error {
	for len(p.inflight) > 0 {
		if err := p.settle(ctx, true); err != nil {
			return err
		}
	}
	return nil
}

// Retained is the commit LSN of the oldest transaction not yet stored in
// the stream (0: none): the slot is not acknowledged past it. A failed
// publish found here is sent again at once, so an idle database does not
// leave it waiting for the next change.
func (p *Publisher) Retained() walrelay.LSN {
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	if err := p.settle(ctx, false); err != nil {
		p.log.Warn("cluster: publish failed; retried with the next change or status update", "err", err)
	}
	if len(p.inflight) > 0 {
		return p.inflight[0].lsn
	}
	return 0
}

// Reset is called when the slot was recreated with a new epoch: the
// following transactions carry it, and a reset marker tells the nodes at
// once (best effort: each node also notices the new epoch on the next
// transaction).
func (p *Publisher) Reset(epoch uint32) {
	p.epoch.Store(epoch)
	msg := nats.NewMsg(p.names.resetSubject())
	msg.Header.Set(hdrEpoch, strconv.FormatUint(uint64(epoch), 10))
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	_, err := p.js.PublishMsg(ctx, msg, jetstream.WithMsgID("reset."+strconv.FormatUint(uint64(epoch), 10)),
		jetstream.WithExpectStream(p.names.stream))
	if err != nil {
		p.log.Warn("cluster: publish reset marker; nodes will notice the new epoch with the next change", "epoch", epoch, "err", err)
	}
	p.lastID = "" // read again when the node takes the slot
}
