// Command load measures walrelay's delivery under load: it opens many
// WebSocket clients, subscribes each to a model channel, inserts rows at a
// fixed rate over a separate database connection, and reports how many
// events arrived and how long they took from INSERT to delivery.
//
//	load --url http://127.0.0.1:8080 --database-url postgres://... \
//	     --clients 1000 --rate 200 --duration 30s
//
// It runs against the demo schema (`server demo` or `server postgres` +
// `serve`): rows go into messages (room 1, which every demo user reads),
// each carrying its send time in the body; each client has its own subject
// (load-N) and a token signed by --secret, so the server's per-user limit is
// not hit (raise limits.max_connections_per_ip for more than 200 clients).
// Every loop is bounded by --duration, and it only talks to the addresses it
// is given.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// run parses flags, runs one load test and prints its report to out.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "walrelay base URL")
	fs.StringVar(&o.dbURL, "database-url", os.Getenv("DATABASE_URL"), "database the writes go to (env DATABASE_URL)")
	fs.StringVar(&o.secret, "secret", envOr("JWT_SECRET", "walrelay-demo-secret-not-for-production"), "HS256 secret that signs the clients' tokens (env JWT_SECRET)")
	fs.IntVar(&o.clients, "clients", 100, "WebSocket clients")
	fs.Float64Var(&o.rate, "rate", 100, "rows inserted per second")
	fs.DurationVar(&o.duration, "duration", 10*o.second(), "how long to insert")
	fs.StringVar(&o.channel, "channel", "Message:list", "channel every client subscribes to")
	fs.StringVar(&o.filter, "filter", "room_id=eq.1", "subscription filter")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.dbURL == "" {
		return errors.New("--database-url (or DATABASE_URL) is required")
	}
	if o.clients < 1 || o.rate <= 0 || o.duration <= 0 {
		return errors.New("--clients, --rate and --duration must be positive")
	}
	rep, err := measure(ctx, o)
	if err != nil {
		return err
	}
	rep.print(out)
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
