package server

import (
	"context"
	"fmt"

	"github.com/go-chi/chi/v5"

	"github.com/walrelay/walrelay/authz"
	"github.com/walrelay/walrelay/inspector"
)

// mountInspector serves the inspector at /_/ (server.inspector: true).
func (s *Server) mountInspector(r chi.Router, verifier *authz.Verifier) {
	icfg := inspector.Config{Verifier: verifier, Schema: s.schema, Recent: s.recent, Logger: s.log.With("part", "inspector")}
	if s.hub != nil {
		icfg.Hub = s.hub
		icfg.Connections = s.ws.Connections
		icfg.IsCustom = func(name string) bool {
			rules, _ := s.channels.Match(name)
			return rules != nil
		}
	}
	if s.consumer != nil {
		icfg.Slot = s.slotInfo
	}
	s.inspect = inspector.New(icfg)
	r.Mount("/_", s.inspect)
	s.log.Info("inspector at /_/ (admin tokens only)")
}

// slotInfo reports the replication slot for the inspector: what the
// consumer knows, and the WAL written since its confirmed position.
func (s *Server) slotInfo(ctx context.Context) (*inspector.SlotInfo, error) {
	c := s.consumer
	info := &inspector.SlotInfo{
		Name: s.cfg.Realtime.Slot, Streaming: c.Streaming(), Epoch: c.Epoch(),
		ConfirmedLSN: c.Confirmed().String(), RetainedWALBytes: c.RetainedWALBytes(),
	}
	var lag int64
	err := s.pool.QueryRow(ctx, "select (pg_current_wal_lsn() - $1::text::pg_lsn)::bigint", c.Confirmed().String()).Scan(&lag)
	if err != nil {
		return info, fmt.Errorf("read the WAL position: %w", err)
	}
	info.LagBytes = &lag
	return info, nil
}
