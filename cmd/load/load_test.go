package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay/config"
	"github.com/walrelay/walrelay/pgembed/pgtest"
	"github.com/walrelay/walrelay/server"
	schema "github.com/walrelay/walrelay/sql"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// A short run against the demo schema delivers every row to every client
// and reports it.
func TestLoadReportsEveryDelivery(t *testing.T) {
	url := pgtest.MustDatabase(t)
	pgtest.MustExec(t, url, schema.Demo)
	const secret = "load-test-secret-0123456789abcdefghij"
	cfg, err := config.Parse("demo.yaml", schema.DemoConfig, func(k string) (string, bool) {
		switch k {
		case "DATABASE_URL":
			return url, true
		case "LISTEN":
			return "127.0.0.1:0", true
		case "JWT_SECRET":
			return secret, true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	var out bytes.Buffer
	err = run(context.Background(), []string{"--url", "http://" + srv.Addr().String(), "--database-url", url,
		"--secret", secret, "--clients", "20", "--rate", "50", "--duration", "1s"}, &out)
	if err != nil {
		t.Fatalf("load: %v\n%s", err, out.String())
	}
	t.Log(out.String())
	m := regexp.MustCompile(`rows (\d+), events expected (\d+), delivered (\d+), lost 0, clients closed early 0`).FindStringSubmatch(out.String())
	if m == nil || m[1] == "0" || m[2] != m[3] {
		t.Fatalf("report = %q, want every row delivered to every client", out.String())
	}
	if !strings.Contains(out.String(), "latency p50") {
		t.Fatalf("no latency in report %q", out.String())
	}
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), "select count(*) from messages where body like 'load %'").Scan(&n); err != nil || n == 0 {
		t.Fatalf("no load rows written: %d %v", n, err)
	}
}
