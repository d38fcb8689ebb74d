package ws

import (
	"slices"
	"time"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/hub"
)

// ConnInfo describes one open connection, for the inspector.
type ConnInfo struct {
	Remote string    `json:"remote"`
	User   string    `json:"user"` // the token's sub; empty when anonymous or not yet authenticated
	Since  time.Time `json:"since"`
	// Channels are its subscriptions, model and custom, sorted.
	Channels []string `json:"channels"`
	// Queued is the number of messages waiting to be written.
	Queued int `json:"queued"`
}

// Connections returns the open connections, oldest first. Safe for
// concurrent use; it takes the hub's lock briefly.
func (s *Server) Connections() []ConnInfo {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	var subs map[hub.Receiver][]string
	if s.hub != nil {
		subs = s.hub.Channels()
	}
	out := make([]ConnInfo, 0, len(conns))
	for _, c := range conns {
		info := ConnInfo{Remote: c.remote, Since: c.started, Channels: subs[c], Queued: c.q.len()}
		if caller := c.caller.Load(); caller != nil {
			if sub, ok := caller.Claims().Subject(); ok {
				info.User = walrelay.KeyOf(sub)
			}
		}
		slices.Sort(info.Channels)
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b ConnInfo) int { return a.Since.Compare(b.Since) })
	return out
}

// Encode encodes a hub message as a client receives it on its channel:
// a row event, an event on a custom channel or a presence message, hidden
// columns removed. The inspector shows these frames.
func Encode(m *hub.Message) ([]byte, error) {
	switch {
	case m.Custom != nil:
		return encodeCustom(m)
	case m.Presence != nil:
		return encodePresence(m)
	}
	return encodeEvent(m, m.Epoch)
}
