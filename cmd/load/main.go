// Command load measures walrelay under load, one scenario per command:
//
//	go run ./cmd/load chat       # 1,000 clients in 100 rooms, 1,000 inserts/s
//	go run ./cmd/load fanout     # 10,000 clients on one channel, 25 inserts/s
//	go run ./cmd/load per-user   # 10,000 users, row.user_id == auth.sub, 5,000 inserts/s
//	go run ./cmd/load ingest     # one 200,000-row COPY to one subscriber, vs pg_recvlogical
//	go run ./cmd/load idle       # 10,000 idle subscribed connections: memory per connection
//
// By default each run starts a throwaway Postgres (package pgembed) and the
// walrelay server as a child process (this binary again, so the server's
// CPU and memory are its own in /proc), with the scenario's config (print
// it with `load config <scenario>`). --database-url uses a running
// Postgres instead (the tool creates schema walrelay_load there and drops
// the slots it made at the end); --url a running server configured so
// (give --server-pid for its CPU and memory).
//
// Writers are separate pgx connections, each row one transaction stamped
// by Postgres with clock_timestamp(); latency is that stamp to the
// client's receipt. Every client checks every delivery: each event once,
// in commit order (its cursor follows the previous one), only rows it may
// read, never the hidden column; and at the end that it got every row it
// should have. The run prints a table and writes the figures as JSON
// (--json), with the load average, the CPU seconds of the server, Postgres,
// the tool itself and the rest of the machine, and the server's peak RSS.
// --cpuprofile, --memprofile and --mutexprofile profile the server over
// the measurement window. The exit status is 1 when a check failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

func main() {
	if os.Getenv(childEnv) != "" {
		if err := serveChild(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "load server:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// errChecks is returned when a run finished but its checks failed.
var errChecks = errors.New("delivery checks failed")

// defaultSecret signs the clients' tokens and is the server's JWT secret.
const defaultSecret = "walrelay-load-secret-0123456789abcdef"

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: load <scenario> [flags]   |   load config <scenario>   |   load schema --database-url URL")
	fmt.Fprintln(w, "scenarios:")
	for _, sc := range scenarios {
		fmt.Fprintf(w, "  %-9s %s\n", sc.name, sc.about)
	}
	fmt.Fprintln(w, "flags (load <scenario> -h): sizes default to the scenario's")
}

// run runs one scenario (or `config`), printing to out.
func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		usage(out)
		return flag.ErrHelp
	}
	if args[0] == "config" {
		if len(args) != 2 || scenarioByName(args[1]) == nil {
			usage(out)
			return flag.ErrHelp
		}
		fmt.Fprint(out, configYAML("${DATABASE_URL}", "${JWT_SECRET:-"+defaultSecret+"}", "walrelay_load", scenarioByName(args[1]).readRule))
		return nil
	}
	if args[0] == "schema" {
		return schemaCommand(ctx, args[1:])
	}
	sc := scenarioByName(args[0])
	if sc == nil {
		usage(out)
		return fmt.Errorf("unknown scenario %q", args[0])
	}
	fs := flag.NewFlagSet("load "+sc.name, flag.ContinueOnError)
	fs.SetOutput(out)
	var o options
	fs.StringVar(&o.url, "url", "", "a running walrelay server, or several nodes of a cluster comma-separated (clients are spread over them; default: start one)")
	fs.StringVar(&o.dbURL, "database-url", "", "a running Postgres with wal_level=logical (default: start one)")
	fs.StringVar(&o.secret, "secret", envOr("JWT_SECRET", defaultSecret), "HS256 secret of the clients' tokens (env JWT_SECRET)")
	fs.StringVar(&o.syncCommit, "synchronous-commit", "on", "synchronous_commit of the Postgres the tool starts (on: commits wake the walsender at once; off: up to 10 ms later)")
	fs.StringVar(&o.slot, "slot", "walrelay_load", "the server's slot and publication, made by the server the tool starts")
	fs.IntVar(&o.serverPID, "server-pid", 0, "pid of the server given with --url, for its CPU and memory")
	fs.IntVar(&o.clients, "clients", 0, "WebSocket clients")
	fs.IntVar(&o.rooms, "rooms", 0, "rooms (chat)")
	fs.IntVar(&o.writers, "writers", 0, "writer connections")
	fs.Float64Var(&o.rate, "rate", 0, "inserts per second, in total")
	fs.DurationVar(&o.duration, "duration", 0, "measurement window (idle: how long to hold the connections)")
	fs.DurationVar(&o.warmup, "warmup", -1, "writing before the window starts")
	fs.IntVar(&o.rows, "rows", 0, "rows in the COPY (ingest)")
	fs.IntVar(&o.dialParallel, "dial-parallel", 32, "connections opened at a time")
	fs.DurationVar(&o.drainIdle, "drain", 15*time.Second, "after writing, how long to wait without progress for the last deliveries")
	fs.DurationVar(&o.drainMax, "drain-max", 2*time.Minute, "after writing, how long to wait for the last deliveries in all (later ones count as lost)")
	fs.StringVar(&o.jsonPath, "json", "", "write the report as JSON here (default load-<scenario>.json; - for none)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "server CPU profile of the window (server started by the tool)")
	fs.StringVar(&o.memProfile, "memprofile", "", "server allocation profile at the window's end (and <file>.start at its start)")
	fs.StringVar(&o.mutexProfile, "mutexprofile", "", "server mutex contention profile of the window")
	fs.StringVar(&o.toolProfile, "toolprofile", "", "CPU profile of the load tool itself, for the whole run")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o = o.withDefaults(sc.defaults)
	if err := o.check(); err != nil {
		return err
	}
	if o.jsonPath == "" {
		o.jsonPath = "load-" + sc.name + ".json"
	}
	if o.toolProfile != "" {
		f, err := os.Create(o.toolProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	r := newReport(sc.name, o.params())
	fmt.Fprintf(out, "walrelay load: %s: %s\n", sc.name, sc.about)
	if err := sc.run(ctx, &o, sc, r); err != nil {
		return err
	}
	r.LoadAvg[1] = loadAvg()
	if o.url == "" {
		r.Profiles = o.profiles()
	}
	r.print(out)
	if o.jsonPath != "-" {
		if err := r.writeJSON(o.jsonPath); err != nil {
			return err
		}
		fmt.Fprintf(out, "  %-26s %s\n", "json", o.jsonPath)
	}
	if !r.OK {
		return errChecks
	}
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// schemaCommand is `load schema --database-url URL`: it makes the load
// tables (dropping what a run left), so that servers started by hand with
// `load config <scenario>`, such as the nodes of a cluster, find them
// before the tool runs against them with --url (docs/cluster.md).
func schemaCommand(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("load schema", flag.ContinueOnError)
	dbURL := fs.String("database-url", os.Getenv("DATABASE_URL"), "the Postgres the servers will use (env DATABASE_URL)")
	slot := fs.String("slot", "walrelay_load", "the servers' slot, dropped if a run left it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dbURL == "" {
		return errors.New("load schema: --database-url is required")
	}
	return prepareSchema(ctx, *dbURL, *slot, true)
}
