package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay/pgembed/pgtest"
	schema "github.com/walrelay/walrelay/sql"
)

// check exits non-zero on each kind of problem, naming the config file
// and the line of the offending entry, and changes nothing.
func TestCheckNamesFileAndLine(t *testing.T) {
	dbURL := pgtest.MustDatabase(t)
	pgtest.MustExec(t, dbURL, schema.Demo)
	t.Setenv("DATABASE_URL", dbURL)
	head := "database:\n  url: ${DATABASE_URL}\nauth:\n  jwt:\n    secret: " + initSecret + "\nmodels:\n  Message:\n    table: messages\n"
	for name, c := range map[string]struct {
		tail string
		line int
		want string
	}{
		// line 9 is the first line after head.
		"rule":         {"    permissions:\n      read: \"row.nope == auth.sub\"\n", 10, `rule "read": 1:4`},
		"owner column": {"    owner: writer\n", 9, `owner column "writer" does not exist`},
		"unknown key":  {"    permisions: {}\n", 9, "unknown field"},
		"table":        {"  Ghost:\n    table: ghosts\n", 10, "table public.ghosts does not exist"},
		"isOwner":      {"    permissions: { read: isOwner }\n", 9, "isOwner needs the model's owner column"},
		"channel rule": {"channels:\n  \"room:{id}\":\n    events: [x]\n    permissions: { subscribe: \"params.nope == 1\" }\n", 12, "unknown parameter"},
	} {
		path := filepath.Join(t.TempDir(), "walrelay.yaml")
		if err := os.WriteFile(path, []byte(head+c.tail), 0o644); err != nil {
			t.Fatal(err)
		}
		err := run(context.Background(), []string{"check", "--config", path}, io.Discard, io.Discard)
		at := path + ":" + strconv.Itoa(c.line) + ":"
		if err == nil || !strings.Contains(err.Error(), at) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v\nwant %q at %s", name, err, c.want, at)
		}
	}
	// A good realtime config passes and sets nothing up.
	path := filepath.Join(t.TempDir(), "walrelay.yaml")
	if err := os.WriteFile(path, []byte(head+"    subscribe: [list]\n    permissions: { subscribe: authenticated, read: authenticated }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := run(context.Background(), []string{"check", "--config", path}, &out, io.Discard); err != nil {
		t.Fatalf("good config: %v", err)
	}
	if !strings.Contains(out.String(), "Message:list") || !strings.HasSuffix(out.String(), path+": ok\n") {
		t.Errorf("report:\n%s", out.String())
	}
	var pubs, slots int
	var ident string
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	err = conn.QueryRow(context.Background(), `select (select count(*) from pg_publication), (select count(*) from pg_replication_slots where database = current_database()),
		(select relreplident::text from pg_class where relname = 'messages')`).Scan(&pubs, &slots, &ident)
	if err != nil {
		t.Fatal(err)
	}
	if pubs != 0 || slots != 0 || ident != "d" {
		t.Errorf("after check: %d publications, %d slots, replica identity %s; check must change nothing", pubs, slots, ident)
	}
}
