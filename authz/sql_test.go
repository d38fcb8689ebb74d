package authz

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/pgembed/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// readRules are checked for ReadSQL == Allow over random rows and claims.
var readRules = []string{
	"isOwner || isAdmin || row.room_id in auth.rooms",
	"row.author_id == auth.sub",
	"!(row.room_id == auth.room) && row.published != false",
	"row.score > auth.min || row.score <= 0.0",
	"row.body < auth.name || row.author_id >= 'bob'",
	"row.created_at >= timestamp('2025-06-01T00:00:00Z') || row.room_id == null",
	"row.uid == auth.uid || row.uid in auth.uids",
	"row.published || (authenticated && !row.published)",
	"row.room_id in [1, 2.0, 2.5, null] && auth.level > 2",
	"row.id != auth.sub || row.room_id < auth.level",
	"row.room_id > 1.5 && row.id <= 30",
	"public && !(row.author_id != null)",
	"auth.sub in ['alice'] || row.room_id in auth.nothing",
	"isOwner && row.body != 'x'",
}

var (
	uuids   = []any{nil, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12"}
	authors = []any{nil, "alice", "bob", "Carol", ""}
	bodies  = []any{"a", "B", "b", "ä", "x", ""}
	rooms   = []any{nil, int64(1), int64(2), int64(3), int64(4)}
	scores  = []any{nil, -1.5, 0.0, 2.0, 2.5}
	pubs    = []any{nil, true, false}
	times   = []any{nil, "2025-05-01T10:00:00Z", "2025-06-01T00:00:00Z", "2026-01-02T03:04:05.5Z"}
)

func pick(r *rand.Rand, xs []any) any { return xs[r.IntN(len(xs))] }

func randomRows(r *rand.Rand, n int) []walrelay.Row {
	rows := make([]walrelay.Row, n)
	for i := range rows {
		rows[i] = walrelay.Row{
			"id": int64(i + 1), "room_id": pick(r, rooms), "author_id": pick(r, authors), "body": pick(r, bodies),
			"score": pick(r, scores), "published": pick(r, pubs), "created_at": pick(r, times), "uid": pick(r, uuids),
		}
	}
	return rows
}

var missing = struct{}{}

func randomClaims(r *rand.Rand) Claims {
	if r.IntN(8) == 0 {
		return nil
	}
	c := Claims{}
	set := func(k string, xs ...any) {
		if v := xs[r.IntN(len(xs))]; v != missing {
			c[k] = v
		}
	}
	set("sub", "alice", "bob", int64(5), "5", missing)
	set("rooms", []any{int64(1), int64(2)}, []any{}, []any{int64(3), nil}, "x", []any{1.0, "2"}, missing)
	set("roles", []any{"admin"}, []any{"user"}, "admin", missing, missing)
	set("room", int64(1), "1", nil, 2.0, missing)
	set("min", 1.0, int64(2), "x", nil, missing)
	set("name", "b", "B", "ä", int64(1), missing)
	set("uid", uuids[1], "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "nope", nil, missing)
	set("uids", []any{uuids[2], "nope"}, []any{nil}, missing)
	set("level", int64(1), int64(3), 2.5, missing)
	return c
}

func insertRows(t testing.TB, url string, rows []walrelay.Row) {
	pgtest.MustExec(t, url, testDDL)
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, row := range rows {
		_, err := conn.Exec(context.Background(),
			`INSERT INTO messages (id, room_id, author_id, body, score, published, created_at, uid) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
			row["id"], row["room_id"], row["author_id"], row["body"], row["score"], row["published"], row["created_at"], row["uid"])
		if err != nil {
			t.Fatalf("insert: %v", err)
		}
	}
}

func TestReadSQLMatchesAllow(t *testing.T) {
	url := pgtest.MustDatabase(t)
	r := rand.New(rand.NewPCG(1, 2))
	rows := randomRows(r, 60)
	insertRows(t, url, rows)
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, rule := range append(readRules, "intOwner:isOwner", "intOwner:isOwner || row.published") {
		owner := "author_id"
		if r, ok := strings.CutPrefix(rule, "intOwner:"); ok {
			owner, rule = "room_id", r // an integer owner column: auth.sub "5" owns room 5
		}
		m := testModel(owner, map[string]string{"read": rule})
		p := mustPolicy(t, m)
		for range 25 {
			claims := randomClaims(r)
			var want []int64
			for _, row := range rows {
				if p.Allow(m, ActionRead, claims, row) {
					want = append(want, row["id"].(int64))
				}
			}
			args := []any{int64(0)} // a parameter already bound by the caller
			where, err := p.ReadSQL(m, claims, &args)
			if err != nil {
				t.Fatal(err)
			}
			got := queryIDs(t, conn, "SELECT id FROM messages WHERE id <> $1 AND "+where+" ORDER BY id", args)
			if !slices.Equal(got, want) {
				t.Errorf("rule %q claims %v\nwhere %s %v\n got %v\nwant %v", rule, claims, where, args, got, want)
			}
		}
	}
}

func queryIDs(t testing.TB, conn *pgx.Conn, sql string, args []any) []int64 {
	t.Helper()
	rs, err := conn.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s %v: %v", sql, args, err)
	}
	ids, err := pgx.CollectRows(rs, pgx.RowTo[int64])
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return ids
}

func TestReadSQLShape(t *testing.T) {
	m := testModel("author_id", map[string]string{"read": "isOwner || isAdmin || row.room_id in auth.rooms"})
	p := mustPolicy(t, m)
	cases := map[string]struct {
		claims Claims
		want   string
		args   []any
	}{
		"admin":     {Claims{"role": "admin"}, "true", nil},
		"anonymous": {nil, "false", nil},
		"owner+rooms": {Claims{"sub": "alice", "rooms": []any{int64(1)}},
			`(("author_id" = $1::text AND "author_id" IS NOT NULL) OR ("room_id" = ANY($2::bigint[]) AND "room_id" IS NOT NULL))`,
			[]any{"alice", []int64{1}}},
		// A missing claim is an error, which is NULL in SQL (deny).
		"no rooms": {Claims{"sub": "alice"}, `(("author_id" = $1::text AND "author_id" IS NOT NULL) OR NULL)`, []any{"alice"}},
	}
	for name, c := range cases {
		var args []any
		got, _ := p.ReadSQL(m, c.claims, &args)
		if got != c.want || fmt.Sprint(args) != fmt.Sprint(c.args) {
			t.Errorf("%s: ReadSQL = %s %v, want %s %v", name, got, args, c.want, c.args)
		}
		if strings.Contains(got, "alice") {
			t.Errorf("%s: value spliced into SQL", name)
		}
	}
}
