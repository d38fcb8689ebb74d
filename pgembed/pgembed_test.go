package pgembed

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"
)

// A preferred port is used when free, and a taken one falls back to a free
// port rather than failing.
func TestStartPreferredPort(t *testing.T) {
	if _, err := FindBinDir(); err != nil {
		t.Skip("no PostgreSQL binaries:", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	want, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Start(ctx, Options{Port: want})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if c.Port() != want {
		t.Errorf("free preferred port %d: cluster listens on %d", want, c.Port())
	}

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	taken := busy.Addr().(*net.TCPAddr).Port
	c2, err := Start(ctx, Options{Port: taken})
	if err != nil {
		t.Fatalf("taken preferred port %d: %v", taken, err)
	}
	defer c2.Stop()
	if c2.Port() == taken || c2.Port() == 0 {
		t.Errorf("taken preferred port %d: cluster listens on %d", taken, c2.Port())
	}
	conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(c2.Port())))
	if err != nil {
		t.Fatalf("fallback port %d does not answer: %v", c2.Port(), err)
	}
	conn.Close()
}
