// Package clientip tells which client address a request counts against,
// for per-address limits on REST and WebSocket alike.
package clientip

import (
	"net"
	"net/http"
	"strings"
)

// Of returns the IP a request is counted against: the host of
// r.RemoteAddr, which behind a reverse proxy is the proxy's. With
// trustProxy, the last address of X-Forwarded-For is used instead: the one
// the (trusted) proxy in front of the server appended; earlier entries are
// client-supplied and ignored.
func Of(r *http.Request, trustProxy bool) string {
	if trustProxy {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			last := xff[len(xff)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if ip := net.ParseIP(strings.TrimSpace(last)); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
