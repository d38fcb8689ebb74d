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
	cluster, err := pgembed.Start(ctx, pgembed.Options{})
	if errors.Is(err, pgembed.ErrNoBinaries) {
		return fmt.Errorf("%w: %s", err, pgembed.InstallHint)
	}
	if err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	defer func() {
		if err := cluster.Stop(); err != nil {
			log.Warn("stop postgres", "err", err)
		}
	}()
	url := cluster.URL("postgres")
	if !*empty {
		if err := loadDemoSchema(ctx, url); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, url)
	<-ctx.Done()
	return nil
}
