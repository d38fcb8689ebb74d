package authz

import (
	"reflect"
	"strings"
	"testing"

	"github.com/walrelay/walrelay"
)

func chatChannels() []*walrelay.CustomChannel {
	return []*walrelay.CustomChannel{
		{
			Pattern: "chat:room:{roomId}", Events: []string{"message", "typing"}, Presence: true,
			SubscribeSQL: "select 1 from room_members where room_id = $roomId and user_id = $sub and note <> '$notme' -- $nor\n and x = $roomId",
			Permissions:  map[string]string{"subscribe": "authenticated", "publish": `authenticated && params.roomId != "0"`},
		},
		{Pattern: "chat:lobby", Events: []string{"message"}, Permissions: map[string]string{"subscribe": "public"}},
		{Pattern: "chat:{any}", Events: []string{"message"}, Permissions: map[string]string{"subscribe": "isAdmin"}},
		{Pattern: "org:{org}:team:{team}", Events: []string{"ping"},
			Permissions: map[string]string{"subscribe": "params.org == string(auth.org) && params.team in auth.teams"}},
	}
}

func TestCompileChannelsMatch(t *testing.T) {
	p, err := CompileChannels(chatChannels())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]struct {
		pattern string
		params  map[string]string
	}{
		"chat:room:7":        {"chat:room:{roomId}", map[string]string{"roomId": "7"}},
		"chat:lobby":         {"chat:lobby", map[string]string{}},
		"chat:other":         {"chat:{any}", map[string]string{"any": "other"}},
		"org:5:team:a":       {"org:{org}:team:{team}", map[string]string{"org": "5", "team": "a"}},
		"chat:room:":         {},
		"chat:room:7:x":      {},
		"chat":               {},
		"Message:list":       {},
		"org:5:teams:a":      {},
		"":                   {},
		"chat:room:7 or 1=1": {"chat:room:{roomId}", map[string]string{"roomId": "7 or 1=1"}},
	} {
		r, params := p.Match(name)
		if want.pattern == "" {
			if r != nil {
				t.Errorf("Match(%q) = %s, want none", name, r.Channel.Pattern)
			}
			continue
		}
		if r == nil || r.Channel.Pattern != want.pattern || !reflect.DeepEqual(params, want.params) {
			t.Errorf("Match(%q) = %v %v, want %s %v", name, r, params, want.pattern, want.params)
		}
	}
}

func TestChannelRulesAllow(t *testing.T) {
	p, err := CompileChannels(chatChannels())
	if err != nil {
		t.Fatal(err)
	}
	room, params := p.Match("chat:room:7")
	alice := Claims{"sub": "alice"}
	cases := []struct {
		a      Action
		claims Claims
		params map[string]string
		want   bool
	}{
		{ActionSubscribe, alice, params, true},
		{ActionSubscribe, nil, params, false},
		{ActionPublish, alice, params, true},
		{ActionPublish, alice, map[string]string{"roomId": "0"}, false},
		{ActionPublish, nil, params, false},
		{Action("read"), alice, params, false}, // no such rule: deny
	}
	for _, c := range cases {
		if got := room.Allow(c.a, c.claims, c.params); got != c.want {
			t.Errorf("%s %v %v = %v, want %v", c.a, c.claims, c.params, got, c.want)
		}
	}
	lobby, lp := p.Match("chat:lobby")
	if !lobby.Allow(ActionSubscribe, nil, lp) || lobby.Allow(ActionPublish, alice, lp) {
		t.Error("lobby: public subscribe, no publish rule (deny)")
	}
	anyc, ap := p.Match("chat:x")
	if anyc.Allow(ActionSubscribe, alice, ap) || !anyc.Allow(ActionSubscribe, Claims{"roles": []any{"admin"}}, ap) {
		t.Error("isAdmin")
	}
	team, tp := p.Match("org:5:team:a")
	if !team.Allow(ActionSubscribe, Claims{"org": int64(5), "teams": []any{"a"}}, tp) {
		t.Error("org team rule should allow")
	}
	// A missing claim fails closed.
	if team.Allow(ActionSubscribe, Claims{"teams": []any{"a"}}, tp) {
		t.Error("missing claim must deny")
	}
	if !room.HasEvent("typing") || room.HasEvent("bogus") {
		t.Error("HasEvent")
	}
}

func TestChannelMembershipSQL(t *testing.T) {
	p, err := CompileChannels(chatChannels())
	if err != nil {
		t.Fatal(err)
	}
	room, params := p.Match("chat:room:7")
	sql, args, ok := room.Membership(Claims{"sub": "alice"}, params)
	want := "select 1 from room_members where room_id = $1 and user_id = $2 and note <> '$notme' -- $nor\n and x = $1"
	if !ok || sql != want || !reflect.DeepEqual(args, []any{"7", "alice"}) {
		t.Fatalf("got %q %v %v", sql, args, ok)
	}
	_, args, _ = room.Membership(nil, params)
	if args[1] != nil {
		t.Errorf("anonymous $sub = %v, want nil (NULL)", args[1])
	}
	if _, _, ok := p.channels[1].Membership(nil, nil); ok {
		t.Error("channel without subscribe_sql has a membership query")
	}
}

func TestCompileChannelsErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		ch   walrelay.CustomChannel
		want string
	}{
		"syntax":         {walrelay.CustomChannel{Pattern: "a:{id}", Permissions: map[string]string{"subscribe": "auth.sub =="}}, `channel "a:{id}": rule "subscribe": 1:`},
		"unknown param":  {walrelay.CustomChannel{Pattern: "a:{id}", Permissions: map[string]string{"publish": "true &&\n params.room == 'x'"}}, `channel "a:{id}": rule "publish": 2:8: unknown parameter "room"`},
		"index param":    {walrelay.CustomChannel{Pattern: "a:{id}", Permissions: map[string]string{"publish": "params['nope'] == 'x'"}}, `unknown parameter "nope"`},
		"row":            {walrelay.CustomChannel{Pattern: "a:{id}", Permissions: map[string]string{"subscribe": "row.x == 1"}}, "not a row"},
		"not bool":       {walrelay.CustomChannel{Pattern: "a:{id}", Permissions: map[string]string{"subscribe": "params.id"}}, "must be a boolean"},
		"type":           {walrelay.CustomChannel{Pattern: "a:{id}", Permissions: map[string]string{"subscribe": "params.id == 1"}}, `rule "subscribe": 1:11: found no matching overload`},
		"permission":     {walrelay.CustomChannel{Pattern: "a:{id}", Permissions: map[string]string{"read": "true"}}, `unknown permission "read"`},
		"bad segment":    {walrelay.CustomChannel{Pattern: "a:room-{id}"}, "segment 2"},
		"empty segment":  {walrelay.CustomChannel{Pattern: "a::b"}, "segment 2"},
		"bad name":       {walrelay.CustomChannel{Pattern: "a:{1x}"}, "not an identifier"},
		"dup param":      {walrelay.CustomChannel{Pattern: "a:{x}:{x}"}, "appears twice"},
		"sql name":       {walrelay.CustomChannel{Pattern: "a:{id}", SubscribeSQL: "select 1 where $room = 1"}, `subscribe_sql: offset 15: unknown placeholder $room`},
		"sql positional": {walrelay.CustomChannel{Pattern: "a:{id}", SubscribeSQL: "select $1"}, "positional parameters"},
		"sql dollar":     {walrelay.CustomChannel{Pattern: "a:{id}", SubscribeSQL: "select $x$ hi $x$"}, "dollar-quoted"},
		"sql sub param":  {walrelay.CustomChannel{Pattern: "a:{sub}", SubscribeSQL: "select $sub"}, "shadow"},
	} {
		t.Run(name, func(t *testing.T) {
			ch := tc.ch
			_, err := CompileChannels([]*walrelay.CustomChannel{&ch})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	_, err := CompileChannels([]*walrelay.CustomChannel{{Pattern: "a:{x}"}, {Pattern: "a:{y}"}})
	if err == nil || !strings.Contains(err.Error(), `matches the same names as channel "a:{x}"`) {
		t.Fatalf("ambiguous patterns: %v", err)
	}
	// All problems at once.
	_, err = CompileChannels([]*walrelay.CustomChannel{
		{Pattern: "a:{id}", Permissions: map[string]string{"subscribe": "nope"}},
		{Pattern: "b:{id}", Permissions: map[string]string{"publish": "params.x == ''"}},
	})
	if err == nil || !strings.Contains(err.Error(), `channel "a:{id}"`) || !strings.Contains(err.Error(), `channel "b:{id}"`) {
		t.Fatalf("joined errors: %v", err)
	}
}

func TestCheckEmitted(t *testing.T) {
	p, err := CompileChannels(chatChannels())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ channel, event, want string }{
		{"chat:room:7", "typing", ""},
		{"chat:lobby", "message", ""},
		{"chat:lobby", "typing", `event "typing" is not in channel "chat:lobby"'s events`},
		{"Message:list", "message", `channel "Message:list" matches no configured custom channel`},
	} {
		err := p.CheckEmitted(tc.channel, tc.event)
		if (err == nil) != (tc.want == "") || err != nil && err.Error() != tc.want {
			t.Errorf("CheckEmitted(%q, %q) = %v, want %q", tc.channel, tc.event, err, tc.want)
		}
	}
	var none *ChannelPolicy
	if none.CheckEmitted("chat:lobby", "message") == nil {
		t.Error("a nil policy accepts an emitted message")
	}
}
