package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/authz"
	"github.com/walrelay/walrelay/cdc"
	"github.com/walrelay/walrelay/hub"
	"github.com/walrelay/walrelay/pgjson"
	"github.com/walrelay/walrelay/store"
	"github.com/walrelay/walrelay/ws"
)

// initRealtime prepares the hub with its replay history, custom channels,
// replication when a model is realtime (see initReplication), and the
// WebSocket gateway at /ws (and its Supabase Realtime adapter).
func (s *Server) initRealtime(ctx context.Context, r chi.Router, dec *pgjson.Decoder, st *store.Store, verifier *authz.Verifier, policy *authz.Policy) error {
	cfg := s.cfg
	chPolicy, err := authz.CompileChannels(cfg.BuildChannels())
	if err != nil {
		return atConfig(cfg, err, "$.channels")
	}
	opts, err := s.joinCluster(ctx)
	if err != nil {
		return err
	}
	h := hub.New(s.log.With("part", "hub"), append(opts, hub.WithHistory(cfg.Realtime.History.MaxEvents, cfg.Realtime.History.MaxAge))...)
	if len(s.schema.Realtime()) > 0 {
		if err := s.initReplication(ctx, h, dec, st); err != nil {
			return err
		}
	} else {
		if s.node != nil {
			if err := s.node.Follow(nil, nil, h); err != nil {
				return fmt.Errorf("cluster: %w", err)
			}
		}
		s.log.Warn("no realtime model: custom channels work, but messages emitted from SQL need a replication stream, which starts only with at least one realtime model")
	}
	s.sendLatency = newSendLatency()
	s.ws = ws.New(ws.Config{
		SendLatency:    s.sendLatency,
		Limits:         cfg.Limits.WS,
		OriginPatterns: cfg.Server.AllowedOrigins,
		TrustProxy:     cfg.Server.TrustProxy,
		Channels:       chPolicy,
		Membership:     s.pool,
		Refresher:      s.watcher,
	}, s.schema, h, st, verifier, policy, s.log.With("part", "ws"))
	r.Handle("/ws", s.ws)
	r.Handle(ws.SupabasePath, s.ws.Supabase()) // the Supabase Realtime adapter (docs/supabase.md)
	s.hub = h
	s.channels = chPolicy
	return nil
}

// initReplication sets up the publication, replica identity, slot and
// epoch, and the consumer that feeds h.
func (s *Server) initReplication(ctx context.Context, h *hub.Hub, dec *pgjson.Decoder, st *store.Store) error {
	cfg := s.cfg
	ccfg := cdc.Config{
		URL: cfg.Database.URL, Slot: cfg.Realtime.Slot, Publication: cfg.Realtime.Publication,
		ManageReplicaIdentity: cfg.Realtime.ManagesReplicaIdentity(), Logger: s.log.With("part", "cdc"),
		MaxRetainedWALBytes: cfg.Realtime.MaxRetainedWALBytes,
		SchemaChanged:       s.watcher.Kick,
	}
	s.replication = ccfg
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	var epoch uint32
	err = cdc.CheckWALLevel(ctx, conn.Conn())
	if s.check {
		conn.Release()
		return err
	}
	if err == nil {
		epoch, err = cdc.Setup(ctx, conn.Conn(), s.schema, ccfg)
	}
	conn.Release()
	if err != nil {
		return err
	}
	h.SetEpoch(epoch)
	st.SetEpoch(epoch)
	local := &hubSink{hub: h, store: st, pool: s.pool, slot: ccfg.Slot, observe: s.observe, log: s.log.With("part", "cdc")}
	var sink cdc.Sink = local
	if s.node != nil {
		if sink, err = s.followStream(ctx, h, local, epoch, &ccfg); err != nil {
			return err
		}
	} else if err := setStart(ctx, s.pool, h, ccfg.Slot, nil); err != nil {
		return err
	}
	if s.gen, err = cdc.FillGenerated(ctx, s.pool, s.schema, dec, sink); err != nil {
		return err
	}
	s.consumer = cdc.NewConsumer(ccfg, s.schema, dec, s.gen)
	return nil
}

// setStart tells the hub where its history begins: the slot's confirmed
// position (the stream resumes after it), or what first returns when it
// is not nil and reports ok (a cluster node: the change stream's first
// message), and the next transaction id, read after both (every
// transaction committed before has a smaller one).
func setStart(ctx context.Context, pool *pgxpool.Pool, h *hub.Hub, slot string,
	first func(context.Context) (walrelay.LSN, bool, error)) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	start, err := cdc.SlotPosition(ctx, conn.Conn(), slot)
	if err != nil {
		return err
	}
	if first != nil {
		lsn, ok, err := first(ctx)
		if err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
		if ok {
			start = lsn
		}
	}
	var xmax uint64
	if err := conn.QueryRow(ctx, "select pg_snapshot_xmax(pg_current_snapshot())::text::bigint").Scan(&xmax); err != nil {
		return fmt.Errorf("read next transaction id: %w", err)
	}
	h.SetStart(start, xmax)
	return nil
}

// hubSink is what the replication consumer hands transactions to: the hub,
// then the optional test observer. Its history bounds the slot's ack; a
// Reset (recreated slot) moves the store's and the hub's epoch. In a
// cluster the stream's follower hands transactions to it instead
// (cluster.Local), and the consumer publishes to the stream.
type hubSink struct {
	hub     *hub.Hub
	store   *store.Store
	pool    *pgxpool.Pool
	slot    string
	observe func(*walrelay.Txn)
	log     *slog.Logger
}

func (k *hubSink) Deliver(ctx context.Context, tx *walrelay.Txn) error {
	if err := k.hub.Deliver(ctx, tx); err != nil {
		return err
	}
	if k.observe != nil {
		k.observe(tx)
	}
	return nil
}

func (k *hubSink) Retained() walrelay.LSN { return k.hub.Retained() }

func (k *hubSink) Reset(epoch uint32) {
	k.store.SetEpoch(epoch)
	k.hub.Reset(epoch)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := setStart(ctx, k.pool, k.hub, k.slot, nil); err != nil {
		k.log.Error("after slot reset: snapshot cursors resync until the next restart", "err", err)
	}
}
