package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/walrelay/walrelay/pgembed"
)

// postgres starts a throwaway Postgres (wal_level=logical) with the demo
// schema, prints its URL on the first line of stdout, and keeps it until
// ctx ends (Ctrl-C, SIGTERM). Tests of other languages (the SDK's) use it
// to get a database that outlives the walrelay processes they restart.
func postgres(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("postgres", flag.ContinueOnError)
	empty := fs.Bool("empty", false, "do not load the demo schema")
	if err := fs.Parse(args); err != nil {
		return err
	}
	url, stop, err := startThrowaway(ctx, log, pgembed.Options{})
	if err != nil {
		return err
	}
	defer stop()
	if !*empty {
		if err := loadDemoSchema(ctx, url); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, url)
	<-ctx.Done()
	return nil
}

// startThrowaway starts a throwaway Postgres cluster (wal_level=logical)
// with opts and returns the URL of its postgres database and stop, which stops it
// and removes its files (a failure to is logged). Without the Postgres
// binaries the error says how to install them.
func startThrowaway(ctx context.Context, log *slog.Logger, opts pgembed.Options) (url string, stop func(), err error) {
	cluster, err := pgembed.Start(ctx, opts)
	if errors.Is(err, pgembed.ErrNoBinaries) {
		return "", nil, fmt.Errorf("%w: %s", err, pgembed.InstallHint)
	}
	if err != nil {
		return "", nil, fmt.Errorf("start postgres: %w", err)
	}
	stop = func() {
		if err := cluster.Stop(); err != nil {
			log.Warn("stop postgres", "err", err)
		}
	}
	return cluster.URL("postgres"), stop, nil
}
