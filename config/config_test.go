package config

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/rest"
	"github.com/walrelay/walrelay/ws"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

const sample = `database:
  url: ${DATABASE_URL}
server:
  listen: "${LISTEN:-:9090}"
auth:
  jwt:
    secret: ${JWT_SECRET}
  anonymous: false
realtime:
  slot: walrelay
models:
  Message:
    table: public.messages
    path: messages
    subscribe: [list, item]
    broadcast: [created, updated, deleted]
    owner: author_id
    permissions:
      subscribe: authenticated
      read: "isOwner || isAdmin"
    hide: [ip_address]
  User:
    table: users
channels:
  "chat:room:{roomId}":
    events: [message, typing]
    presence: true
    permissions: { subscribe: authenticated, publish: authenticated }
limits:
  max_subscriptions_per_client: 10
`

func TestParseSample(t *testing.T) {
	c, err := Parse("walrelay.yaml", []byte(sample), env(map[string]string{"DATABASE_URL": "postgres://x/y", "JWT_SECRET": "s3cr$t"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Database.URL != "postgres://x/y" || c.Auth.JWT.Secret != "s3cr$t" || c.Server.Listen != ":9090" {
		t.Fatalf("expansion: %+v %+v %+v", c.Database, c.Auth, c.Server)
	}
	if c.Limits.WS.MaxSubscriptionsPerClient != 10 || c.Limits.WS.MaxMessageBytes != ws.DefaultMaxMessageBytes || !c.Realtime.ManagesReplicaIdentity() {
		t.Fatalf("limits/defaults: %+v", c.Limits)
	}
	ms := c.BuildModels()
	if len(ms) != 2 || ms[0].Name != "Message" || ms[1].Name != "User" {
		t.Fatalf("models: %+v", ms)
	}
	m := ms[0]
	if m.Schema != "public" || m.Table != "messages" || !m.Realtime() || m.Permissions["read"] != "isOwner || isAdmin" || m.Hide[0] != "ip_address" {
		t.Fatalf("Message: %+v", m)
	}
	if u := ms[1]; u.Path != "users" || u.Schema != "public" || u.Realtime() {
		t.Fatalf("User: %+v", u)
	}
	if got := c.Pos("$.models.Message.table"); got != "walrelay.yaml:13" {
		t.Fatalf("Pos = %q", got)
	}
	if !m.AllowsKind(walrelay.KindCreated) {
		t.Fatal("list should allow created")
	}
	if !c.Database.InstallsDDLTrigger() || c.Database.SchemaPollInterval() != DefaultSchemaPoll {
		t.Fatalf("schema watch defaults: %+v", c.Database)
	}
}

func TestSchemaWatchSettings(t *testing.T) {
	for text, want := range map[string]string{
		"  ddl_trigger: false\n  schema_poll: 5s\n": "false 5s",
		"  schema_poll: 0s\n":                       "true 0s",
	} {
		c, err := Parse("walrelay.yaml", []byte("database:\n  url: postgres://x\n"+text), env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(c.Database.InstallsDDLTrigger(), " ", c.Database.SchemaPollInterval()); got != want {
			t.Fatalf("%q: got %s, want %s", text, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	base := "database:\n  url: postgres://x\n"
	for name, tc := range map[string]struct{ yaml, want string }{
		"unknown key":       {base + "modles:\n  A: {table: a}\n", `walrelay.yaml:3:1: unknown field "modles"`},
		"unknown model key": {base + "models:\n  A:\n    table: a\n    tabel: b\n", `walrelay.yaml:6:5: unknown field "tabel"`},
		"unknown perm key":  {base + "models:\n  A:\n    table: a\n    permissions: {raed: x}\n", `unknown field "raed"`},
		"type error":        {base + "limits:\n  max_subscriptions_per_client: lots\n", "walrelay.yaml:4:"},
		"missing var":       {"database:\n  url: ${NOPE}\n", "walrelay.yaml:2: environment variable NOPE is not set"},
		"missing url":       {"server:\n  listen: :1\n", "database.url is required"},
		"bad kind":          {base + "models:\n  A:\n    table: a\n    subscribe: [lists]\n", `walrelay.yaml:6: model A: subscribe: unknown channel kind "lists"`},
		"bad event":         {base + "models:\n  A:\n    table: a\n    subscribe: [list]\n    broadcast: [inserted]\n", `unknown event "inserted"`},
		"bad table":         {base + "models:\n  A:\n    table: \"a; drop table x\"\n", `want schema.table`},
		"dup path":          {base + "models:\n  A:\n    table: a\n  B:\n    table: s.a\n", `path "a" is already used by model A`},
		"unknown limit":     {base + "limits:\n  send_queue: 5\n  max_subscription: 3\n", `walrelay.yaml:5:3: unknown field "max_subscription"`},
		"limit type error":  {base + "limits:\n  rest_burst: 5\n  send_queue: often\n", "walrelay.yaml:5:"},
		"bad slot":          {base + "realtime:\n  slot: Bad-Slot\n", `realtime.slot "Bad-Slot"`},
		"slot starts digit": {base + "realtime:\n  slot: 1slot\n", `walrelay.yaml:4: realtime.slot "1slot": use 1-63 lower-case`},
		"bad publication":   {base + "realtime:\n  publication: Pub\n", `realtime.publication "Pub"`},
		"bad duration":      {base + "limits:\n  heartbeat: often\n", `walrelay.yaml:4:14: time: invalid duration "often"`},
		"negative poll":     {base + "  schema_poll: -5s\n", `walrelay.yaml:3: database.schema_poll must not be negative`},
		"inspector, no jwt": {base + "server:\n  inspector: true\n", `walrelay.yaml:4: server.inspector needs auth.jwt`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("walrelay.yaml", []byte(tc.yaml), env(nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want containing %q", err, tc.want)
			}
		})
	}
}

func TestLimitsDecodeIntoTheirPackages(t *testing.T) {
	c, err := Parse("walrelay.yaml", []byte("database:\n  url: postgres://x\nlimits:\n  send_queue: 7\n  heartbeat: 3s\n  max_body_bytes: 99\n  rest_burst: 4\n  max_connections_per_ip: -1\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Limits.WS; w.SendQueue != 7 || w.Heartbeat != 3*time.Second || w.MaxConnectionsPerIP != -1 || w.MessagesPerSecond != ws.DefaultMessagesPerSecond {
		t.Fatalf("ws limits: %+v", w)
	}
	if r := c.Limits.REST; r.MaxBodyBytes != 99 || r.Burst != 4 || r.RequestsPerSecond != rest.DefaultRequestsPerSecond {
		t.Fatalf("rest limits: %+v", r)
	}
}
