package ws

import (
	"net/http"
	"sync"

	"github.com/walrelay/walrelay/internal/clientip"
)

// connLimits counts open connections per client IP and per user (the
// token's sub claim). A limit of zero or less means none. Safe for
// concurrent use.
type connLimits struct {
	maxIP, maxUser int
	mu             sync.Mutex
	perIP          map[string]int
	perUser        map[string]int
}

func newConnLimits(maxIP, maxUser int) *connLimits {
	return &connLimits{maxIP: maxIP, maxUser: maxUser, perIP: map[string]int{}, perUser: map[string]int{}}
}

func (l *connLimits) acquire(m map[string]int, key string, max int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if max > 0 && m[key] >= max {
		return false
	}
	m[key]++
	return true
}

func (l *connLimits) release(m map[string]int, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if m[key] <= 1 {
		delete(m, key)
		return
	}
	m[key]--
}

// acquireIP counts a connection from ip, or reports false when ip is at
// its limit.
func (l *connLimits) acquireIP(ip string) bool { return l.acquire(l.perIP, ip, l.maxIP) }

// releaseIP uncounts a connection acquired with acquireIP.
func (l *connLimits) releaseIP(ip string) { l.release(l.perIP, ip) }

// acquireUser counts a connection of user, or reports false when user is
// at its limit.
func (l *connLimits) acquireUser(user string) bool { return l.acquire(l.perUser, user, l.maxUser) }

// releaseUser uncounts a connection acquired with acquireUser.
func (l *connLimits) releaseUser(user string) { l.release(l.perUser, user) }

// clientIP returns the IP a connection is counted against (see package
// clientip).
func clientIP(r *http.Request, trustProxy bool) string { return clientip.Of(r, trustProxy) }
