package ws

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/coder/websocket"

	"github.com/walrelay/walrelay"
)

// FuzzDecode feeds arbitrary frames to the client message decoder and the
// field parsers a message goes through. None may panic; every error must
// be a client error (wrapping ErrBadRequest), never an internal one; and a
// decoded message must survive a re-encode unchanged. The seeds run as
// ordinary tests.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"type":"subscribe","ref":"1","channel":"Message:list","filter":"room_id=eq.5","since":"YzEuMC4wLjA"}`,
		`{"type":"unsubscribe","ref":2,"channel":"Message:item:42"}`,
		`{"type":"publish","ref":"3","channel":"chat:room:7","event":"typing","data":{}}`,
		`{"type":"request","ref":"4","op":"list","model":"Message","params":{"room_id":"eq.5","limit":50,"x":[1,true]}}`,
		`{"type":"request","ref":"5","op":"update","model":"Message","id":"7","data":{"body":"hi"}}`,
		`{"type":"request","op":"get","id":{"a":1}}`,
		`{"type":"request","op":"get","id":1e400}`,
		`{"type":"auth","token":"a.b.c"}`,
		`{"type":"ping"}`,
		`{"type":"ping","ref":{"nested":[null]}}`,
		`{"type":5}`, `[1,2]`, `null`, `"x"`, `{"type":`, ``, "\xff\xfe", `{"type":"subscribe","channel":"\u0000:list"}`,
		`{"type":"subscribe","since":"!!"}`, `{"params":"nope","data":[1]}`,
	} {
		f.Add(true, []byte(s))
	}
	f.Add(false, []byte(`{"type":"ping"}`))
	f.Fuzz(func(t *testing.T, text bool, data []byte) {
		typ := websocket.MessageBinary
		if text {
			typ = websocket.MessageText
		}
		m, err := decode(typ, data)
		if err != nil {
			if !errors.Is(err, walrelay.ErrBadRequest) {
				t.Fatalf("decode error %v does not wrap ErrBadRequest", err)
			}
			return
		}
		if !text {
			t.Fatal("binary frame decoded")
		}
		// Re-encoding the decoded message gives the same message.
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := decode(websocket.MessageText, b)
		if err != nil || !reflect.DeepEqual(normalize(again), normalize(m)) {
			t.Fatalf("round trip: %+v -> %s -> %+v, %v", m, b, again, err)
		}
		// The field parsers fail only with client errors.
		client := func(what string, err error) {
			if err != nil && !errors.Is(err, walrelay.ErrBadRequest) {
				t.Fatalf("%s: %v does not wrap ErrBadRequest", what, err)
			}
		}
		_, err = requestID(m)
		client("id", err)
		_, err = requestData(m)
		client("data", err)
		_, err = paramsValues(m.Params)
		client("params", err)
		_, err = walrelay.ParseChannel(m.Channel)
		client("channel", err)
		_, err = walrelay.ParseCursor(m.Since)
		client("since", err)
	})
}

// normalize compacts the raw JSON fields, which re-encoding may reformat.
func normalize(m inbound) inbound {
	for _, raw := range []*json.RawMessage{&m.Ref, &m.ID, &m.Params, &m.Data} {
		if len(*raw) == 0 {
			continue
		}
		var v any
		if json.Unmarshal(*raw, &v) == nil {
			b, _ := json.Marshal(v)
			*raw = b
		}
	}
	return m
}
