package ws

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay/authz"
)

// Defaults for Config fields left zero.
const (
	DefaultMaxSubscriptions  = 50
	DefaultMaxMessageBytes   = 65536
	DefaultSendQueue         = 1024
	DefaultBatchWindow       = 5 * time.Millisecond
	DefaultHeartbeat         = 25 * time.Second
	DefaultMessagesPerSecond = 50
	DefaultWriteTimeout      = 10 * time.Second
	DefaultMaxConnsPerUser   = 20
	DefaultMaxConnsPerIP     = 200
	DefaultAuthTimeout       = 10 * time.Second
	// Custom channels (see docs/channels.md).
	DefaultPublishesPerSecond = 20
	DefaultMaxPayloadBytes    = 16 << 10
	DefaultMaxPresenceBytes   = 1 << 10
	DefaultMembershipTimeout  = 2 * time.Second
)

// Querier runs a custom channel's subscribe_sql membership query;
// *pgxpool.Pool implements it. It must be safe for concurrent use.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Config holds the gateway's per-connection limits. Zero fields take the
// Default* values.
type Config struct {
	// MaxSubscriptions caps the channels one connection may subscribe to;
	// beyond it subscribe fails with too_many_subscriptions.
	MaxSubscriptions int
	// MaxMessageBytes caps a client frame; a bigger one closes the
	// connection with 1009.
	MaxMessageBytes int64
	// SendQueue caps the messages waiting to be written to one connection;
	// a connection whose queue overflows is closed with 4408.
	SendQueue int
	// BatchWindow is how long the writer waits after the first queued
	// message for more, so that they go out as one frame. Negative: none.
	BatchWindow time.Duration
	// Heartbeat is the interval of server pings; a peer that does not
	// answer within WriteTimeout is closed.
	Heartbeat time.Duration
	// MessagesPerSecond is the client's sustained message rate (a token
	// bucket with as many tokens); messages beyond it get rate_limited and
	// as many again in a row close the connection with 4429.
	MessagesPerSecond int
	// WriteTimeout bounds one frame write and one ping.
	WriteTimeout time.Duration
	// OriginPatterns lists the browser origins, besides the server's own
	// host, allowed to connect (see websocket.AcceptOptions).
	OriginPatterns []string
	// MaxConnectionsPerUser caps the open connections of one user (the
	// token's sub claim; anonymous connections and tokens without sub are
	// not counted). Over it: HTTP 429 before the upgrade when the token
	// came in the URL or header, close 4429 when it came in an auth
	// message. Negative: no limit.
	MaxConnectionsPerUser int
	// MaxConnectionsPerIP caps the open connections from one client IP
	// (see TrustProxy); over it the upgrade is answered with HTTP 429.
	// Negative: no limit.
	MaxConnectionsPerIP int
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
	// PublishesPerSecond is each connection's sustained rate of publish
	// and presence messages (a token bucket with as many tokens); beyond
	// it they get rate_limited.
	PublishesPerSecond int
	// MaxPayloadBytes caps a published event's data (its JSON text);
	// bigger gets too_large.
	MaxPayloadBytes int
	// MaxPresenceBytes caps a connection's presence meta (its JSON text);
	// bigger gets too_large.
	MaxPresenceBytes int
}

func (c Config) withDefaults() Config {
	if c.MaxSubscriptions <= 0 {
		c.MaxSubscriptions = DefaultMaxSubscriptions
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.SendQueue <= 0 {
		c.SendQueue = DefaultSendQueue
	}
	if c.BatchWindow == 0 {
		c.BatchWindow = DefaultBatchWindow
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.MessagesPerSecond <= 0 {
		c.MessagesPerSecond = DefaultMessagesPerSecond
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.MaxConnectionsPerUser == 0 {
		c.MaxConnectionsPerUser = DefaultMaxConnsPerUser
	}
	if c.MaxConnectionsPerIP == 0 {
		c.MaxConnectionsPerIP = DefaultMaxConnsPerIP
	}
	if c.AuthTimeout <= 0 {
		c.AuthTimeout = DefaultAuthTimeout
	}
	if c.MembershipTimeout <= 0 {
		c.MembershipTimeout = DefaultMembershipTimeout
	}
	if c.PublishesPerSecond <= 0 {
		c.PublishesPerSecond = DefaultPublishesPerSecond
	}
	if c.MaxPayloadBytes <= 0 {
		c.MaxPayloadBytes = DefaultMaxPayloadBytes
	}
	if c.MaxPresenceBytes <= 0 {
		c.MaxPresenceBytes = DefaultMaxPresenceBytes
	}
	return c
}
