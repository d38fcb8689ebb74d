package ws

import (
	"sync/atomic"
	"time"
)

// Observer receives observations, e.g. latencies in seconds;
// prometheus.Histogram implements it. It must be safe for concurrent use.
type Observer interface {
	Observe(float64)
}

// counters are the gateway's counts on the event path: atomics only.
type counters struct {
	delivered atomic.Uint64
	dropped   atomic.Uint64
	frames    atomic.Uint64
}

// Stats is a snapshot of the gateway's counters, for metrics.
type Stats struct {
	// Connections is the number of open WebSocket connections.
	Connections int
	// Delivered counts the event, custom-channel and presence messages
	// written to sockets; Dropped those that were not: a send queue
	// overflowed (the client is closed with 4408), the connection had
	// ended, or its token had expired.
	Delivered, Dropped uint64
	// Frames counts the WebSocket data frames written: Delivered / Frames
	// is how many messages a frame carries, on average (see BatchWindow).
	Frames uint64
}

// Stats returns the gateway's counters. Safe to call at any time.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	n := len(s.conns)
	s.mu.Unlock()
	return Stats{Connections: n, Delivered: s.counts.delivered.Load(), Dropped: s.counts.dropped.Load(),
		Frames: s.counts.frames.Load()}
}

// QueueDepth returns the messages waiting in all connections' send queues
// and in the deepest one. It locks each queue briefly.
func (s *Server) QueueDepth() (total, deepest int) {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		n := c.q.len()
		total += n
		deepest = max(deepest, n)
	}
	return total, deepest
}

// sent records that the write loop wrote items at now: the delivered
// count, and each row event's commit-to-send latency (Config.SendLatency).
func (s *Server) sent(items []outItem, now time.Time) {
	n := 0
	for _, it := range items {
		if it.msg == nil {
			continue
		}
		n++
		if s.cfg.SendLatency != nil && it.msg.Event != nil && !it.msg.Event.CommitTime.IsZero() {
			s.cfg.SendLatency.Observe(now.Sub(it.msg.Event.CommitTime).Seconds())
		}
	}
	if n > 0 {
		s.counts.delivered.Add(uint64(n))
	}
}

// countDropped adds the messages among items to the dropped count.
func (s *Server) countDropped(items []outItem) {
	n := 0
	for _, it := range items {
		if it.msg != nil {
			n++
		}
	}
	if n > 0 {
		s.counts.dropped.Add(uint64(n))
	}
}
