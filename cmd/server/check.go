package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/walrelay/walrelay/config"
	"github.com/walrelay/walrelay/scaffold"
	"github.com/walrelay/walrelay/server"
)

// check runs `walrelay check`: the config against the database, changing
// nothing, including the rights walrelay's role needs (checkRights), then
// a report of what it exposes (writeReport). Any problem is
// an error naming its file:line; the report is printed only when there is
// none.
func check(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	path := configFlag(fs)
	quiet := fs.Bool("quiet", false, "print only problems")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("check: unexpected argument %q", fs.Arg(0))
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, cfg, log, server.CheckOnly())
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := checkRights(ctx, cfg, srv); err != nil {
		return err
	}
	if !*quiet {
		writeReport(stdout, cfg, srv.Schema())
	}
	fmt.Fprintf(stdout, "%s: ok\n", *path)
	return nil
}

// checkRights fails, with the SQL to run, when the database or the role
// of database.url lacks what serving the models needs (scaffold.Needs).
func checkRights(ctx context.Context, cfg *config.Config, srv *server.Server) error {
	var exposed, live []scaffold.Table
	for _, m := range srv.Schema().Models() {
		t := scaffold.Table{Schema: m.Schema, Name: m.Table}
		exposed = append(exposed, t)
		if m.Realtime() {
			live = append(live, t)
		}
	}
	steps, err := scaffold.Needs(ctx, srv.Pool(), exposed, live, scaffold.NeedsOptions{Slot: cfg.Realtime.Slot, Publication: cfg.Realtime.Publication})
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.Pos("$.database.url"), err)
	}
	if len(steps) > 0 {
		return fmt.Errorf("%s: database.url: the database is not ready for walrelay; run:\n%s", cfg.Pos("$.database.url"), strings.TrimSuffix(scaffold.FormatSteps(steps), "\n"))
	}
	return nil
}
