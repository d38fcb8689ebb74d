package integration

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/walrelay/walrelay/config"
	"github.com/walrelay/walrelay/pgembed"
	"github.com/walrelay/walrelay/pgembed/pgtest"
	"github.com/walrelay/walrelay/server"
)

func newServerErr(t *testing.T, dbURL, yaml string) error {
	t.Helper()
	cfg, err := config.Parse("walrelay.yaml", []byte(yaml), func(k string) (string, bool) {
		return dbURL, k == "DATABASE_URL"
	})
	if err != nil {
		return err
	}
	srv, err := server.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		srv.Close()
	}
	return err
}

// A config that does not match the database stops startup with a message
// naming the mismatch and its config line.
func TestStartupChecksConfigAgainstDatabase(t *testing.T) {
	url := newDatabase(t)
	pgtest.MustExec(t, url, "create table nopk (a int); create table twopk (a int, b int, primary key (a, b))")
	head := "database:\n  url: ${DATABASE_URL}\nserver:\n  listen: 127.0.0.1:0\nauth:\n  anonymous: true\nmodels:\n"
	for name, tc := range map[string]struct{ models, want string }{
		"missing table":  {"  Message:\n    table: public.messagez\n", "walrelay.yaml:9"},
		"missing owner":  {"  Message:\n    table: messages\n    owner: writer_id\n", "writer_id"},
		"missing hidden": {"  Message:\n    table: messages\n    hide: [ip]\n", `"ip"`},
		"no primary key": {"  Thing:\n    table: nopk\n", "primary key"},
		"composite key":  {"  Thing:\n    table: twopk\n", "primary key"},
	} {
		t.Run(name, func(t *testing.T) {
			err := newServerErr(t, url, head+tc.models)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want mention of %q", err, tc.want)
			}
			if name == "missing table" && !strings.Contains(err.Error(), "messagez") {
				t.Fatalf("err = %v does not name the table", err)
			}
		})
	}
}

// With wal_level below logical, startup stops and names the setting.
func TestStartupRequiresLogicalWAL(t *testing.T) {
	pgtest.AdminURL(t) // skips when no Postgres is available at all
	if _, err := pgembed.FindBinDir(); err != nil {
		t.Skip("needs local Postgres binaries to start a second cluster:", err)
	}
	ctx := context.Background()
	c, err := pgembed.Start(ctx, pgembed.Options{Settings: map[string]string{"wal_level": "replica"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	pgtest.MustExec(t, c.URL("postgres"), "create table items (id int primary key)")
	err = newServerErr(t, c.URL("postgres"), "database:\n  url: ${DATABASE_URL}\nserver:\n  listen: 127.0.0.1:0\nauth:\n  anonymous: true\nmodels:\n  Item:\n    table: items\n    subscribe: [list]\n")
	if err == nil || !strings.Contains(err.Error(), "wal_level") || !strings.Contains(err.Error(), "logical") {
		t.Fatalf("err = %v, want it to name wal_level = logical", err)
	}
	// REST-only configs do not need logical replication.
	if err := newServerErr(t, c.URL("postgres"), "database:\n  url: ${DATABASE_URL}\nserver:\n  listen: 127.0.0.1:0\nauth:\n  anonymous: true\nmodels:\n  Item:\n    table: items\n"); err != nil {
		t.Fatalf("REST-only server on wal_level=replica: %v", err)
	}
}

// `check` (server.CheckOnly) validates without changing the database: no
// publication, slot, replica identity or schema is created.
func TestCheckChangesNothing(t *testing.T) {
	url := newDatabase(t)
	cfg, err := config.Parse("walrelay.yaml", []byte(testConfig), func(k string) (string, bool) {
		switch k {
		case "DATABASE_URL":
			return url, true
		case "JWT_SECRET":
			return testSecret, true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), server.CheckOnly())
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	conn := db(t, url)
	for what, q := range map[string]string{
		"slot":             "select count(*) from pg_replication_slots where database = current_database()",
		"publication":      "select count(*) from pg_publication",
		"walrelay schema":  "select count(*) from pg_namespace where nspname = 'walrelay'",
		"replica identity": "select count(*) from pg_class where relname = 'messages' and relreplident = 'f'",
	} {
		if n := queryInt(t, conn, q); n != 0 {
			t.Errorf("check created a %s", what)
		}
	}
	// A config mistake is still reported.
	bad := strings.Replace(testConfig, "table: public.messages", "table: public.nope", 1)
	cfg, err = config.Parse("walrelay.yaml", []byte(bad), func(k string) (string, bool) {
		if k == "JWT_SECRET" {
			return testSecret, true
		}
		return url, k == "DATABASE_URL"
	})
	if err == nil {
		_, err = server.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), server.CheckOnly())
	}
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("check of a bad config: %v", err)
	}
}
