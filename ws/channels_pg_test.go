package ws

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/authz"
	"github.com/walrelay/walrelay/cdc"
	"github.com/walrelay/walrelay/pgembed/pgtest"
	"github.com/walrelay/walrelay/pgjson"
)

const channelTables = `
create table messages (id bigserial primary key, room_id int4, body text, ip_address text);
create table club_members (club_id int8, user_id text, primary key (club_id, user_id));
insert into club_members values (1, 'alice');`

// mustPGChanEnv is a gateway with testChannels whose membership queries
// run on a real database, and whose hub is fed by a real replication
// consumer of that database. It returns the env and the database URL.
func mustPGChanEnv(t *testing.T) (*testEnv, string) {
	t.Helper()
	pool, db := pgtest.MustPool(t, channelTables)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	schema := walrelay.NewSchema([]*walrelay.Model{testSchema().ByName("Message")})
	p, err := authz.CompileChannels(testChannels())
	if err != nil {
		t.Fatal(err)
	}
	env := mustEnvWith(t, Config{Channels: p, Membership: pool}, schema, nil, nil)

	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	cfg := cdc.Config{URL: db, Slot: "s_" + strings.TrimPrefix(u.Path, "/"), Publication: "walrelay",
		ManageReplicaIdentity: true, StandbyTimeout: time.Second, MinBackoff: 50 * time.Millisecond}
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	epoch, err := cdc.Setup(ctx, conn, schema, cfg)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env.hub.SetEpoch(epoch)
	consumer := cdc.NewConsumer(cfg, schema, pgjson.NewDecoder(), env.hub)
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- consumer.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("consumer: %v", err)
		}
	})
	return env, db
}

func TestEmittedFromSQLEndToEnd(t *testing.T) {
	env, db := mustPGChanEnv(t)
	alice := env.peer("alice")
	alice.join("chat:room:7", nil)
	alice.expect("presence")
	alice.subscribe("Message:list", "")

	// Rolled back: never delivered.
	pgtest.MustExec(t, db, `begin;
		insert into messages (room_id, body) values (7, 'gone');
		select pg_logical_emit_message(true, 'walrelay', '{"channel":"chat:room:7","event":"message","data":{"text":"rolled back"}}');
		rollback;`)
	// Committed: the message arrives after the row written before it in
	// the transaction, and before the one after it.
	pgtest.MustExec(t, db, `begin;
		insert into messages (room_id, body) values (7, 'first');
		select pg_logical_emit_message(true, 'walrelay', '{"channel":"chat:room:7","event":"message","data":{"text":"committed"}}');
		select pg_logical_emit_message(true, 'walrelay', 'not json');
		insert into messages (room_id, body) values (7, 'second');
		commit;`)
	var got []string
	for range 3 {
		m := alice.expect("event")
		if m.str("channel") == "chat:room:7" {
			d, _ := m["data"].(map[string]any)
			if from, ok := m["from"]; !ok || from != nil {
				t.Fatalf("emitted message from = %v", m["from"])
			}
			got = append(got, "msg "+walrelay.KeyOf(d["text"]))
			continue
		}
		d, _ := m["data"].(map[string]any)
		got = append(got, "row "+walrelay.KeyOf(d["body"]))
	}
	want := "row first|msg committed|row second"
	if strings.Join(got, "|") != want {
		t.Fatalf("got %q, want %q", strings.Join(got, "|"), want)
	}
	alice.quiet()
}

func TestSubscribeSQLMembership(t *testing.T) {
	env, _ := mustPGChanEnv(t)
	alice := env.peer("alice")
	alice.join("club:1", nil)
	for name, tc := range map[string]struct {
		sub, channel, code string
	}{
		"not a member":  {"bob", "club:1", CodeForbidden},
		"other club":    {"alice", "club:2", CodeForbidden},
		"bad value":     {"alice", "club:abc", CodeForbidden},
		"injection try": {"alice", "club:1 or true", CodeForbidden},
		"anonymous":     {"", "club:1", CodeForbidden},
	} {
		t.Run(name, func(t *testing.T) {
			p := env.peer(tc.sub)
			if code := p.errCode(map[string]any{"type": "subscribe", "channel": tc.channel}); code != tc.code {
				t.Fatalf("got %s, want %s", code, tc.code)
			}
			// It sees nothing of the channel.
			alice.send(map[string]any{"type": "publish", "ref": "p", "channel": "club:1", "event": "message", "data": name})
			alice.expect("published")
			p.quiet()
		})
	}
}
