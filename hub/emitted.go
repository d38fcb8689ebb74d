package hub

import (
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/walrelay/walrelay"
)

// emitted is the content of a message emitted from SQL with
// pg_logical_emit_message(true, 'walrelay', '{"channel":..,"event":..,"data":..}').
type emitted struct {
	Channel string          `json:"channel"`
	Event   string          `json:"event"`
	Data    json.RawMessage `json:"data"`
}

// SetMessageCheck sets the check that messages emitted from SQL must pass
// before they are routed: it returns an error (logged, rate-limited) when
// channel does not name a configured custom channel or event is not one
// of its events. Without a check every well-formed message is routed to
// the subscribers of the channel it names. Call it at startup.
func (h *Hub) SetMessageCheck(check func(channel, event string) error) {
	h.cmu.Lock()
	defer h.cmu.Unlock()
	h.msgCheck = check
}

// routeMessage adds the deliveries of an emitted message to b: one shared
// Message for every subscriber of the custom channel it names, with From
// nil. A malformed message, or one the check rejects, is skipped and
// logged (at most one line per interval). Called by Deliver with cmu held.
func (h *Hub) routeMessage(ev *walrelay.Event, b *batch) {
	var e emitted
	err := json.Unmarshal(ev.Content, &e)
	switch {
	case err != nil:
		err = errors.New(`content is not a JSON object {"channel":..,"event":..,"data":..}`)
	case e.Channel == "" || e.Event == "":
		err = errors.New("content needs a channel and an event")
	case h.msgCheck != nil:
		err = h.msgCheck(e.Channel, e.Event)
	}
	if err != nil {
		h.msgLog.log(h.logger, h.now(), "message emitted from SQL skipped", "err", err, "xid", ev.XID, "lsn", ev.LSN)
		return
	}
	ch := h.custom[e.Channel]
	if ch == nil {
		return
	}
	if len(e.Data) == 0 {
		e.Data = json.RawMessage("null")
	}
	m := &Message{Channel: e.Channel, Event: ev, Epoch: b.epoch, Custom: &CustomEvent{Event: e.Event, Data: e.Data}}
	for s := range ch.subs {
		b.addTo(s.receiver, Delivery{Msg: m})
	}
}

// logInterval is how often a limitedLog writes at most.
const logInterval = 10 * time.Second

// limitedLog writes at most one line per logInterval, counting those it
// suppressed. Not safe for concurrent use (guarded by the caller).
type limitedLog struct {
	last       time.Time
	suppressed int
}

func (l *limitedLog) log(logger *slog.Logger, now time.Time, msg string, args ...any) {
	if !l.last.IsZero() && now.Sub(l.last) < logInterval {
		l.suppressed++
		return
	}
	if l.suppressed > 0 {
		args = append(args, "suppressed", l.suppressed)
	}
	l.last, l.suppressed = now, 0
	logger.Warn(msg, args...)
}
