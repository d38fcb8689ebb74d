package ws

import (
	"encoding/json"
)

// inbound is any client message (CONTRACT §3). Fields not used by a type
// are ignored. ref is echoed back verbatim, whatever JSON value it is.
type inbound struct {
	Type    string          `json:"type"`
	Ref     json.RawMessage `json:"ref,omitempty"`
	Channel string          `json:"channel,omitempty"`
	Filter  string          `json:"filter,omitempty"`
	Since   string          `json:"since,omitempty"`
	Event   string          `json:"event,omitempty"`
	Op      string          `json:"op,omitempty"`
	Model   string          `json:"model,omitempty"`
	ID      json.RawMessage `json:"id,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
	Token   string          `json:"token,omitempty"`
	// Presence is the presence meta sent with subscribe on a custom
	// channel; Meta the new meta of a presence message.
	Presence json.RawMessage `json:"presence,omitempty"`
	Meta     json.RawMessage `json:"meta,omitempty"`
}

// Server messages other than events (see encode.go for those).

type subscribedMsg struct {
	Type    string          `json:"type"` // "subscribed"
	Ref     json.RawMessage `json:"ref,omitempty"`
	Channel string          `json:"channel"`
	Cursor  string          `json:"cursor,omitempty"` // none on custom channels
}

type unsubscribedMsg struct {
	Type    string          `json:"type"` // "unsubscribed"
	Ref     json.RawMessage `json:"ref,omitempty"`
	Channel string          `json:"channel"`
}

type replyMsg struct {
	Type   string          `json:"type"` // "reply"
	Ref    json.RawMessage `json:"ref,omitempty"`
	Data   any             `json:"data"`
	Cursor string          `json:"cursor,omitempty"`
}

type errorMsg struct {
	Type    string          `json:"type"` // "error"
	Ref     json.RawMessage `json:"ref,omitempty"`
	Code    string          `json:"code"`
	Channel string          `json:"channel,omitempty"` // a subscription dropped on a token refresh
	Message string          `json:"message"`
}

type authenticatedMsg struct {
	Type string          `json:"type"` // "authenticated"
	Ref  json.RawMessage `json:"ref,omitempty"`
}

type resyncMsg struct {
	Type    string `json:"type"` // "resync"
	Channel string `json:"channel"`
	Reason  string `json:"reason"`
}

type publishedMsg struct {
	Type string          `json:"type"` // "published"
	Ref  json.RawMessage `json:"ref,omitempty"`
}

type pongMsg struct {
	Type string          `json:"type"` // "pong"
	Ref  json.RawMessage `json:"ref,omitempty"`
}

// Close codes (CONTRACT §3).
const (
	closeProtocolError = 4400
	closeUnauthorized  = 4401
	closeTooSlow       = 4408
	closeRateLimited   = 4429
)
