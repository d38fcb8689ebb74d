package inspector

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DefaultRecent is how many log records a Recent keeps.
const DefaultRecent = 100

// Entry is one recorded log record.
type Entry struct {
	Time  time.Time         `json:"time"`
	Level string            `json:"level"`
	Msg   string            `json:"msg"`
	Attrs map[string]string `json:"attrs,omitempty"`
}

// Recent keeps the last warnings and errors logged, newest last. Safe for
// concurrent use.
type Recent struct {
	mu      sync.Mutex
	max     int
	entries []Entry
}

// NewRecent returns a Recent keeping n entries (DefaultRecent when n <= 0).
func NewRecent(n int) *Recent {
	if n <= 0 {
		n = DefaultRecent
	}
	return &Recent{max: n}
}

// Entries returns a copy of the kept entries, oldest first.
func (r *Recent) Entries() []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Entry(nil), r.entries...)
}

func (r *Recent) add(e Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.entries) == r.max {
		copy(r.entries, r.entries[1:])
		r.entries = r.entries[:r.max-1]
	}
	r.entries = append(r.entries, e)
}

// Handler returns a slog.Handler that passes every record to next and
// keeps those at warning level and above in r.
func (r *Recent) Handler(next slog.Handler) slog.Handler { return &teeHandler{next: next, rec: r} }

// teeHandler records warnings and errors, with the attributes added by
// With (groups flattened as "group.key").
type teeHandler struct {
	next   slog.Handler
	rec    *Recent
	attrs  []slog.Attr
	prefix string
}

func (h *teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || h.next.Enabled(ctx, l)
}

func (h *teeHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		e := Entry{Time: r.Time, Level: r.Level.String(), Msg: r.Message, Attrs: map[string]string{}}
		for _, a := range h.attrs {
			e.Attrs[a.Key] = a.Value.String()
		}
		r.Attrs(func(a slog.Attr) bool {
			e.Attrs[h.prefix+a.Key] = a.Value.String()
			return true
		})
		h.rec.add(e)
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *teeHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(attrs)
	c.attrs = append([]slog.Attr(nil), h.attrs...)
	for _, a := range attrs {
		a.Key = h.prefix + a.Key
		c.attrs = append(c.attrs, a)
	}
	return &c
}

func (h *teeHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	c.prefix = h.prefix + name + "."
	return &c
}
