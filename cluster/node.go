package cluster

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/walrelay/walrelay"
)

// Defaults for Config fields left zero.
const (
	DefaultName            = "walrelay"
	DefaultMaxAge          = 10 * time.Minute
	DefaultPresenceTimeout = 15 * time.Second
	DefaultPublishTimeout  = 5 * time.Second
	DefaultConnectTimeout  = 30 * time.Second
	// duplicateWindow is how long JetStream remembers message ids: a
	// transaction published again within it (after a takeover) is stored
	// once. Followers also ignore what they already have.
	duplicateWindow = 2 * time.Minute
)

// Config configures a Node.
type Config struct {
	// URL is the NATS server URL (several comma-separated).
	URL string
	// Name is the cluster's name: stream WALRELAY_<Name>, subjects
	// walrelay.<Name>.*. Letters, digits, _ and -.
	Name string
	// Node labels this node (default: the host name); a random suffix
	// makes its id unique per process.
	Node string
	// Replicas is the stream's replica count (default 1).
	Replicas int
	// MaxAge is how long the stream keeps changes: the replay history's
	// max age (default 10m).
	MaxAge time.Duration
	// PresenceTimeout: a node not heard from for this long has its
	// presence members leave (default 15s); heartbeats go every fifth.
	PresenceTimeout time.Duration
	// PublishTimeout bounds waiting for JetStream to acknowledge a part
	// (default 5s).
	PublishTimeout time.Duration
	// ConnectTimeout bounds New's wait for NATS (default 30s).
	ConnectTimeout time.Duration
	// Schema resolves the models named in the stream.
	Schema *walrelay.Schema
	// Logger; default slog.Default().
	Logger *slog.Logger
}

var nameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func (c Config) withDefaults() (Config, error) {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if !nameRe.MatchString(c.Name) {
		return c, fmt.Errorf("cluster name %q: use letters, digits, _ and -", c.Name)
	}
	if c.Node == "" {
		c.Node, _ = os.Hostname()
	}
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if c.MaxAge <= 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.PresenceTimeout <= 0 {
		c.PresenceTimeout = DefaultPresenceTimeout
	}
	if c.PublishTimeout <= 0 {
		c.PublishTimeout = DefaultPublishTimeout
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Schema == nil {
		c.Schema = walrelay.NewSchema(nil)
	}
	return c, nil
}

// Node is this process's membership in a cluster: the NATS connection, the
// change stream, the leader's Publisher, the follower that feeds the local
// hub, and the custom-channel bus. Create it with New, attach the local
// parts with Follow, run it with Run, and Close it.
type Node struct {
	cfg   Config
	id    string
	names names
	log   *slog.Logger
	nc    *nats.Conn
	js    jetstream.JetStream
	// stream is the change stream, set by StreamStart.
	stream jetstream.Stream
	pub    *Publisher
	fol    *follower
	bus    *bus

	closeOnce sync.Once
}

var tokenUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]`)

// New connects to NATS (waiting up to Config.ConnectTimeout for it) and
// creates or updates the stream.
func New(ctx context.Context, cfg Config) (*Node, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	label := tokenUnsafe.ReplaceAllString(cfg.Node, "_")
	if label == "" {
		label = "node"
	}
	n := &Node{cfg: cfg, id: fmt.Sprintf("%s-%x", label, suffix), names: newNames(cfg.Name)}
	n.log = cfg.Logger.With("node", n.id)
	n.nc, err = nats.Connect(cfg.URL, nats.Name("walrelay "+n.id), nats.NoEcho(),
		nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			n.log.Warn("cluster: NATS disconnected", "err", err)
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { n.log.Info("cluster: NATS reconnected", "url", c.ConnectedUrlRedacted()) }))
	if err != nil {
		return nil, fmt.Errorf("connect to NATS: %w", err)
	}
	n.js, err = jetstream.New(n.nc, jetstream.WithPublishAsyncTimeout(cfg.PublishTimeout), jetstream.WithPublishAsyncMaxPending(4*maxInflight))
	if err != nil {
		n.nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if err := n.ensureStream(ctx); err != nil {
		n.nc.Close()
		return nil, err
	}
	n.pub = &Publisher{js: n.js, names: n.names, timeout: cfg.PublishTimeout, log: n.log}
	return n, nil
}

// ensureStream creates or updates the stream, retrying until NATS
// answers or ConnectTimeout passes.
func (n *Node) ensureStream(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.ConnectTimeout)
	defer cancel()
	sc := jetstream.StreamConfig{
		Name:        n.names.stream,
		Description: "walrelay change stream of cluster " + n.cfg.Name,
		Subjects:    []string{n.names.streamSubjects()},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      n.cfg.MaxAge,
		Duplicates:  min(duplicateWindow, n.cfg.MaxAge),
		Storage:     jetstream.FileStorage,
		Replicas:    n.cfg.Replicas,
	}
	var err error
	for {
		actx, acancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = n.js.CreateOrUpdateStream(actx, sc)
		acancel()
		if err == nil {
			return nil
		}
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) {
			return fmt.Errorf("create stream %s: %w", sc.Name, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("NATS at %s did not answer within %v: %w", redact(n.cfg.URL), n.cfg.ConnectTimeout, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// redact hides passwords in a comma-separated URL list.
func redact(urls string) string {
	var out []string
	for _, u := range strings.Split(urls, ",") {
		if p, err := url.Parse(strings.TrimSpace(u)); err == nil {
			out = append(out, p.Redacted())
		}
	}
	return strings.Join(out, ",")
}

// ID returns the node's id: its label and a random suffix.
func (n *Node) ID() string { return n.id }

// RefPrefix is the prefix for the hub's presence references
// (hub.WithRefPrefix), unique to this node.
func (n *Node) RefPrefix() string { return n.id + "." }

// Publisher returns the leader's Sink for the replication consumer; its
// messages carry epoch until Reset changes it.
func (n *Node) Publisher(epoch uint32) *Publisher {
	n.pub.epoch.Store(epoch)
	return n.pub
}

// StreamStart reads where the stream starts: the commit LSN of its first
// message, when that message is a transaction of epoch (ok false
// otherwise, or when the stream is empty). The follower consumes from that
// message on. Call it before Follow.
func (n *Node) StreamStart(ctx context.Context, epoch uint32) (first walrelay.LSN, ok bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.ConnectTimeout)
	defer cancel()
	s, err := n.js.Stream(ctx, n.names.stream)
	if err != nil {
		return 0, false, fmt.Errorf("stream %s: %w", n.names.stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("stream %s info: %w", n.names.stream, err)
	}
	n.stream = s
	st := info.State
	n.fol = &follower{js: n.js, names: n.names, schema: n.cfg.Schema, epoch: epoch, stale: map[uint32]bool{},
		target: st.LastSeq, log: n.log}
	n.fol.next.Store(max(1, st.FirstSeq))
	n.fol.streamEnd.Store(st.LastSeq)
	if st.Msgs == 0 {
		return 0, false, nil
	}
	m, err := s.GetMsg(ctx, st.FirstSeq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, false, nil // aged out meanwhile: start from the slot
	}
	if err != nil {
		return 0, false, fmt.Errorf("stream %s first message: %w", n.names.stream, err)
	}
	h, err := parseTxnHeader(m.Header.Get(hdrTxn))
	if err != nil || h.Epoch != epoch {
		return 0, false, nil
	}
	return h.CommitLSN, true, nil
}

// Follow attaches the local parts: the stream's transactions go to local,
// dbEpoch reads the slot's current epoch, and h's custom channels are
// shared with the other nodes. Call it after StreamStart (without
// realtime models, StreamStart may be skipped: only custom channels are
// shared) and before Run.
func (n *Node) Follow(local Local, dbEpoch func(context.Context) (uint32, error), h Hub) error {
	if local != nil {
		if n.fol == nil {
			return errors.New("cluster: Follow before StreamStart")
		}
		n.fol.local, n.fol.dbEpoch = local, dbEpoch
	} else {
		n.fol = nil
	}
	n.bus = &bus{nc: n.nc, names: n.names, node: n.id, hub: h, interval: n.cfg.PresenceTimeout / 5,
		timeout: n.cfg.PresenceTimeout, log: n.log}
	return n.bus.start()
}

// Run consumes the stream, runs presence and probes the stream's end
// until ctx ends.
func (n *Node) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	if n.fol != nil {
		wg.Go(func() { n.fol.run(ctx) })
		wg.Go(func() { n.probe(ctx) })
	}
	if n.bus != nil {
		wg.Go(func() { n.bus.run(ctx) })
	}
	wg.Wait()
	return nil
}

// probe reads the stream's last sequence every second, for the lag.
func (n *Node) probe(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if info, err := n.stream.Info(pctx); err == nil {
			n.fol.streamEnd.Store(info.State.LastSeq)
		}
		cancel()
	}
}

// Status is a node's state for /readyz and metrics.
type Status struct {
	Node      string `json:"node"`
	Connected bool   `json:"nats_connected"`
	// CaughtUp: the stream was consumed up to where it ended when the node
	// started.
	CaughtUp bool `json:"caught_up"`
	// Pending is the stream lag: messages not yet consumed.
	Pending uint64 `json:"pending"`
	// Delivered is the stream sequence of the last message consumed.
	Delivered   uint64 `json:"delivered_seq"`
	RemoteNodes int    `json:"remote_nodes"`
}

// Status returns the node's state; safe from any goroutine.
func (n *Node) Status() Status {
	st := Status{Node: n.id, Connected: n.nc.IsConnected(), CaughtUp: true}
	if f := n.fol; f != nil {
		st.CaughtUp = f.caughtUp()
		st.Pending = f.lag()
		if next := f.next.Load(); next > 0 {
			st.Delivered = next - 1
		}
	}
	if n.bus != nil {
		st.RemoteNodes = n.bus.remoteNodes()
	}
	return st
}

// Published returns how many parts this node stored in the stream as
// leader.
func (n *Node) Published() uint64 { return n.pub.published.Load() }

// Close tells the other nodes that this one leaves (its presence
// members leave there at once) and closes the NATS connection. Run must
// have returned. Safe to repeat.
func (n *Node) Close() {
	n.closeOnce.Do(func() {
		if n.bus != nil {
			n.bus.close()
		}
		n.nc.Close()
	})
}
