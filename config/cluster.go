package config

import (
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Cluster defaults.
const (
	DefaultClusterName     = "walrelay"
	DefaultClusterReplicas = 1
	DefaultPresenceTimeout = 15 * time.Second
)

// Cluster is the optional `cluster` section: several walrelay nodes share
// one replication slot and fan out through NATS JetStream (docs/cluster.md).
// Without it walrelay runs as a single node, in process.
type Cluster struct {
	// NATSURL is the NATS server URL (several comma-separated);
	// credentials may be given in it.
	NATSURL string `yaml:"nats_url"`
	// Name prefixes the stream and the subjects; nodes with the same name
	// form one cluster. Letters, digits, _ and -.
	Name string `yaml:"name"`
	// Node labels this node in logs and /readyz (default: the host name).
	Node string `yaml:"node"`
	// Replicas is the JetStream replica count of the change stream.
	Replicas int `yaml:"replicas"`
	// PresenceTimeout is how long a node may go unheard before its
	// presence members leave on the other nodes.
	PresenceTimeout time.Duration `yaml:"presence_timeout"`
}

var clusterNameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// applyClusterDefaults fills the cluster section's defaults, if present.
func (c *Config) applyClusterDefaults() {
	cl := c.Cluster
	if cl == nil {
		return
	}
	if cl.Name == "" {
		cl.Name = DefaultClusterName
	}
	if cl.Replicas == 0 {
		cl.Replicas = DefaultClusterReplicas
	}
	if cl.PresenceTimeout == 0 {
		cl.PresenceTimeout = DefaultPresenceTimeout
	}
}

// validateCluster checks the cluster section, if present.
func (c *Config) validateCluster(fail func(path, format string, args ...any)) {
	cl := c.Cluster
	if cl == nil {
		return
	}
	if cl.NATSURL == "" {
		fail("$.cluster", "cluster.nats_url is required")
	}
	for _, u := range strings.Split(cl.NATSURL, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || p.Host == "" {
			fail("$.cluster.nats_url", "cluster.nats_url %q: want nats://host:port", redactURL(u))
		}
	}
	if !clusterNameRe.MatchString(cl.Name) {
		fail("$.cluster.name", "cluster.name %q: use 1-64 letters, digits, _ and -", cl.Name)
	}
	if cl.Replicas < 1 || cl.Replicas > 5 {
		fail("$.cluster.replicas", "cluster.replicas %d: want 1 to 5", cl.Replicas)
	}
	if cl.PresenceTimeout < time.Second {
		fail("$.cluster.presence_timeout", "cluster.presence_timeout %v: want at least 1s", cl.PresenceTimeout)
	}
}

// redactURL hides a password in u for error messages.
func redactURL(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Redacted()
	}
	return "(unparsable URL)"
}
