package ws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/authz"
)

// phxTopicPrefix starts every channel topic: "realtime:{name}".
const phxTopicPrefix = "realtime:"

// phxTopic is one joined topic of a connection. Written by the read loop
// before it is published in phoenixWire.topics; immutable after.
type phxTopic struct {
	name    string // "realtime:chat:room:7"
	sub     string // "chat:room:7"
	joinRef json.RawMessage
	// keys are the topic's model subscriptions in conn.subs; custom says
	// whether it has the custom channel subscription conn.custom[sub].
	keys   []string
	custom bool
	// presence: the client asked for presence state and diffs;
	// self: it gets its own broadcasts; ack: its broadcasts are answered.
	presence, self, ack bool
	// errored is set once the topic was told to rejoin (see resync).
	errored *atomic.Bool
}

// phxJoinPayload is a phx_join's payload, as realtime-js sends it.
type phxJoinPayload struct {
	Config *struct {
		Broadcast *struct {
			Self             flexBool `json:"self"`
			Ack              flexBool `json:"ack"`
			ReplicationReady flexBool `json:"replication_ready"`
		} `json:"broadcast"`
		Presence *struct {
			Enabled flexBool `json:"enabled"`
		} `json:"presence"`
		PostgresChanges []json.RawMessage `json:"postgres_changes"`
	} `json:"config"`
	AccessToken *string `json:"access_token"`
	UserToken   *string `json:"user_token"`
}

// flexBool is a JSON boolean that also takes "true" and "false".
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch string(bytes.TrimSpace(data)) {
	case "true", `"true"`:
		*b = true
	case "false", `"false"`, "null":
		*b = false
	default:
		return fmt.Errorf("want a boolean, got %s", data)
	}
	return nil
}

// join serves phx_join on "realtime:{name}". Everything is checked before
// anything is subscribed: the join's token (see applyToken), each
// postgres_changes binding (a realtime model the subscribe rule allows,
// its filter), the custom channel {name} if one is configured (its
// subscribe rule and subscribe_sql), the subscription limit. A topic that
// is neither a custom channel nor has bindings is unknown. Joining a topic
// joined already first closes the old join (phx_close). The ok reply,
// {"postgres_changes":[{..binding, "id"}]}, is queued before any event
// of the topic: once it arrives every change after it is delivered (the
// subscriptions are in the hub). A system message "Subscribed to
// PostgreSQL" follows when there are bindings.
func (w *phoenixWire) join(m phxMsg) error {
	c := w.c
	sub, ok := strings.CutPrefix(m.Topic, phxTopicPrefix)
	if !ok || sub == "" {
		return fmt.Errorf("%w: unmatched topic %q: topics are %q followed by a channel name", walrelay.ErrNotFound, m.Topic, phxTopicPrefix)
	}
	var p phxJoinPayload
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		return fmt.Errorf("%w: malformed join payload: %v", walrelay.ErrBadRequest, err)
	}
	if old := w.topic(m.Topic); old != nil {
		w.leave(old)
		w.push(old, phxClose, []byte("{}"))
	}
	token := ""
	if p.AccessToken != nil {
		token = *p.AccessToken
	} else if p.UserToken != nil {
		token = *p.UserToken
	}
	if err := w.applyToken(token); err != nil {
		return err
	}
	t := &phxTopic{name: m.Topic, sub: sub, joinRef: m.JoinRef, errored: &atomic.Bool{}}
	var changes []json.RawMessage
	replicationReady := false
	if cfg := p.Config; cfg != nil {
		changes = cfg.PostgresChanges
		if b := cfg.Broadcast; b != nil {
			t.self, t.ack, replicationReady = bool(b.Self), bool(b.Ack), bool(b.ReplicationReady)
		}
		if pr := cfg.Presence; pr != nil {
			t.presence = bool(pr.Enabled)
		}
	}
	binds, echo, err := w.bindings(t, changes)
	if err != nil {
		return err
	}
	rules, params := c.s.cfg.Channels.Match(sub)
	if rules == nil && len(binds) == 0 {
		return fmt.Errorf("%w: unknown channel %q: not a configured custom channel, and no postgres_changes", walrelay.ErrNotFound, sub)
	}
	need := len(binds)
	if rules != nil {
		if err := c.checkCustom(rules, params, sub); err != nil {
			return err
		}
		need++
	}
	if c.subCount()+need > c.s.cfg.MaxSubscriptionsPerClient {
		return fmt.Errorf("%w: at most %d per connection", walrelay.ErrTooManySubs, c.s.cfg.MaxSubscriptionsPerClient)
	}

	// Published before subscribing: items looks the topic up for the
	// custom channel's presence state, delivered during joinCustom.
	w.mu.Lock()
	w.topics[t.name] = t
	w.mu.Unlock()
	replied := false
	reply := func() {
		if !replied {
			replied = true
			w.reply(m, "ok", map[string]any{"postgres_changes": echo})
		}
	}
	if rules != nil {
		if _, err := c.joinCustom(sub, t.name, rules, params, nil, reply); err != nil {
			w.leave(t)
			return err
		}
		t.custom = true
	}
	for i, b := range binds {
		key := fmt.Sprintf("%s\x00%d", t.name, i)
		ch := walrelay.Channel{Model: b.model.Name, Kind: walrelay.KindList}
		if err := c.openSub(key, t.name, ch, b.model, b, nil, func(walrelay.Cursor, bool) { reply() }); err != nil {
			w.leave(t)
			return err
		}
		t.keys = append(t.keys, key)
	}
	reply()
	if len(binds) > 0 {
		w.push(t, "system", marshal(phxSystemMsg{Extension: "postgres_changes", Status: "ok", Message: "Subscribed to PostgreSQL", Channel: sub}))
	}
	if replicationReady {
		w.push(t, "system", marshal(phxSystemMsg{Extension: "system", Status: "ok", Message: "Replication connection established", Channel: sub}))
	}
	return nil
}

// leave ends topic t's subscriptions and forgets it. Read loop.
func (w *phoenixWire) leave(t *phxTopic) {
	c := w.c
	for _, key := range t.keys {
		c.dropSubscription(key)
	}
	if t.custom {
		if cs := c.custom[t.sub]; cs != nil && cs.owner == t.name {
			c.s.hub.UnsubscribeCustom(cs.hs) // leaves presence
			delete(c.custom, t.sub)
		}
	}
	w.mu.Lock()
	if w.topics[t.name] == t {
		delete(w.topics, t.name)
	}
	w.mu.Unlock()
}

// isProjectKey reports whether a token sent as access_token is no user's
// token: none, the apikey of the connection URL (what supabase-js sends
// when signed out) or a Supabase publishable key ("sb_...").
func (w *phoenixWire) isProjectKey(token string) bool {
	return token == "" || token == w.apikey || strings.HasPrefix(token, "sb_")
}

// applyToken makes the access token of a join or access_token message the
// connection's: a user token is verified (errors wrap
// walrelay.ErrUnauthorized) and adopted for every subscription of the
// connection; a project key or none leaves the connection anonymous,
// which only auth.anonymous allows (a user token adopted before is
// dropped: the user signed out). Read loop.
func (w *phoenixWire) applyToken(token string) error {
	c := w.c
	if w.isProjectKey(token) {
		if w.token == "" && c.authed {
			return nil
		}
		if !c.s.auth.Anonymous() {
			return fmt.Errorf("%w: send a user's token as access_token (anonymous access is off)", walrelay.ErrUnauthorized)
		}
		if err := c.adopt(identity{}); err != nil {
			return err
		}
		w.token = ""
		return nil
	}
	if token == w.token {
		return nil
	}
	id, err := c.verify(token)
	if err != nil {
		return err
	}
	if err := c.adopt(id); err != nil {
		return err
	}
	w.token = token
	return nil
}

// refresh serves access_token {"access_token": ..}: the new token applies
// to the whole connection (realtime-js sends it on every joined topic). A
// token that does not verify shuts topic t down with the reason.
func (w *phoenixWire) refresh(t *phxTopic, m phxMsg) error {
	var p struct {
		AccessToken *string `json:"access_token"`
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		return fmt.Errorf("%w: access_token payload: want {\"access_token\": string}", walrelay.ErrBadRequest)
	}
	if p.AccessToken == nil {
		return nil
	}
	if err := w.applyToken(*p.AccessToken); err != nil {
		_, msg, _ := errorCode(err)
		w.shutdown(t, msg)
	}
	return nil
}

// callerAllows reports whether the connection may subscribe to model m.
func (w *phoenixWire) callerAllows(m *walrelay.Model) bool {
	return w.c.caller.Load().Allow(m, string(authz.ActionSubscribe), nil)
}
