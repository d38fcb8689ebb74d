package cluster

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/walrelay/walrelay/hub"
)

// Hub is what the cluster needs of the node's hub for custom channels
// (*hub.Hub has it; see hub/relay.go).
type Hub interface {
	SetRelay(r hub.Relay)
	PublishRemote(name string, ev *hub.CustomEvent) int
	ApplyRemotePresence(node, name string, joins, leaves []hub.PresenceEntry)
	ReplaceRemotePresence(node string, state map[string][]hub.PresenceEntry)
	LocalPresence() (version uint64, state map[string][]hub.PresenceEntry)
}

// bus carries custom channels between nodes over core NATS: it is the
// hub's Relay (what happens here goes out) and feeds what other nodes
// send into the hub. The connection has NoEcho, so a node never receives
// its own messages.
//
// Presence: every change of this node's presence is sent numbered
// (version), and a heartbeat carries the last number every interval. A
// node that sees a gap, or a node it does not know, asks that node for its
// whole presence (syncSubject) and buffers its changes meanwhile. A node
// not heard from for timeout has its members leave; one that stops
// cleanly says bye.
type bus struct {
	nc       *nats.Conn
	names    names
	node     string
	hub      Hub
	interval time.Duration
	timeout  time.Duration
	log      *slog.Logger

	version atomic.Uint64 // of the last local presence change sent

	failMu         sync.Mutex // guards the failed-send log
	failLogged     time.Time
	failSuppressed int

	mu    sync.Mutex
	peers map[string]*peer
	subs  []*nats.Subscription
	wg    sync.WaitGroup // sync requests in flight
}

// peer is what this node knows of another node's presence. Guarded by
// bus.mu.
type peer struct {
	// synced: its whole presence was received once (until then a
	// heartbeat asks for it).
	synced   bool
	version  uint64
	lastSeen time.Time
	syncing  bool
	buffered []presenceMsg
}

// publishMsg is a custom-channel event on the wire between nodes.
type publishMsg struct {
	Node    string          `json:"node"`
	Channel string          `json:"channel"`
	Event   string          `json:"event"`
	Data    json.RawMessage `json:"data"`
	From    json.RawMessage `json:"from"`
}

// presenceMsg is a presence change (Channel set), a heartbeat (Channel
// empty) or a goodbye (Bye) of Node; Version is the node's presence
// version after the change.
type presenceMsg struct {
	Node    string              `json:"node"`
	Version uint64              `json:"v"`
	Channel string              `json:"channel,omitempty"`
	Joins   []hub.PresenceEntry `json:"joins,omitempty"`
	Leaves  []hub.PresenceEntry `json:"leaves,omitempty"`
	Bye     bool                `json:"bye,omitempty"`
}

// stateMsg answers a sync request: the node's whole presence.
type stateMsg struct {
	Node    string                         `json:"node"`
	Version uint64                         `json:"v"`
	State   map[string][]hub.PresenceEntry `json:"state"`
}

// start subscribes and makes the bus the hub's Relay.
func (b *bus) start() error {
	b.peers = map[string]*peer{}
	for subj, fn := range map[string]nats.MsgHandler{
		b.names.channels:            b.onPublish,
		b.names.presence:            b.onPresence,
		b.names.syncSubject(b.node): b.onSync,
	} {
		s, err := b.nc.Subscribe(subj, fn)
		if err != nil {
			return err
		}
		b.subs = append(b.subs, s)
	}
	b.hub.SetRelay(b)
	return nil
}

// Published implements hub.Relay.
func (b *bus) Published(name string, ev *hub.CustomEvent) {
	from, err := json.Marshal(ev.From)
	if err != nil {
		from = []byte("null")
	}
	b.send(b.names.channels, publishMsg{Node: b.node, Channel: name, Event: ev.Event, Data: ev.Data, From: from})
}

// PresenceChanged implements hub.Relay.
func (b *bus) PresenceChanged(version uint64, name string, p *hub.Presence) {
	b.version.Store(version)
	b.send(b.names.presence, presenceMsg{Node: b.node, Version: version, Channel: name, Joins: p.Joins, Leaves: p.Leaves})
}

// send publishes v as JSON; NATS buffers it (also while reconnecting), so
// it does not block. Failures (the reconnect buffer is full) are logged at
// most once per sendLogInterval.
func (b *bus) send(subject string, v any) {
	data, err := json.Marshal(v)
	if err == nil {
		err = b.nc.Publish(subject, data)
	}
	if err == nil {
		return
	}
	b.failMu.Lock()
	defer b.failMu.Unlock()
	if now := time.Now(); now.Sub(b.failLogged) >= sendLogInterval {
		b.log.Warn("cluster: send to other nodes failed", "subject", subject, "err", err, "suppressed", b.failSuppressed)
		b.failLogged, b.failSuppressed = now, 0
		return
	}
	b.failSuppressed++
}

// sendLogInterval bounds how often failed sends are logged.
const sendLogInterval = 10 * time.Second

func (b *bus) onPublish(m *nats.Msg) {
	var p publishMsg
	if err := json.Unmarshal(m.Data, &p); err != nil || p.Channel == "" || p.Node == b.node {
		return
	}
	ev := &hub.CustomEvent{Event: p.Event, Data: p.Data}
	if len(p.From) > 0 && string(p.From) != "null" {
		ev.From = p.From
	}
	b.hub.PublishRemote(p.Channel, ev)
}

func (b *bus) onPresence(m *nats.Msg) {
	var p presenceMsg
	if err := json.Unmarshal(m.Data, &p); err != nil || p.Node == "" || p.Node == b.node {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if p.Bye {
		if _, ok := b.peers[p.Node]; ok {
			delete(b.peers, p.Node)
			b.hub.ReplaceRemotePresence(p.Node, nil)
		}
		return
	}
	pr := b.peers[p.Node]
	if pr == nil {
		pr = &peer{}
		b.peers[p.Node] = pr
		b.log.Info("cluster: node joined", "node", p.Node)
		b.heartbeatLocked() // let it know of this node at once
	}
	pr.lastSeen = time.Now()
	switch {
	case pr.syncing:
		if p.Channel != "" {
			pr.buffered = append(pr.buffered, p)
		}
	case p.Channel == "": // heartbeat
		if !pr.synced || p.Version != pr.version {
			b.syncLocked(p.Node, pr)
		}
	case p.Version == pr.version+1:
		pr.version = p.Version
		b.hub.ApplyRemotePresence(p.Node, p.Channel, p.Joins, p.Leaves)
	case p.Version > pr.version+1:
		pr.buffered = append(pr.buffered, p)
		b.syncLocked(p.Node, pr)
	}
}

// syncLocked asks node for its whole presence, in the background.
func (b *bus) syncLocked(node string, pr *peer) {
	pr.syncing = true
	b.wg.Go(func() {
		var st stateMsg
		reply, err := b.nc.Request(b.names.syncSubject(node), nil, 5*time.Second)
		if err == nil {
			err = json.Unmarshal(reply.Data, &st)
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.peers[node] != pr {
			return // gone meanwhile
		}
		pr.syncing = false
		if err != nil {
			b.log.Warn("cluster: presence sync failed; retried at the next heartbeat", "node", node, "err", err)
			pr.buffered = nil
			return
		}
		pr.synced = true
		b.hub.ReplaceRemotePresence(node, st.State)
		pr.version = st.Version
		buffered := pr.buffered
		pr.buffered = nil
		for _, p := range buffered {
			switch {
			case p.Version <= pr.version:
			case p.Version == pr.version+1:
				pr.version = p.Version
				b.hub.ApplyRemotePresence(node, p.Channel, p.Joins, p.Leaves)
			default:
				b.syncLocked(node, pr)
				return
			}
		}
	})
}

// onSync answers a request for this node's presence.
func (b *bus) onSync(m *nats.Msg) {
	v, state := b.hub.LocalPresence()
	data, err := json.Marshal(stateMsg{Node: b.node, Version: v, State: state})
	if err == nil {
		err = m.Respond(data)
	}
	if err != nil {
		b.log.Warn("cluster: answer presence sync", "err", err)
	}
}

// heartbeatLocked sends this node's presence version.
func (b *bus) heartbeatLocked() {
	b.send(b.names.presence, presenceMsg{Node: b.node, Version: b.version.Load()})
}

// run sends heartbeats and drops silent peers until ctx ends.
func (b *bus) run(ctx context.Context) {
	t := time.NewTicker(b.interval)
	defer t.Stop()
	b.mu.Lock()
	b.heartbeatLocked()
	b.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b.mu.Lock()
		b.heartbeatLocked()
		cutoff := time.Now().Add(-b.timeout)
		for node, pr := range b.peers {
			if pr.lastSeen.Before(cutoff) {
				b.log.Warn("cluster: node not heard from; its presence members leave", "node", node, "silent_for", b.timeout)
				delete(b.peers, node)
				b.hub.ReplaceRemotePresence(node, nil)
			}
		}
		b.mu.Unlock()
	}
}

// close says bye, unsubscribes and waits for sync requests in flight.
func (b *bus) close() {
	b.send(b.names.presence, presenceMsg{Node: b.node, Bye: true})
	_ = b.nc.FlushTimeout(2 * time.Second)
	b.mu.Lock()
	for _, s := range b.subs {
		_ = s.Unsubscribe()
	}
	b.subs = nil
	b.mu.Unlock()
	b.wg.Wait()
}

// remoteNodes returns how many other nodes this node hears from.
func (b *bus) remoteNodes() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.peers)
}
