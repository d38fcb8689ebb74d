package ws

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/walrelay/walrelay"
)

// authSchema has an indexed read rule (Notification), a per-subscriber one
// (Message) and a public model (Post).
func authSchema() *walrelay.Schema {
	return walrelay.NewSchema([]*walrelay.Model{
		{
			Name: "Notification", Schema: "public", Table: "notifications", Path: "notifications", PrimaryKey: "id",
			Subscribe:   []walrelay.ChannelKind{walrelay.KindList, walrelay.KindItem},
			Broadcast:   []walrelay.Op{walrelay.OpCreated, walrelay.OpUpdated, walrelay.OpDeleted},
			Permissions: map[string]string{"subscribe": "authenticated", "read": "row.user_id == auth.sub"},
			Columns: []walrelay.Column{
				{Name: "id", TypeOID: oidInt8, Type: "bigint", NotNull: true},
				{Name: "user_id", TypeOID: 25, Type: "text", NotNull: true},
				{Name: "body", TypeOID: 25, Type: "text"},
			},
		},
		{
			Name: "Message", Schema: "public", Table: "messages", Path: "messages", PrimaryKey: "id",
			Subscribe: []walrelay.ChannelKind{walrelay.KindList, walrelay.KindItem},
			Broadcast: []walrelay.Op{walrelay.OpCreated, walrelay.OpUpdated, walrelay.OpDeleted},
			Hide:      []string{"ip_address"},
			Permissions: map[string]string{
				"subscribe": `authenticated && "rooms" in auth`,
				"read":      "isAdmin || row.room_id in auth.rooms",
			},
			Columns: []walrelay.Column{
				{Name: "id", TypeOID: oidInt8, Type: "bigint", NotNull: true},
				{Name: "room_id", TypeOID: oidInt4, Type: "integer"},
				{Name: "body", TypeOID: 25, Type: "text"},
				{Name: "ip_address", TypeOID: 25, Type: "text"},
			},
		},
		{
			Name: "Post", Schema: "public", Table: "posts", Path: "posts", PrimaryKey: "id",
			Subscribe:   []walrelay.ChannelKind{walrelay.KindList},
			Broadcast:   []walrelay.Op{walrelay.OpCreated},
			Permissions: map[string]string{"subscribe": "public", "read": "row.published"},
			Columns: []walrelay.Column{
				{Name: "id", TypeOID: oidInt8, Type: "bigint", NotNull: true},
				{Name: "published", TypeOID: 16, Type: "boolean", NotNull: true},
			},
		},
	})
}

// token signs claims with testSecret, expiring at exp.
func token(t *testing.T, claims jwt.MapClaims, exp time.Time) string {
	t.Helper()
	c := jwt.MapClaims{"exp": exp.Unix()}
	for k, v := range claims {
		c[k] = v
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hour is an expiry far enough away.
func hour() time.Time { return time.Now().Add(time.Hour) }

// tryDial dials with an optional query string and header.
func (e *testEnv) tryDial(query string, header http.Header) (*client, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u := e.url
	if query != "" {
		u += "?" + query
	}
	c, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		return nil, resp, err
	}
	c.SetReadLimit(-1)
	e.t.Cleanup(func() { _ = c.CloseNow() })
	return &client{t: e.t, ws: c}, resp, nil
}

// dialToken dials with the token in the URL.
func (e *testEnv) dialToken(tok string) *client {
	e.t.Helper()
	c, _, err := e.tryDial("token="+tok, nil)
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	return c
}

// auth sends an auth message and waits for authenticated.
func (c *client) auth(tok string) {
	c.t.Helper()
	c.send(map[string]any{"type": "auth", "ref": "auth", "token": tok})
	if m := c.one(); m.str("type") != "authenticated" || m.str("ref") != "auth" {
		c.t.Fatalf("auth: got %v", m)
	}
}

// subscribeErr subscribes and returns the error code it gets.
func (c *client) subscribeErr(channel string) string {
	c.t.Helper()
	c.send(map[string]any{"type": "subscribe", "ref": "s", "channel": channel})
	m := c.one()
	if m.str("type") != "error" || m.str("ref") != "s" {
		c.t.Fatalf("subscribe %s: got %v, want an error", channel, m)
	}
	return m.str("code")
}

// rawUntil reads raw frames until one contains marker and returns them all.
func (c *client) rawUntil(marker string) string {
	c.t.Helper()
	var all []string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, b, err := c.ws.Read(ctx)
		cancel()
		if err != nil {
			c.t.Fatalf("read (so far %q): %v", all, err)
		}
		all = append(all, string(b))
		if strings.Contains(string(b), marker) {
			return strings.Join(all, "\n")
		}
	}
}

// event builders for authSchema.

func (e *testEnv) note(op walrelay.Op, id int, oldUser, newUser string) *walrelay.Event {
	ev := &walrelay.Event{Model: e.model("Notification"), Op: op}
	if oldUser != "" {
		ev.Old = walrelay.Row{"id": int64(id), "user_id": oldUser, "body": "note-" + walrelay.KeyOf(id)}
	}
	if newUser != "" {
		ev.New = walrelay.Row{"id": int64(id), "user_id": newUser, "body": "note-" + walrelay.KeyOf(id)}
	}
	return ev
}

func (e *testEnv) msgEv(op walrelay.Op, id, oldRoom, newRoom int) *walrelay.Event {
	ev := &walrelay.Event{Model: e.model("Message"), Op: op}
	row := func(room int) walrelay.Row {
		return walrelay.Row{"id": int64(id), "room_id": int64(room), "body": "msg-" + walrelay.KeyOf(id), "ip_address": "10.9.9.9"}
	}
	if oldRoom != 0 {
		ev.Old = row(oldRoom)
	}
	if newRoom != 0 {
		ev.New = row(newRoom)
	}
	return ev
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func asCloseError(err error, ce *websocket.CloseError) bool { return errors.As(err, ce) }
