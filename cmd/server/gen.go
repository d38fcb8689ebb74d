package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/config"
	"github.com/walrelay/walrelay/server"
	"github.com/walrelay/walrelay/store"
	"github.com/walrelay/walrelay/tsgen"
)

const genUsage = `usage: walrelay gen ts [--config walrelay.yaml] [--out file.ts]
`

// gen runs `walrelay gen <target>`; the one target is ts: TypeScript types
// for the configured models, read from the live schema, written to --out
// or stdout.
func gen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "ts" {
		fmt.Fprint(stderr, genUsage)
		if len(args) == 0 {
			return errors.New("gen: no target given")
		}
		return fmt.Errorf("gen: unknown target %q", args[0])
	}
	fs := flag.NewFlagSet("gen ts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs)
	out := fs.String("out", "", "write to this file instead of stdout")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprint(stderr, genUsage)
		return fmt.Errorf("gen ts: unexpected argument %q", fs.Arg(0))
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	src, err := generateTS(ctx, cfg)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = stdout.Write(src)
		return err
	}
	if err := writeFileAtomic(*out, src); err != nil {
		return fmt.Errorf("gen ts: %w", err)
	}
	fmt.Fprintf(stderr, "wrote %s (%d models)\n", *out, len(cfg.Models))
	return nil
}

// generateTS resolves cfg's models against its database and returns the
// TypeScript declarations.
func generateTS(ctx context.Context, cfg *config.Config) ([]byte, error) {
	conn, err := pgx.Connect(ctx, cfg.Database.URL)
	if err != nil {
		return nil, fmt.Errorf("connect to database (%s): %w", cfg.Pos("$.database.url"), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	models := cfg.BuildModels()
	var errs []error
	for _, m := range models {
		if err := store.LoadModels(ctx, conn, []*walrelay.Model{m}); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", server.ModelPos(cfg, m, err), err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	src, err := tsgen.Generate(ctx, conn, models, tsgen.Options{Source: cfg.File()})
	if err != nil {
		return nil, fmt.Errorf("gen ts: %w", err)
	}
	return src, nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory, so a reader never sees a half-written file.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // no-op after the rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
