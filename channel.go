package walrelay

import (
	"fmt"
	"strings"
)

// ChannelKind is the kind of a model channel.
type ChannelKind string

// The model channel kinds (CONTRACT §4).
const (
	KindList    ChannelKind = "list"    // {Model}:list
	KindItem    ChannelKind = "item"    // {Model}:item:{id}
	KindCreated ChannelKind = "created" // {Model}:created
	KindUpdated ChannelKind = "updated" // {Model}:updated:{id}
	KindDeleted ChannelKind = "deleted" // {Model}:deleted:{id}
)

// ParseChannelKind parses a kind named in the config's subscribe list.
func ParseChannelKind(s string) (ChannelKind, error) {
	switch k := ChannelKind(s); k {
	case KindList, KindItem, KindCreated, KindUpdated, KindDeleted:
		return k, nil
	}
	return "", fmt.Errorf("unknown channel kind %q (want list, item, created, updated or deleted)", s)
}

// Channel is a parsed model channel name.
type Channel struct {
	Model string
	Kind  ChannelKind
	// ID is the primary key in canonical form (see KeyOf) for the item,
	// updated and deleted kinds; empty otherwise.
	ID string
}

// String returns the channel's name, e.g. "Message:item:42".
func (c Channel) String() string {
	if c.ID != "" {
		return c.Model + ":" + string(c.Kind) + ":" + c.ID
	}
	return c.Model + ":" + string(c.Kind)
}

// ParseChannel parses a model channel name. It checks only the syntax; the
// model and the id's type are checked by the caller against the Schema.
func ParseChannel(name string) (Channel, error) {
	model, rest, ok := strings.Cut(name, ":")
	if !ok || model == "" || rest == "" {
		return Channel{}, fmt.Errorf("%w: channel %q: want {Model}:{kind}[:{id}]", ErrBadRequest, name)
	}
	kind, id, hasID := strings.Cut(rest, ":")
	c := Channel{Model: model, Kind: ChannelKind(kind), ID: id}
	switch c.Kind {
	case KindList, KindCreated:
		if hasID {
			return Channel{}, fmt.Errorf("%w: channel %q: %s takes no id", ErrBadRequest, name, kind)
		}
	case KindItem, KindUpdated, KindDeleted:
		if id == "" {
			return Channel{}, fmt.Errorf("%w: channel %q: %s needs an id", ErrBadRequest, name, kind)
		}
	default:
		return Channel{}, fmt.Errorf("%w: channel %q: unknown kind %q", ErrBadRequest, name, kind)
	}
	return c, nil
}

// CustomChannel is a configured client-to-client channel pattern such as
// "chat:room:{roomId}" (CONTRACT §1 `channels`). It is immutable once the
// server runs.
type CustomChannel struct {
	// Pattern is the name pattern; {param} segments match one non-empty
	// segment (no ':').
	Pattern string
	// Events lists the event names clients may publish and the database may
	// emit; others are rejected.
	Events []string
	// Presence enables presence tracking (joins, leaves, state).
	Presence bool
	// Self: whether a publisher receives its own messages (default false).
	Self bool
	// SubscribeSQL is an optional membership query run once at subscribe
	// time with $param and $sub placeholders bound as parameters; no row
	// means forbidden.
	SubscribeSQL string
	// Permissions holds the raw rule text per action (subscribe, publish),
	// CEL over params and auth.
	Permissions map[string]string
}
