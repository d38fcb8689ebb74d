// Command server is walrelay: it serves REST and live WebSocket updates for
// the Postgres tables named in walrelay.yaml.
//
//	walrelay init  [--database-url URL]       write a first walrelay.yaml from the database's tables
//	walrelay serve [--config walrelay.yaml]   serve (config also from WALRELAY_CONFIG)
//	walrelay check [--config walrelay.yaml]   check the config against the database and exit
//	walrelay token --sub alice                print a token signed with the config's secret
//	walrelay demo  [--listen :8080]           throwaway Postgres + demo chat schema, then serve
//	walrelay postgres [--empty]               throwaway Postgres (demo schema), print its URL, wait
//
// It is built as `go build -o walrelay ./cmd/server`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "walrelay:", err)
		os.Exit(1)
	}
}

const usage = `usage: walrelay <command> [flags]

commands:
  init      read the database's tables and write a commented walrelay.yaml (init -h for flags)
  serve     serve the config in --config or $WALRELAY_CONFIG (default walrelay.yaml)
  check     check the config against the database, print what it exposes, then exit
  token     print a token signed with the config's auth.jwt.secret: token --sub alice [--claims JSON] [--ttl 1h]
  demo      start a throwaway Postgres with the demo chat schema and serve it
  postgres  start a throwaway Postgres with the demo schema, print its URL, wait
  gen ts    write TypeScript types for the models: gen ts [--config walrelay.yaml] [--out file.ts]
`

// run is main without the process: tests call it too.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	log := newLogger(stderr)
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], log)
	case "init":
		return initConfig(ctx, args[1:], os.Stdin, stdout)
	case "check":
		return check(ctx, args[1:], stdout, log)
	case "token":
		return mintToken(args[1:], stdout)
	case "demo":
		return demo(ctx, args[1:], stdout, log)
	case "postgres":
		return postgres(ctx, args[1:], stdout, log)
	case "gen":
		return gen(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func newLogger(w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	switch strings.ToLower(os.Getenv("WALRELAY_LOG_LEVEL")) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	if os.Getenv("WALRELAY_LOG_FORMAT") == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
