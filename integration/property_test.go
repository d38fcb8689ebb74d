package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/walrelay/walrelay/pgembed/pgtest"
)

// doc is the test's own model of one row of docs.
type doc struct {
	ID          int64
	Owner       string
	Team, Level int
	Body        string
}

// user is a test identity and its claims.
type user struct {
	Sub         string
	Team, Level int
	Admin       bool
}

func (u user) claims() map[string]any {
	c := map[string]any{"sub": u.Sub, "team": u.Team, "level": u.Level}
	if u.Admin {
		c["roles"] = []string{"admin"}
	}
	return c
}

// propertyRule is a read rule with an independent Go oracle.
type propertyRule struct {
	cel    string
	allows func(u user, d doc) bool
}

var propertyRules = map[string]propertyRule{
	// Evaluated per subscriber.
	"evaluated": {
		cel: "isOwner || isAdmin || (row.team == auth.team && row.level <= auth.level)",
		allows: func(u user, d doc) bool {
			return d.Owner == u.Sub || u.Admin || (d.Team == u.Team && d.Level <= u.Level)
		},
	},
	// Routed by index on owner.
	"indexed": {
		cel:    "row.owner == auth.sub || isAdmin",
		allows: func(u user, d doc) bool { return d.Owner == u.Sub || u.Admin },
	},
}

// propertyFilter is a subscription filter with its Go oracle.
type propertyFilter struct {
	text  string
	match func(d doc) bool
}

var propertyFilters = []propertyFilter{
	{"", func(doc) bool { return true }},
	{"level=gte.2", func(d doc) bool { return d.Level >= 2 }},
	{"team=eq.1", func(d doc) bool { return d.Team == 1 }},
	{"body=like.*a*", func(d doc) bool { return strings.Contains(d.Body, "a") }},
	{"team=in.(2,3)&level=lt.3", func(d doc) bool { return (d.Team == 2 || d.Team == 3) && d.Level < 3 }},
}

// Many users with different claims subscribe with random filters while
// another connection makes random writes. Every client receives exactly the
// events its rule and filter allow, in commit order: no leak, no loss, and
// the hidden column never.
func TestPropertyEventsObeyRules(t *testing.T) {
	for name, rule := range propertyRules {
		t.Run(name, func(t *testing.T) { runProperty(t, rule, uint64(len(name))) })
	}
}

func runProperty(t *testing.T, rule propertyRule, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 42))
	url := pgtest.MustDatabase(t)
	pgtest.MustExec(t, url, `
		create table docs (id bigint generated always as identity primary key, owner text not null,
			team int not null, level int not null, body text not null, secret text);
		create table fences (id bigint generated always as identity primary key, note text);`)
	cfg := fmt.Sprintf(`
database:
  url: ${DATABASE_URL}
server:
  listen: "127.0.0.1:0"
auth:
  jwt:
    secret: ${JWT_SECRET}
models:
  Doc:
    table: docs
    subscribe: [list]
    owner: owner
    hide: [secret]
    permissions:
      subscribe: authenticated
      read: %q
  Fence:
    table: fences
    subscribe: [list]
    permissions: {subscribe: authenticated, read: authenticated}
limits:
  max_connections_per_user: 100
`, rule.cel)
	ts := startServerWith(t, url, cfg)

	var users []user
	for i := range 10 {
		users = append(users, user{Sub: fmt.Sprintf("u%d", i), Team: 1 + rng.IntN(3), Level: rng.IntN(4), Admin: i == 0})
	}
	type client struct {
		u      user
		filter propertyFilter
		ws     *wsClient
		want   []string
	}
	var clients []*client
	for i := 0; i < 24; i++ {
		u := users[i%len(users)]
		c := &client{u: u, filter: propertyFilters[rng.IntN(len(propertyFilters))]}
		c.ws = dialToken(t, ts.URL, token(t, u.claims(), time.Hour))
		c.ws.subscribe("d", "Doc:list", c.filter.text)
		c.ws.subscribe("f", "Fence:list", "")
		clients = append(clients, c)
	}

	// Random writes from another connection, in transactions of 1-3 ops,
	// tracking each row's state to derive every client's expected events.
	conn := db(t, url)
	ctx := context.Background()
	rows := map[int64]doc{}
	words := []string{"alpha", "bravo", "echo", "lima", "kilo", "oscar", "tango"}
	expect := func(old, new *doc) {
		for _, c := range clients {
			view := func(d *doc) bool { return d != nil && rule.allows(c.u, *d) && c.filter.match(*d) }
			vo, vn := view(old), view(new)
			switch {
			case vo && vn:
				c.want = append(c.want, fmt.Sprintf("updated:%d:%s", new.ID, new.Body))
			case vn:
				c.want = append(c.want, fmt.Sprintf("created:%d:%s", new.ID, new.Body))
			case vo:
				c.want = append(c.want, fmt.Sprintf("deleted:%d", old.ID))
			}
		}
	}
	ids := func() []int64 {
		var out []int64
		for id := range rows {
			out = append(out, id)
		}
		slices.Sort(out)
		return out
	}
	for range 120 {
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		type change struct{ old, new *doc }
		var changes []change
		for range 1 + rng.IntN(3) {
			existing := ids()
			switch op := rng.IntN(10); {
			case op < 4 || len(existing) < 3:
				d := doc{Owner: users[rng.IntN(len(users))].Sub, Team: 1 + rng.IntN(3), Level: rng.IntN(4), Body: words[rng.IntN(len(words))]}
				if err := tx.QueryRow(ctx, "insert into docs (owner, team, level, body, secret) values ($1,$2,$3,$4,'s3cret') returning id",
					d.Owner, d.Team, d.Level, d.Body).Scan(&d.ID); err != nil {
					t.Fatal(err)
				}
				changes = append(changes, change{nil, &d})
			case op < 8:
				old := rows[existing[rng.IntN(len(existing))]]
				d := old
				switch rng.IntN(4) {
				case 0:
					d.Owner = users[rng.IntN(len(users))].Sub
				case 1:
					d.Team = 1 + rng.IntN(3)
				case 2:
					d.Level = rng.IntN(4)
				}
				d.Body = words[rng.IntN(len(words))] + fmt.Sprint(rng.IntN(100))
				if _, err := tx.Exec(ctx, "update docs set owner=$2, team=$3, level=$4, body=$5 where id=$1", d.ID, d.Owner, d.Team, d.Level, d.Body); err != nil {
					t.Fatal(err)
				}
				changes = append(changes, change{&old, &d})
			default:
				old := rows[existing[rng.IntN(len(existing))]]
				if _, err := tx.Exec(ctx, "delete from docs where id=$1", old.ID); err != nil {
					t.Fatal(err)
				}
				changes = append(changes, change{&old, nil})
			}
			last := changes[len(changes)-1]
			if last.new != nil {
				rows[last.new.ID] = *last.new
			} else {
				delete(rows, last.old.ID)
			}
		}
		if rng.IntN(8) == 0 {
			if err := tx.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
			// Undo the model: a rolled-back transaction is never sent.
			for i := len(changes) - 1; i >= 0; i-- {
				ch := changes[i]
				if ch.new != nil {
					delete(rows, ch.new.ID)
				}
				if ch.old != nil {
					rows[ch.old.ID] = *ch.old
				}
			}
			continue
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		for _, ch := range changes {
			expect(ch.old, ch.new)
		}
	}
	exec(t, conn, "insert into fences (note) values ('done')")

	for i, c := range clients {
		var got []string
		for {
			m := c.ws.nextOf("event")
			if m.str("channel") == "Fence:list" {
				break
			}
			if _, leaked := m.obj("data")["secret"]; leaked {
				t.Fatalf("client %d: hidden column sent: %v", i, m)
			}
			if _, leaked := m.obj("old")["secret"]; leaked {
				t.Fatalf("client %d: hidden column sent in old: %v", i, m)
			}
			e := fmt.Sprintf("%s:%d", m.str("event"), num(m["id"]))
			if m.str("event") != "deleted" {
				e += ":" + m.obj("data").str("body")
			}
			got = append(got, e)
		}
		t.Logf("client %d: %d events", i, len(got))
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("client %d (%+v, filter %q):\n got  %v\n want %v", i, c.u, c.filter.text, got, c.want)
		}
	}
}
