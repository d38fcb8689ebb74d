package main

import (
	"context"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// subscribeWS dials the server's WebSocket with token and subscribes to
// channel, failing the test unless the server confirms. The connection is
// closed at cleanup.
func subscribeWS(ctx context.Context, t *testing.T, addr, token, channel string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws?token="+token, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","ref":"1","channel":"`+channel+`"}`)); err != nil {
		t.Fatal(err)
	}
	if _, data, err := ws.Read(ctx); err != nil || !strings.Contains(string(data), `"subscribed"`) {
		t.Fatalf("subscribe: %s %v", data, err)
	}
	return ws
}
