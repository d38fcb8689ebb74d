package cluster

import (
	"context"
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
// stream and returns only once JetStream has acknowledged all its parts,
// so the slot is acknowledged only for what the stream holds.
//
// Each part is published with the stream's expected last sequence, read
// when the node takes the slot (StreamStarted) and moved by each stored
// part: a node that lost the slot but still publishes is refused rather
// than interleaving with the new leader, and a refused leader re-streams.
// Its methods are called from the consumer's goroutine only.
type Publisher struct {
	js      jetstream.JetStream
	names   names
	timeout time.Duration
	log     *slog.Logger

	epoch    atomic.Uint32
	lastSeq  uint64
	partSize int // set by StreamStarted from the server's max_payload
	// published counts the stored parts, for tests and metrics.
	published atomic.Uint64
}

// StreamStarted reads the stream's last sequence: this node has just
// taken the slot and leads.
func (p *Publisher) StreamStarted(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	s, err := p.js.Stream(ctx, p.names.stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", p.names.stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream %s info: %w", p.names.stream, err)
	}
	p.lastSeq = info.State.LastSeq
	p.partSize = partSize(p.js.Conn().MaxPayload())
	p.log.Info("cluster: this node leads: it holds the slot and publishes to the stream", "stream", p.names.stream, "last_seq", p.lastSeq)
	return nil
}

// Deliver publishes one transaction (or chunk) and waits for JetStream to
// acknowledge each part.
func (p *Publisher) Deliver(ctx context.Context, txn *walrelay.Txn) error {
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
	for i, pt := range parts {
		h.Part = i
		msg := nats.NewMsg(pt.subject)
		msg.Data = pt.data
		msg.Header.Set(hdrTxn, h.format())
		if err := p.publish(ctx, msg, h.msgID()); err != nil {
			return fmt.Errorf("publish txn %d at %s part %d/%d: %w", txn.XID, txn.CommitLSN, i+1, len(parts), err)
		}
	}
	return nil
}

// publish stores msg with id, expecting the stream's last sequence.
func (p *Publisher) publish(ctx context.Context, msg *nats.Msg, id string) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	ack, err := p.js.PublishMsg(ctx, msg, jetstream.WithMsgID(id), jetstream.WithExpectStream(p.names.stream),
		jetstream.WithExpectLastSequence(p.lastSeq))
	if err != nil {
		return err
	}
	if !ack.Duplicate {
		p.lastSeq = ack.Sequence
		p.published.Add(1)
	}
	return nil
}

// Retained is 0: the stream, not the slot, keeps the history, so the slot
// is acknowledged as soon as the stream has a transaction.
func (p *Publisher) Retained() walrelay.LSN { return 0 }

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
	ack, err := p.js.PublishMsg(ctx, msg, jetstream.WithMsgID("reset."+strconv.FormatUint(uint64(epoch), 10)),
		jetstream.WithExpectStream(p.names.stream))
	if err != nil {
		p.log.Warn("cluster: publish reset marker; nodes will notice the new epoch with the next change", "epoch", epoch, "err", err)
		return
	}
	if !ack.Duplicate {
		p.lastSeq = ack.Sequence
	}
}
