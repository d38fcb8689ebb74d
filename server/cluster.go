package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/cdc"
	"github.com/walrelay/walrelay/cluster"
	"github.com/walrelay/walrelay/hub"
)

// Cluster mode (config `cluster:`, docs/cluster.md): the node joins NATS,
// the replication consumer publishes to the stream instead of feeding the
// hub (it streams only while this node holds the slot), and the node's
// follower feeds the hub from the stream through the same hubSink.

// Replication timing in a cluster: standbys try the slot every second, and
// a leader that lost NATS or Postgres tries again within 2 s, so a new
// leader streams within a few seconds of the old one's end.
const (
	clusterBusyRetry  = time.Second
	clusterMaxBackoff = 2 * time.Second
)

// joinCluster connects to NATS when the config has a cluster section
// (not in check mode), for the hub's options.
func (s *Server) joinCluster(ctx context.Context) ([]hub.Option, error) {
	cl := s.cfg.Cluster
	if cl == nil || s.check {
		return nil, nil
	}
	node, err := cluster.New(ctx, cluster.Config{
		URL: cl.NATSURL, Name: cl.Name, Node: cl.Node, Replicas: cl.Replicas,
		MaxAge: s.cfg.Realtime.History.MaxAge, PresenceTimeout: cl.PresenceTimeout,
		Schema: s.schema, Logger: s.log.With("part", "cluster"),
	})
	if err != nil {
		return nil, fmt.Errorf("%s: cluster: %w", s.cfg.Pos("$.cluster"), err)
	}
	s.node = node
	return []hub.Option{hub.WithRefPrefix(node.RefPrefix())}, nil
}

// followStream makes the node feed local (and so h) from the stream,
// starting h's history where the stream starts, and returns the leader's
// Sink for the consumer.
func (s *Server) followStream(ctx context.Context, h *hub.Hub, local *hubSink, epoch uint32, ccfg *cdc.Config) (cdc.Sink, error) {
	// The history starts at the stream's first message of this epoch
	// (every later transaction is in the stream), or, without one, at the
	// slot's position (every later transaction will be published).
	first := func(ctx context.Context) (walrelay.LSN, bool, error) { return s.node.StreamStart(ctx, epoch) }
	if err := setStart(ctx, s.pool, h, ccfg.Slot, first); err != nil {
		return nil, err
	}
	pool, slot := s.pool, ccfg.Slot
	dbEpoch := func(ctx context.Context) (uint32, error) { return cdc.CurrentEpoch(ctx, pool, slot) }
	if err := s.node.Follow(local, dbEpoch, h); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	ccfg.BusyRetry, ccfg.MaxBackoff = clusterBusyRetry, clusterMaxBackoff
	return s.node.Publisher(epoch), nil
}

// nodeStatus is embedded in the /readyz body.
type nodeStatus = cluster.Status

// clusterReady is /readyz in cluster mode: ready when connected to NATS,
// caught up with the stream, and either leading (streaming) or standing by
// because another node leads.
func (s *Server) clusterReady(w http.ResponseWriter) {
	st := s.node.Status()
	body := struct {
		Status string `json:"status"`
		Role   string `json:"role,omitempty"`
		nodeStatus
	}{Status: "ready", nodeStatus: st}
	switch {
	case s.consumer == nil:
	case s.consumer.Streaming():
		body.Role = "leader"
	case s.consumer.Standby():
		body.Role = "follower"
	default:
		body.Role = "none"
	}
	code := http.StatusOK
	switch {
	case !st.Connected:
		code, body.Status = http.StatusServiceUnavailable, "NATS unreachable"
	case !st.CaughtUp:
		code, body.Status = http.StatusServiceUnavailable, "catching up with the stream"
	case body.Role == "none":
		code, body.Status = http.StatusServiceUnavailable, "replication not streaming"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}
