// Package natstest runs a NATS server with JetStream in the test's own
// process (github.com/nats-io/nats-server/v2), on a free loopback port,
// with its store in a temporary directory so that it can be stopped and
// started again with its streams intact. Only tests import it.
package natstest

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is an embedded NATS server that a test may stop and start again
// on the same port and store.
type Server struct {
	tb   testing.TB
	dir  string
	port int
	srv  *server.Server
}

// MustStart starts a server; it is shut down at cleanup.
func MustStart(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{tb: tb, dir: tb.TempDir(), port: -1}
	s.MustRestart()
	tb.Cleanup(s.Stop)
	return s
}

// URL returns the client URL, the same across restarts.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

// Stop shuts the server down and waits until it is down. Safe to repeat.
func (s *Server) Stop() {
	if s.srv == nil {
		return
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	s.srv = nil
}

// MustRestart starts the server (again) on its port with its store; a
// running one is stopped first.
func (s *Server) MustRestart() {
	s.tb.Helper()
	s.Stop()
	opts := &server.Options{
		Host: "127.0.0.1", Port: s.port, JetStream: true, StoreDir: s.dir,
		NoLog: true, NoSigs: true, ServerName: "walrelay-test",
	}
	var err error
	for try := 0; ; try++ {
		var srv *server.Server
		if srv, err = server.NewServer(opts); err == nil {
			go srv.Start()
			if srv.ReadyForConnections(10 * time.Second) {
				s.srv = srv
				break
			}
			srv.Shutdown()
			err = fmt.Errorf("not ready within 10s")
		}
		if try == 20 {
			s.tb.Fatalf("natstest: start: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // the old listener's port may still be closing
	}
	if s.port < 0 {
		s.port = s.srv.Addr().(*net.TCPAddr).Port
	}
}
