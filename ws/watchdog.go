package ws

import (
	"time"
)

// watchWrites is the write watchdog: it closes every connection whose
// frame write has taken longer than WriteTimeout (a client that stopped
// reading, with full socket buffers), and those whose write is still in
// progress after the connection ended. One goroutine checks all
// connections a few times per WriteTimeout, instead of a timer per frame.
// It runs while there are connections (ServeHTTP starts it) and returns
// when the last one is gone.
func (s *Server) watchWrites() {
	tick := min(max(s.cfg.WriteTimeout/4, 10*time.Millisecond), time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	var stuck []*conn
	for range t.C {
		now := time.Now().UnixNano()
		stuck = stuck[:0]
		s.mu.Lock()
		if len(s.conns) == 0 {
			s.watching = false
			s.mu.Unlock()
			return
		}
		for c := range s.conns {
			if age := c.writeAge(now); age > 0 && (age > s.cfg.WriteTimeout || c.ctx.Err() != nil) {
				stuck = append(stuck, c)
			}
		}
		s.mu.Unlock()
		for _, c := range stuck {
			c.logger().Debug("websocket write timed out, closing", "timeout", s.cfg.WriteTimeout)
			_ = c.ws.CloseNow()
		}
	}
}
