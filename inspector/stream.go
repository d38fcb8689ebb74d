package inspector

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/hub"
	"github.com/walrelay/walrelay/ws"
)

// streamBuffer is how many frames a stream holds for its reader; beyond,
// frames are dropped and counted, never waited for.
const streamBuffer = 1024

// pingInterval is how often an idle stream sends a ping line.
const pingInterval = 15 * time.Second

// watch is the hub Receiver of one inspector stream: it encodes each
// message as a client gets it and offers it to the stream without ever
// blocking the hub.
type watch struct {
	lines   chan []byte
	dropped atomic.Int64
}

func (w *watch) offer(b []byte) {
	select {
	case w.lines <- b:
	default:
		w.dropped.Add(1)
	}
}

// Receive implements hub.Receiver.
func (w *watch) Receive(ds []hub.Delivery) {
	for _, d := range ds {
		if b, err := ws.Encode(d.Msg); err == nil {
			w.offer(b)
		}
	}
}

// Room implements hub.Receiver: the stream drops rather than waits, so it
// never holds up a large transaction for others.
func (w *watch) Room() (int, <-chan struct{}) { return math.MaxInt32, nil }

// Resync implements hub.Receiver.
func (w *watch) Resync(s *hub.Subscription, reason string) {
	w.offer(line(map[string]string{"type": "resync", "channel": s.Channel.String(), "reason": reason}))
}

func line(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// stream serves GET /_/api/stream?channel=Message:list: newline-delimited
// JSON, first {"type":"subscribed",...}, then every frame a client
// subscribed to the channel with read access to every row would get
// (hidden columns removed), resync messages, {"type":"dropped","count":n}
// when the reader fell behind, and a ping when idle. It runs until the
// client goes away or the server shuts down.
func (in *Inspector) stream(w http.ResponseWriter, r *http.Request) {
	if in.cfg.Hub == nil {
		writeError(w, http.StatusNotFound, "not_found", "nothing is realtime here: no event stream")
		return
	}
	name := r.URL.Query().Get("channel")
	wt := &watch{lines: make(chan []byte, streamBuffer)}
	var first []byte
	var stop func()
	ch, err := walrelay.ParseChannel(name)
	m := in.cfg.Schema.ByName(ch.Model)
	switch {
	case err == nil && m != nil:
		if !m.Realtime() {
			writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("model %s is not realtime", m.Name))
			return
		}
		sub, cur := in.cfg.Hub.Subscribe(wt, ch, nil, hub.ReadAll)
		stop = func() { in.cfg.Hub.Unsubscribe(sub) }
		first = line(map[string]string{"type": "subscribed", "channel": ch.String(), "cursor": cur.String()})
	case in.cfg.IsCustom != nil && in.cfg.IsCustom(name):
		cs := in.cfg.Hub.SubscribeCustom(wt, name, false, nil, func() {})
		stop = func() { in.cfg.Hub.UnsubscribeCustom(cs) }
		first = line(map[string]string{"type": "subscribed", "channel": name})
	default:
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("%q is not a channel of a realtime model or a configured custom channel", name))
		return
	}
	defer stop()

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/x-ndjson; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	write := func(b []byte) error {
		_, err := w.Write(append(b, '\n'))
		return err
	}
	if write(first) != nil || rc.Flush() != nil {
		return
	}
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case <-in.closing:
			_ = write(line(map[string]string{"type": "closed", "reason": errClosed.Error()}))
			_ = rc.Flush()
			return
		case <-ping.C:
			err = write(line(map[string]string{"type": "ping"}))
		case b := <-wt.lines:
			err = write(b)
			for more := true; more && err == nil; {
				select {
				case b := <-wt.lines:
					err = write(b)
				default:
					more = false
				}
			}
			if n := wt.dropped.Swap(0); n > 0 && err == nil {
				err = write(line(map[string]any{"type": "dropped", "count": n}))
			}
		}
		if err != nil || rc.Flush() != nil {
			return
		}
	}
}
