package ws

import "time"

// Defaults for Config fields left zero.
const (
	DefaultMaxSubscriptions  = 50
	DefaultMaxMessageBytes   = 65536
	DefaultSendQueue         = 1024
	DefaultBatchWindow       = 5 * time.Millisecond
	DefaultHeartbeat         = 25 * time.Second
	DefaultMessagesPerSecond = 50
	DefaultWriteTimeout      = 10 * time.Second
)

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
	return c
}
