package ws

import (
	"strings"
	"testing"
)

func TestBadMessagesGetErrorFrames(t *testing.T) {
	env := mustEnv(t, Config{}, nil)
	c := env.dial()
	other := env.dial()
	other.subscribe("Message:list", "")
	cases := map[string]struct{ send, code string }{
		"malformed JSON":   {`{"type":`, CodeBadRequest},
		"not an object":    {`[1,2]`, CodeBadRequest},
		"no type":          {`{"ref":"1"}`, CodeBadRequest},
		"unknown type":     {`{"type":"dance","ref":"1"}`, CodeBadRequest},
		"bad channel":      {`{"type":"subscribe","ref":"1","channel":"Message"}`, CodeBadRequest},
		"unknown kind":     {`{"type":"subscribe","ref":"1","channel":"Message:bogus"}`, CodeBadRequest},
		"unknown model":    {`{"type":"subscribe","ref":"1","channel":"Nope:list"}`, CodeNotFound},
		"not realtime":     {`{"type":"subscribe","ref":"1","channel":"User:list"}`, CodeNotFound},
		"kind not allowed": {`{"type":"subscribe","ref":"1","channel":"Note:list"}`, CodeForbidden},
		"bad item id":      {`{"type":"subscribe","ref":"1","channel":"Message:item:abc"}`, CodeBadRequest},
		"bad filter":       {`{"type":"subscribe","ref":"1","channel":"Message:list","filter":"nope=eq.1"}`, CodeInvalidFilter},
		"hidden column":    {`{"type":"subscribe","ref":"1","channel":"Message:list","filter":"ip_address=eq.x"}`, CodeInvalidFilter},
		"filter syntax":    {`{"type":"subscribe","ref":"1","channel":"Message:list","filter":"room_id=zz.1"}`, CodeInvalidFilter},
		"publish":          {`{"type":"publish","ref":"1","channel":"chat:room:7","event":"typing","data":{}}`, CodeBadRequest},
		"channel type":     {`{"type":"subscribe","ref":"1","channel":5}`, CodeBadRequest},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c.send(tc.send)
			m := c.one()
			if m.str("type") != "error" || m.str("code") != tc.code || m.str("message") == "" {
				t.Fatalf("got %v, want error %s", m, tc.code)
			}
			if strings.Contains(tc.send, `"ref":"1"`) && strings.Contains(tc.send, `"type":"`) && tc.code != CodeBadRequest && m.str("ref") != "1" {
				t.Errorf("ref not echoed: %v", m)
			}
		})
	}
	// The connection still works, and so does the other client's.
	c.subscribe("Note:created", "")
	env.deliver(env.ins(1, 5))
	if m := other.one(); summary(m) != "Message:list created 1" {
		t.Fatalf("other client got %v", m)
	}
	c.send(`{"type":"ping","ref":7}`)
	if m := c.one(); m.str("type") != "pong" || m["ref"] != float64(7) {
		t.Fatalf("got %v", m)
	}
}
