package ws

import (
	"context"
	"time"

	"github.com/walrelay/walrelay/authz"
)

// Defaults for the Config fields left zero that are not Limits.
const (
	DefaultBatchWindow       = 5 * time.Millisecond
	DefaultWriteTimeout      = 10 * time.Second
	DefaultAuthTimeout       = 10 * time.Second
	DefaultMembershipTimeout = 2 * time.Second
)

// Querier runs a custom channel's subscribe_sql membership query (see
// authz.Querier); *pgxpool.Pool implements it.
type Querier = authz.Querier

// Config holds the gateway's settings: the configurable Limits, and the
// rest that the server wires in. Zero fields take the Default* values.
type Config struct {
	// Limits are walrelay.yaml's limits for the gateway.
	Limits
	// BatchWindow is how long the writer waits after the first queued
	// message for more, so that they go out as one frame. Negative: none.
	BatchWindow time.Duration
	// Writers bounds the goroutines writing to connections at once (see
	// writerPool); 0: one per CPU.
	Writers int
	// WriteTimeout bounds one frame write and one ping.
	WriteTimeout time.Duration
	// OriginPatterns lists the browser origins, besides the server's own
	// host, allowed to connect (see websocket.AcceptOptions).
	OriginPatterns []string
	// TrustProxy makes the client IP the last address in X-Forwarded-For
	// (appended by the reverse proxy in front of the server) instead of
	// the TCP peer. Off by default: behind a proxy every client then
	// counts as the proxy's IP. Turn it on only behind a proxy that sets
	// the header, or clients can pick their IP.
	TrustProxy bool
	// AuthTimeout is how long a connection without a token (and without
	// anonymous access) has to send its auth message before it is closed
	// with 4401.
	AuthTimeout time.Duration

	// Channels holds the compiled custom channels (authz.CompileChannels);
	// nil: none, and publish is refused.
	Channels *authz.ChannelPolicy
	// Membership runs the channels' subscribe_sql queries (the server's
	// pool). Required when a channel has subscribe_sql: without it such
	// subscriptions fail with internal.
	Membership Querier
	// MembershipTimeout bounds one subscribe_sql query; past it the
	// subscription fails with internal.
	MembershipTimeout time.Duration
	// SendLatency, when set, observes each row event's time from its
	// commit (the transaction's commit timestamp) to its write to the
	// socket, in seconds.
	SendLatency Observer

	// Refresher, when set, is asked to read the catalog again when a
	// request fails because the table changed under it; the request is
	// then run once more on the model's new version.
	Refresher Refresher
}

// Refresher re-reads the live catalog and replaces the schema's model
// versions that changed, before it returns; *schemawatch.Watcher
// implements it. It must be safe for concurrent use.
type Refresher interface {
	Refresh(ctx context.Context) error
}

func (c Config) withDefaults() Config {
	c.Limits = c.Limits.WithDefaults()
	ifZero(&c.BatchWindow, DefaultBatchWindow) // negative: no batching
	orDefault(&c.WriteTimeout, DefaultWriteTimeout)
	orDefault(&c.AuthTimeout, DefaultAuthTimeout)
	orDefault(&c.MembershipTimeout, DefaultMembershipTimeout)
	return c
}
