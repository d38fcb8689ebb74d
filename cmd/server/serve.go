package main

import (
	"context"
	"flag"
	"log/slog"
	"os"

	"github.com/walrelay/walrelay/config"
	"github.com/walrelay/walrelay/server"
)

func serve(ctx context.Context, args []string, log *slog.Logger) error {
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
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}
