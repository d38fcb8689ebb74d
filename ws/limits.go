package ws

import "time"

// Defaults of the Limits fields left zero.
const (
	DefaultMaxSubscriptionsPerClient = 50
	DefaultMaxMessageBytes           = 64 << 10
	DefaultMessagesPerSecond         = 50
	DefaultSendQueue                 = 1024
	DefaultHeartbeat                 = 25 * time.Second
	DefaultMaxConnectionsPerUser     = 20
	DefaultMaxConnectionsPerIP       = 200
	// Custom channels (see docs/channels.md).
	DefaultPublishesPerSecond = 20
	DefaultMaxPayloadBytes    = 16 << 10
	DefaultMaxPresenceBytes   = 1 << 10
)

// Limits are the gateway's limits that a deployment sets: the WebSocket
// part of walrelay.yaml's `limits` section, whose keys are the yaml tags
// (package config decodes them straight into this struct). Zero fields take
// the Default* values (see WithDefaults).
type Limits struct {
	// MaxSubscriptionsPerClient caps the channels one connection may
	// subscribe to; beyond it subscribe fails with too_many_subscriptions.
	MaxSubscriptionsPerClient int `yaml:"max_subscriptions_per_client"`
	// MaxMessageBytes caps a client frame; a bigger one closes the
	// connection with 1009.
	MaxMessageBytes int64 `yaml:"max_message_bytes"`
	// MessagesPerSecond is the client's sustained message rate (a token
	// bucket with as many tokens); messages beyond it get rate_limited and
	// as many again in a row close the connection with 4429.
	MessagesPerSecond int `yaml:"messages_per_second"`
	// SendQueue caps the messages waiting to be written to one connection;
	// a connection whose queue overflows is closed with 4408.
	SendQueue int `yaml:"send_queue"`
	// Heartbeat is the interval of server pings; a peer that does not
	// answer within Config.WriteTimeout is closed.
	Heartbeat time.Duration `yaml:"heartbeat"`
	// MaxConnectionsPerUser caps the open connections of one user (the
	// token's sub claim; anonymous connections and tokens without sub are
	// not counted). Over it: HTTP 429 before the upgrade when the token
	// came in the URL or header, close 4429 when it came in an auth
	// message. Negative: no limit.
	MaxConnectionsPerUser int `yaml:"max_connections_per_user"`
	// MaxConnectionsPerIP caps the open connections from one client IP
	// (see Config.TrustProxy); over it the upgrade is answered with HTTP
	// 429. Negative: no limit.
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
	// PublishesPerSecond is each connection's sustained rate of publish
	// and presence messages (a token bucket with as many tokens); beyond
	// it they get rate_limited.
	PublishesPerSecond int `yaml:"publishes_per_second"`
	// MaxPayloadBytes caps a published event's data (its JSON text);
	// bigger gets too_large.
	MaxPayloadBytes int `yaml:"max_payload_bytes"`
	// MaxPresenceBytes caps a connection's presence meta (its JSON text);
	// bigger gets too_large.
	MaxPresenceBytes int `yaml:"max_presence_bytes"`
}

// WithDefaults returns l with each zero field set to its Default* value
// (and each negative one, where negative does not mean "no limit"). It is
// the one place these defaults are applied; New calls it.
func (l Limits) WithDefaults() Limits {
	orDefault(&l.MaxSubscriptionsPerClient, DefaultMaxSubscriptionsPerClient)
	orDefault(&l.MaxMessageBytes, DefaultMaxMessageBytes)
	orDefault(&l.MessagesPerSecond, DefaultMessagesPerSecond)
	orDefault(&l.SendQueue, DefaultSendQueue)
	orDefault(&l.Heartbeat, DefaultHeartbeat)
	ifZero(&l.MaxConnectionsPerUser, DefaultMaxConnectionsPerUser) // negative: no limit
	ifZero(&l.MaxConnectionsPerIP, DefaultMaxConnectionsPerIP)
	orDefault(&l.PublishesPerSecond, DefaultPublishesPerSecond)
	orDefault(&l.MaxPayloadBytes, DefaultMaxPayloadBytes)
	orDefault(&l.MaxPresenceBytes, DefaultMaxPresenceBytes)
	return l
}

// orDefault sets *v to def when it is zero or negative.
func orDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// ifZero sets *v to def when it is zero (a negative value means something).
func ifZero[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}
