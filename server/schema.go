package server

import (
	"context"
	"fmt"
	"time"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/cdc"

	"github.com/walrelay/walrelay/pgjson"
	"github.com/walrelay/walrelay/schemawatch"
)

// initWatcher prepares the schema watcher that follows ALTER TABLE (see
// package schemawatch): it installs the event trigger where the role may
// (database.ddl_trigger), and on each new model version resets the pool
// (prepared statements of the old shape), re-reads generated columns and
// tells the hub when a stopped model is served again.
func (s *Server) initWatcher(ctx context.Context, dec *pgjson.Decoder) error {
	cfg := s.cfg
	poll := cfg.Database.SchemaPollInterval()
	if poll == 0 {
		poll = -1 // schemawatch: never
	}
	wcfg := schemawatch.Config{
		Poll:   poll,
		Logger: s.log.With("part", "schema"),
		Register: func(ctx context.Context, oids []uint32) error {
			conn, err := s.pool.Acquire(ctx)
			if err != nil {
				return fmt.Errorf("acquire connection: %w", err)
			}
			defer conn.Release()
			return dec.Register(ctx, conn.Conn(), oids)
		},
	}
	if !s.check {
		wcfg.URL = cfg.Database.URL
	}
	s.watcher = schemawatch.New(s.schema, s.pool, wcfg)
	s.watcher.OnChange(func(c schemawatch.Change) {
		s.pool.Reset()
		if s.gen != nil {
			s.gen.Invalidate(c.New.Name)
		}
		if s.hub == nil || !c.New.Realtime() {
			return
		}
		switch {
		case c.New.Unavailable != nil && c.Old.Unavailable == nil:
			s.hub.StartGap(c.New.Name)
		case c.New.Unavailable == nil && c.Old.Unavailable != nil:
			// A table dropped and created again is out of the publication:
			// put it back before telling subscribers to re-read.
			if err := s.ensureTables(); err != nil {
				s.log.Error("schema: prepare the realtime tables again", "model", c.New.Name, "err", err)
			}
			s.hub.EndGap(c.New.Name)
		}
	})
	if s.check || !cfg.Database.InstallsDDLTrigger() {
		return nil
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	installed, err := schemawatch.InstallTrigger(ctx, conn.Conn())
	switch {
	case err != nil:
		s.log.Warn("no DDL event trigger; schema changes are seen from the replication stream, failed queries and the poll", "err", err)
	case !installed:
		s.log.Info("no DDL event trigger (the role is not a superuser); schema changes are seen from the replication stream, failed queries and the poll",
			"poll", cfg.Database.SchemaPollInterval())
	}
	return nil
}

// ensureTables gives the available realtime models' tables their replica
// identity and publication again (cdc.EnsureTables). Called from the
// schema watcher's goroutine.
func (s *Server) ensureTables() error {
	var models []*walrelay.Model
	for _, m := range s.schema.Realtime() {
		if m.Unavailable == nil {
			models = append(models, m)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	return cdc.EnsureTables(ctx, conn.Conn(), models, s.replication)
}
