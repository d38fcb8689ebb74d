package cdc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/pgjson"
)

// session runs one replication connection until it fails or ctx is done.
func (c *Consumer) session(ctx context.Context) error {
	if err := c.prepare(ctx); err != nil {
		return err
	}
	conn, err := c.connect(ctx)
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	err = pglogrepl.StartReplication(ctx, conn, c.cfg.Slot, 0, pglogrepl.StartReplicationOptions{
		PluginArgs: []string{"proto_version '1'", "publication_names '" + c.cfg.Publication + "'", "messages 'true'"},
	})
	if err != nil {
		if slotLost(err) {
			_ = conn.Close(ctx)
			return c.recreateAfterStartFailure(ctx, err)
		}
		if isCode(err, "55006") { // object_in_use: another walsender streams the slot
			return fmt.Errorf("start replication: %w: %v", ErrSlotBusy, err)
		}
		return fmt.Errorf("start replication: %w", err)
	}
	if st, ok := c.sink.(StreamStarter); ok {
		if err := st.StreamStarted(ctx); err != nil {
			return fmt.Errorf("sink: %w", err)
		}
	}
	c.standby.Store(false)
	c.streaming.Store(true)
	c.cfg.Logger.Info("cdc: streaming", "slot", c.cfg.Slot, "from", c.delivered, "epoch", c.Epoch())
	wctx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		// Closing the socket makes the receive loop fail and the session end.
		c.watchShutdown(wctx, func() { _ = conn.Conn().Close() })
	}()
	defer func() {
		stopWatch()
		<-watchDone
	}()
	s := &stream{c: c, conn: conn, txd: newTxnDecoder(c.schema, c.dec, c.cfg.Logger, c.cfg.ChunkEvents, c.cfg.SpillDir, c.cfg.SchemaChanged)}
	defer s.txd.close()
	err = s.loop(ctx)
	if ctx.Err() != nil {
		// Shutting down: leave the slot at the acknowledged position.
		if err := s.sendStatus(); err != nil {
			c.cfg.Logger.Warn("cdc: final status update", "err", err)
		}
	}
	return err
}

// slotLost reports whether START_REPLICATION failed because the slot was
// invalidated: SQLSTATE 55000 with "can no longer get changes from
// replication slot" (PG 16+) or "cannot read from logical replication
// slot" and a detail saying it was invalidated (PG 13-15).
func slotLost(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "55000" {
		return false
	}
	text := pgErr.Message + " " + pgErr.Detail
	return strings.Contains(text, "can no longer get changes") || strings.Contains(text, "invalidated") ||
		strings.Contains(text, "cannot read from logical replication slot")
}

// connect opens the replication connection. Canceling a context only sets
// a deadline on the socket (no cancel request to the walsender), so the
// connection survives to send a final status update.
func (c *Consumer) connect(ctx context.Context) (*pgconn.PgConn, error) {
	cfg, err := pgconn.ParseConfig(c.cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	cfg.RuntimeParams["replication"] = "database"
	cfg.RuntimeParams["application_name"] = "walrelay"
	for k, v := range pgjson.SessionParams() {
		cfg.RuntimeParams[k] = v
	}
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: pc.Conn()}
	}
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("replication connect: %w", err)
	}
	return conn, nil
}

// stream is the receive loop of one replication connection.
type stream struct {
	c          *Consumer
	conn       *pgconn.PgConn
	txd        *txnDecoder
	nextStatus time.Time
}

// loop receives until the stream fails or ctx ends. Reads are bounded by
// the socket's read deadline, set to the next status update (and to now
// when ctx ends), rather than by a context per message: a context with a
// deadline costs a timer and a cancellation hook for every one of the
// thousands of messages a second.
func (s *stream) loop(ctx context.Context) error {
	s.nextStatus = time.Now() // report the position right away
	nc := s.conn.Conn()
	stop := context.AfterFunc(ctx, func() { _ = nc.SetReadDeadline(time.Now()) })
	defer stop()
	var deadline time.Time
	for {
		if !time.Now().Before(s.nextStatus) {
			if err := s.sendStatus(); err != nil {
				return err
			}
		}
		if !deadline.Equal(s.nextStatus) {
			deadline = s.nextStatus
			if err := nc.SetReadDeadline(deadline); err != nil {
				return fmt.Errorf("set read deadline: %w", err)
			}
			// Checked after setting it, so a cancellation's deadline
			// (set by the AfterFunc) is never overwritten unseen.
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		raw, err := s.conn.ReceiveMessage(context.Background())
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if pgconn.Timeout(err) {
				continue
			}
			return fmt.Errorf("receive: %w", err)
		}
		switch m := raw.(type) {
		case *pgproto3.CopyData:
			if err := s.handleCopyData(ctx, m.Data); err != nil {
				return err
			}
		case *pgproto3.ErrorResponse:
			return fmt.Errorf("replication: %w", pgconn.ErrorResponseToPgError(m))
		case *pgproto3.CopyDone, *pgproto3.CommandComplete:
			return fmt.Errorf("replication: server ended the stream")
		default:
			s.c.cfg.Logger.Debug("cdc: unexpected message", "type", fmt.Sprintf("%T", raw))
		}
	}
}

func (s *stream) handleCopyData(ctx context.Context, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	switch data[0] {
	case pglogrepl.PrimaryKeepaliveMessageByteID:
		ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(data[1:])
		if err != nil {
			return fmt.Errorf("parse keepalive: %w", err)
		}
		// Idle and everything received delivered: the server's WAL end is
		// safe to confirm (still bounded by the sink's Retained), so an
		// idle database does not retain WAL.
		if !s.txd.inTxn() {
			s.c.delivered = max(s.c.delivered, walrelay.LSN(ka.ServerWALEnd))
		}
		if ka.ReplyRequested {
			s.nextStatus = time.Now()
		}
	case pglogrepl.XLogDataByteID:
		xld, err := pglogrepl.ParseXLogData(data[1:])
		if err != nil {
			return fmt.Errorf("parse xlogdata: %w", err)
		}
		msg, err := pglogrepl.Parse(xld.WALData)
		if err != nil {
			return fmt.Errorf("parse pgoutput message: %w", err)
		}
		if rel, ok := msg.(*pglogrepl.RelationMessage); ok {
			s.registerTypes(ctx, rel)
		}
		ct, err := s.txd.handle(msg)
		if err != nil {
			return fmt.Errorf("decode at %s: %w", xld.WALStart, err)
		}
		if ct != nil {
			return s.deliver(ctx, ct)
		}
	}
	return nil
}

// deliver hands a committed transaction to the sink, in chunks, skipping
// one this Consumer already delivered (replayed after a reconnect, since
// the acknowledged position trails). Only after the last chunk does the
// transaction count as delivered.
func (s *stream) deliver(ctx context.Context, ct *committed) error {
	defer ct.close()
	if ct.txn.EndLSN <= s.c.delivered {
		return nil
	}
	next := ct.next
	if ct.spill != nil {
		// A large transaction: its next chunk is read back and decoded
		// while the sink takes the current one.
		p := prefetch(ct)
		defer p.stop() // before ct.close
		next = p.next
	}
	for {
		tx, ok, err := next()
		if err != nil {
			return fmt.Errorf("txn %d at %s: %w", ct.txn.XID, ct.txn.CommitLSN, err)
		}
		if !ok {
			break
		}
		if len(tx.Events) == 0 {
			continue
		}
		if err := s.c.sink.Deliver(ctx, tx); err != nil {
			return fmt.Errorf("deliver txn %d at %s: %w", tx.XID, tx.CommitLSN, err)
		}
		s.c.decoded.Add(uint64(len(tx.Events)))
		if tx.More && !time.Now().Before(s.nextStatus) {
			// Keep the server informed during a long hand-over.
			if err := s.sendStatus(); err != nil {
				return err
			}
		}
	}
	s.c.delivered = ct.txn.EndLSN
	return nil
}

// registerTypes makes sure the decoder knows the relation's column types
// (domains and enums created after startup). Failures are logged: values
// then decode as text.
func (s *stream) registerTypes(ctx context.Context, rel *pglogrepl.RelationMessage) {
	if s.c.schema.ByTable(rel.Namespace, rel.RelationName) == nil {
		return
	}
	var oids []uint32
	for _, col := range rel.Columns {
		if !s.c.dec.Known(col.DataType) {
			oids = append(oids, col.DataType)
		}
	}
	if len(oids) == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.c.registerTypes(rctx, oids); err != nil {
		s.c.cfg.Logger.Warn("cdc: load column types", "table", rel.Namespace+"."+rel.RelationName, "err", err)
	}
}

// sendStatus reports the acknowledged position (see ackPosition) as
// written, flushed and applied, and schedules the next update. Outside a
// transaction it asks for a reply: the server's keepalive then carries its
// WAL end, which the next update confirms, so the slot keeps up with an
// idle stream.
func (s *stream) sendStatus() error {
	pos := pglogrepl.LSN(s.c.ackPosition())
	err := pglogrepl.SendStandbyStatusUpdate(context.Background(), s.conn, pglogrepl.StandbyStatusUpdate{
		WALWritePosition: pos, WALFlushPosition: pos, WALApplyPosition: pos,
		ReplyRequested: !s.txd.inTxn(),
	})
	if err != nil {
		return fmt.Errorf("send standby status: %w", err)
	}
	s.c.confirmed.Store(uint64(pos))
	s.nextStatus = time.Now().Add(s.c.cfg.StandbyTimeout)
	return nil
}
