package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"
	"golang.org/x/term"

	"github.com/walrelay/walrelay/cdc"
	"github.com/walrelay/walrelay/config"
	"github.com/walrelay/walrelay/scaffold"
)

const initUsage = `usage: walrelay init [--database-url URL] [--out walrelay.yaml] [--schemas public]
                     [--models a,b] [--realtime a,b|none] [--yes] [--force]

Reads the database's tables and writes a commented walrelay.yaml: every
table a model, the live-looking ones realtime, safe rules (reads need a
token, writes are refused until you add rules). On a terminal it asks which
models to serve; elsewhere pass --yes. It never overwrites a file without
--force, and prints the SQL the database still needs.
`

// initConfig runs `walrelay init`. in is the terminal to prompt on, when it
// is one; out gets the prompts, the summary and the SQL.
func initConfig(ctx context.Context, args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() { fmt.Fprint(out, initUsage) }
	dbURL := fs.String("database-url", os.Getenv("DATABASE_URL"), "database to read (default $DATABASE_URL)")
	outPath := fs.String("out", "walrelay.yaml", "file to write")
	schemas := fs.String("schemas", "public", "schemas to read, comma-separated")
	models := fs.String("models", "", "tables (or model names) to serve, comma-separated (default: all that can be)")
	realtime := fs.String("realtime", "", "tables (or model names) with live updates, comma-separated, or none (default: those that look live)")
	yes := fs.Bool("yes", false, "do not prompt: take the flags and the suggestions")
	force := fs.Bool("force", false, "overwrite --out if it exists")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("init: unexpected argument %q", fs.Arg(0))
	}
	if *dbURL == "" {
		return errors.New("init: no database: pass --database-url or set DATABASE_URL")
	}
	interactive := !*yes && isTerminal(in)
	if !*yes && !interactive {
		return errors.New("init: standard input is not a terminal: pass --yes (with --models and --realtime to choose) to run without prompts")
	}
	if !*force {
		if _, err := os.Stat(*outPath); err == nil {
			return fmt.Errorf("init: %s exists; pass --force to overwrite it", *outPath)
		}
	}

	conn, err := pgx.Connect(ctx, *dbURL)
	if err != nil {
		return fmt.Errorf("init: connect to database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tables, err := scaffold.Inspect(ctx, conn, splitList(*schemas))
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if err := everySchemaHasTables(splitList(*schemas), tables, databaseName(*dbURL)); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	suggested := scaffold.Suggest(tables)
	if *models != "" {
		if err := choose(suggested, *models, func(m *scaffold.Model, on bool) { m.Selected = on }); err != nil {
			return fmt.Errorf("init: --models: %w", err)
		}
	}
	if *realtime != "" {
		if err := choose(suggested, *realtime, func(m *scaffold.Model, on bool) { m.Realtime = on }); err != nil {
			return fmt.Errorf("init: --realtime: %w", err)
		}
	}
	for _, m := range suggested {
		if m.Realtime && !m.Selected {
			if *realtime != "" && m.Skip == "" {
				return fmt.Errorf("init: --realtime names %s, which is not among the models", m.Table.Name)
			}
			m.Realtime = false
		}
	}
	dbName := databaseName(*dbURL)
	if interactive {
		p := &prompter{in: newLineReader(in), out: out}
		ok, err := p.run(suggested, dbName, *outPath)
		if err != nil {
			return fmt.Errorf("init: %w", err)
		}
		if !ok {
			fmt.Fprintln(out, "Nothing written.")
			return nil
		}
	}

	text := scaffold.Render(suggested, scaffold.RenderOptions{Database: dbName})
	// The file must parse as a config, as written (the variables it uses
	// need not be set yet).
	if _, err := config.Parse(*outPath, text, func(k string) (string, bool) { return "x", true }); err != nil {
		return fmt.Errorf("init: generated config does not parse (a bug): %w", err)
	}
	if err := writeConfig(*outPath, text, *force); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	var exposed, live []scaffold.Table
	for _, m := range suggested {
		if m.Selected {
			exposed = append(exposed, m.Table)
			if m.Realtime {
				live = append(live, m.Table)
			}
		}
	}
	fmt.Fprintf(out, "Wrote %s: %s, %d realtime.\n", *outPath, plural(len(exposed), "model"), len(live))
	steps, err := scaffold.Needs(ctx, conn, exposed, live, scaffold.NeedsOptions{Slot: cdc.DefaultSlot, Publication: cdc.DefaultPublication})
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if len(steps) == 0 {
		fmt.Fprintln(out, "\nThe database is ready for walrelay as this role: nothing to run.")
	} else {
		fmt.Fprintf(out, "\nThe database still needs this (walrelay connects as the role in DATABASE_URL):\n\n%s", scaffold.FormatSteps(steps))
	}
	fmt.Fprintf(out, "\nNext:\n  export DATABASE_URL=... JWT_SECRET=...   # the secret your tokens are signed with\n  walrelay check --config %[1]s\n  walrelay serve --config %[1]s\n  walrelay token --config %[1]s --sub <user>   # a token to try the API with\n", *outPath)
	return nil
}

// everySchemaHasTables fails for a schema of --schemas that holds no
// table (a typo, or a database without its tables yet), rather than
// writing a config that serves nothing from it.
func everySchemaHasTables(schemas []string, tables []scaffold.Table, db string) error {
	for _, s := range schemas {
		found := false
		for _, t := range tables {
			if t.Schema == s {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("--schemas: schema %q of database %s has no tables (or does not exist)", s, db)
		}
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// choose sets each model named in list (table name, schema.table or
// model name) on and every other off; "none" turns all off.
func choose(models []*scaffold.Model, list string, set func(*scaffold.Model, bool)) error {
	names := splitList(list)
	if len(names) == 1 && names[0] == "none" {
		names = nil
	}
	picked := map[*scaffold.Model]bool{}
	for _, n := range names {
		m := find(models, n)
		if m == nil {
			return fmt.Errorf("no table %q (have %s)", n, tableList(models))
		}
		if m.Skip != "" {
			return fmt.Errorf("%s cannot be a model: %s", m.Table.Qualified(), m.Skip)
		}
		picked[m] = true
	}
	for _, m := range models {
		set(m, picked[m])
	}
	return nil
}

func find(models []*scaffold.Model, name string) *scaffold.Model {
	for _, m := range models {
		if name == m.Table.Name || name == m.Table.Qualified() || name == m.Name {
			return m
		}
	}
	return nil
}

func tableList(models []*scaffold.Model) string {
	var names []string
	for _, m := range models {
		names = append(names, m.Table.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// writeConfig writes the file; without force it fails if the file exists,
// even when it appeared after the check above (O_EXCL).
func writeConfig(path string, data []byte, force bool) error {
	if force {
		return writeFileAtomic(path, data)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists; pass --force to overwrite it", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// databaseName is the database part of a libpq URL, for messages (never
// the password).
func databaseName(dbURL string) string {
	if cfg, err := pgx.ParseConfig(dbURL); err == nil {
		return fmt.Sprintf("%s on %s", cfg.Database, cfg.Host)
	}
	if u, err := url.Parse(dbURL); err == nil {
		return strings.TrimPrefix(u.Path, "/")
	}
	return "?"
}
