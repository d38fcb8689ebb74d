package cdc

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// watchShutdown holds a plain connection, idle in LISTEN, and calls lost
// when the server ends it. A fast shutdown terminates every ordinary backend
// first, then waits for each walsender until its client has confirmed all
// WAL; because the consumer's confirmed position deliberately trails its
// history, that never happens, and Postgres would hang in shutdown. So when
// the watch connection is terminated, the replication connection is closed
// too (without confirming more), which lets the walsender exit; the
// consumer reconnects with backoff. A false alarm (an administrator
// terminating the watch connection) only costs a reconnect, replayed from
// the slot. It returns when ctx ends.
func (c *Consumer) watchShutdown(ctx context.Context, lost func()) {
	conn, err := pgx.Connect(ctx, c.cfg.URL)
	if err != nil {
		if ctx.Err() == nil {
			c.cfg.Logger.Debug("cdc: shutdown watch: connect", "err", err)
		}
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "listen walrelay_watch"); err != nil {
		if ctx.Err() == nil {
			c.cfg.Logger.Debug("cdc: shutdown watch: listen", "err", err)
		}
		return
	}
	_, err = conn.WaitForNotification(ctx)
	if ctx.Err() != nil {
		return
	}
	c.cfg.Logger.Info("cdc: database connection terminated (shutdown?); closing the replication connection", "err", err)
	lost()
}
