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
	path := configFlag(fs)
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

// configFlag defines --config: the config file, by default
// $WALRELAY_CONFIG or else walrelay.yaml.
func configFlag(fs *flag.FlagSet) *string {
	def := os.Getenv("WALRELAY_CONFIG")
	if def == "" {
		def = "walrelay.yaml"
	}
	return fs.String("config", def, "config file (env WALRELAY_CONFIG)")
}
