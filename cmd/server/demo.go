package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay/config"
	"github.com/walrelay/walrelay/pgembed"
	"github.com/walrelay/walrelay/server"
	schema "github.com/walrelay/walrelay/sql"
)

//go:embed demo.html
var demoPage []byte

// defaultAppDir is where `make demo` builds the chat app.
const defaultAppDir = "examples/chat/dist"

// defaultPostgresPort is the throwaway database's port when it is free, so
// that the demo's DATABASE_URL is the same from run to run.
const defaultPostgresPort = 54320

// spa serves a built single-page app from dir: files as they are, and
// index.html for any other path (client-side routes).
func spa(dir string) http.Handler {
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := filepath.Join(dir, filepath.FromSlash(path.Clean("/"+r.URL.Path)))
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			http.ServeFile(w, r, filepath.Join(dir, "index.html"))
			return
		}
		files.ServeHTTP(w, r)
	})
}

// demo starts a throwaway Postgres, loads the demo schema and serves it with
// the demo config. Postgres is stopped and its files removed on exit.
func demo(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8080", "address to serve on")
	dbURL := fs.String("database-url", "", "use this database (wal_level=logical) instead of a throwaway one")
	pgPort := fs.Int("postgres-port", defaultPostgresPort, "port of the throwaway database when free (0: any free port)")
	appDir := fs.String("app", "", "serve this built web app at / instead of the built-in page (default: examples/chat/dist when built)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dbURL == "" {
		log.Info("starting a throwaway PostgreSQL")
		url, stop, err := startThrowaway(ctx, log, pgembed.Options{Port: *pgPort})
		if err != nil {
			return err
		}
		defer stop()
		*dbURL = url
	}
	if *appDir == "" {
		if st, err := os.Stat(filepath.Join(defaultAppDir, "index.html")); err == nil && !st.IsDir() {
			*appDir = defaultAppDir
		}
	}
	if err := loadDemoSchema(ctx, *dbURL); err != nil {
		return err
	}
	env := map[string]string{"DATABASE_URL": *dbURL, "LISTEN": *listen}
	cfg, err := config.Parse("demo.yaml", schema.DemoConfig, func(k string) (string, bool) {
		if v, ok := env[k]; ok {
			return v, true
		}
		return os.LookupEnv(k)
	})
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	if *appDir != "" {
		srv.Mount("/*", spa(*appDir))
		log.Info("serving the web app", "dir", *appDir)
	} else {
		srv.Mount("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write(demoPage)
		}))
	}
	srv.Mount("/demo/token", demoTokens{pool: srv.Pool(), secret: []byte(cfg.Auth.JWT.Secret)})
	host, port, _ := net.SplitHostPort(srv.Addr().String())
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	fmt.Fprintf(stdout, `
walrelay demo is running.

  Open        http://%[1]s   (sign in as alice, bob or carol; try two windows)
  Token       TOKEN=$(curl -s 'http://%[1]s/demo/token?user=alice' | sed 's/.*"token":"\([^"]*\)".*/\1/')
  REST        curl -H "Authorization: Bearer $TOKEN" http://%[1]s/api/messages
  WebSocket   ws://%[1]s/ws?token=$TOKEN   (send {"type":"subscribe","ref":"1","channel":"Message:list"})

The database, for psql, cmd/load or your own code (paste the line into a shell as it is):

DATABASE_URL=%[2]s

Make a message appear live (from another terminal):

  psql "%[2]s" -c "insert into messages (room_id, author_id, body) values (1, 'bob', 'hello from psql')"

Ctrl-C stops walrelay and removes the throwaway database.

`, net.JoinHostPort(host, port), *dbURL)
	return srv.Run(ctx)
}

func loadDemoSchema(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("connect to demo database: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, schema.Demo); err != nil {
		return fmt.Errorf("load demo schema: %w", err)
	}
	return nil
}
