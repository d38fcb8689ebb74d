package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/walrelay/walrelay/config"
	"github.com/walrelay/walrelay/server"
)

func serve(ctx context.Context, args []string, log *slog.Logger, checkOnly bool) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	def := os.Getenv("WALRELAY_CONFIG")
	if def == "" {
		def = "walrelay.yaml"
	}
	path := fs.String("config", def, "config file (env WALRELAY_CONFIG)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	var opts []server.Option
	if checkOnly {
		opts = append(opts, server.CheckOnly())
	}
	srv, err := server.New(ctx, cfg, log, opts...)
	if err != nil {
		return err
	}
	if checkOnly {
		fmt.Printf("%s: ok\n", *path)
		return srv.Close()
	}
	return srv.Run(ctx)
}
