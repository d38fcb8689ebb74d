package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
)

type options struct {
	url, dbURL, secret string
	clients            int
	rate               float64
	duration           time.Duration
	channel, filter    string
}

func (options) second() time.Duration { return time.Second }

// report is what one run measured.
type report struct {
	clients   int
	sent      int
	delivered int
	latencies []time.Duration // INSERT start to delivery, one per event
	elapsed   time.Duration
	closed    int // clients the server closed early
}

func (r *report) print(w io.Writer) {
	expected := r.sent * r.clients
	fmt.Fprintf(w, "clients %d, rows %d, events expected %d, delivered %d, lost %d, clients closed early %d\n",
		r.clients, r.sent, expected, r.delivered, expected-r.delivered, r.closed)
	if len(r.latencies) == 0 {
		return
	}
	slices.Sort(r.latencies)
	q := func(p float64) time.Duration {
		return r.latencies[min(len(r.latencies)-1, int(p*float64(len(r.latencies))))]
	}
	fmt.Fprintf(w, "latency p50 %v, p95 %v, p99 %v, max %v\n", q(0.50), q(0.95), q(0.99), r.latencies[len(r.latencies)-1])
	fmt.Fprintf(w, "throughput %.0f events/s over %v\n", float64(r.delivered)/r.elapsed.Seconds(), r.elapsed.Round(time.Millisecond))
}

// measure runs one load test: connect and subscribe every client, insert
// rows at the rate for the duration, then wait (bounded) for the stragglers.
func measure(ctx context.Context, o options) (*report, error) {
	wsURL := strings.Replace(o.url, "http", "ws", 1) + "/ws"
	type client struct {
		conn *websocket.Conn
		mu   sync.Mutex
		lat  []time.Duration
		n    int
	}
	clients := make([]*client, o.clients)
	for i := range clients {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": "load-" + strconv.Itoa(i), "rooms": []int{1, 2, 3}, "exp": time.Now().Add(time.Hour).Unix(),
		}).SignedString([]byte(o.secret))
		if err != nil {
			return nil, fmt.Errorf("sign token: %w", err)
		}
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		conn, _, err := websocket.Dial(dctx, wsURL+"?token="+tok, nil)
		cancel()
		if err != nil {
			for _, c := range clients[:i] {
				c.conn.CloseNow()
			}
			return nil, fmt.Errorf("client %d: dial: %w", i, err)
		}
		conn.SetReadLimit(64 << 20)
		sub, _ := json.Marshal(map[string]string{"type": "subscribe", "ref": "1", "channel": o.channel, "filter": o.filter})
		if err := conn.Write(ctx, websocket.MessageText, sub); err != nil {
			return nil, fmt.Errorf("client %d: subscribe: %w", i, err)
		}
		clients[i] = &client{conn: conn}
	}
	defer func() {
		for _, c := range clients {
			c.conn.Close(websocket.StatusNormalClosure, "")
		}
	}()

	// Readers: parse frames (an object or an array), time each event.
	var wg sync.WaitGroup
	var subscribed sync.WaitGroup
	subscribed.Add(len(clients))
	closed := make([]bool, len(clients))
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acked := false
			defer func() {
				if !acked {
					subscribed.Done()
				}
			}()
			for {
				_, data, err := c.conn.Read(readCtx)
				if err != nil {
					if readCtx.Err() == nil {
						closed[i] = true
					}
					return
				}
				now := time.Now()
				var batch []struct {
					Type string          `json:"type"`
					Data json.RawMessage `json:"data"`
				}
				if len(data) > 0 && data[0] == '[' {
					_ = json.Unmarshal(data, &batch)
				} else {
					var one struct {
						Type string          `json:"type"`
						Data json.RawMessage `json:"data"`
					}
					_ = json.Unmarshal(data, &one)
					batch = append(batch, one)
				}
				for _, m := range batch {
					switch m.Type {
					case "subscribed":
						if !acked {
							acked = true
							subscribed.Done()
						}
					case "event":
						var row struct {
							Body string `json:"body"`
						}
						_ = json.Unmarshal(m.Data, &row)
						if sent, err := strconv.ParseInt(strings.TrimPrefix(row.Body, "load "), 10, 64); err == nil {
							c.mu.Lock()
							c.lat = append(c.lat, now.Sub(time.Unix(0, sent)))
							c.n++
							c.mu.Unlock()
						}
					}
				}
			}
		}()
	}
	waitCh := make(chan struct{})
	go func() { subscribed.Wait(); close(waitCh) }()
	select {
	case <-waitCh:
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("clients not subscribed within 30s")
	case <-ctx.Done():
		return nil, ctx.Err()
	}

	// The writer: one connection, as another app's.
	db, err := pgx.Connect(ctx, o.dbURL)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	defer db.Close(context.WithoutCancel(ctx))
	start := time.Now()
	interval := time.Duration(float64(time.Second) / o.rate)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	deadline := time.NewTimer(o.duration)
	defer deadline.Stop()
	sent := 0
write:
	for {
		select {
		case <-ctx.Done():
			break write
		case <-deadline.C:
			break write
		case <-tick.C:
			body := "load " + strconv.FormatInt(time.Now().UnixNano(), 10)
			if _, err := db.Exec(ctx, "insert into messages (room_id, author_id, body) values (1, 'bob', $1)", body); err != nil {
				return nil, fmt.Errorf("insert: %w", err)
			}
			sent++
		}
	}
	// Wait for delivery to finish: every client has all rows, or 10 s pass.
	drain := time.Now().Add(10 * time.Second)
	for time.Now().Before(drain) {
		done := true
		for _, c := range clients {
			c.mu.Lock()
			n := c.n
			c.mu.Unlock()
			if n < sent {
				done = false
				break
			}
		}
		if done {
			break
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
	elapsed := time.Since(start)
	stopReading()
	for _, c := range clients {
		c.conn.CloseNow()
	}
	wg.Wait()
	rep := &report{clients: len(clients), sent: sent, elapsed: elapsed}
	for i, c := range clients {
		rep.delivered += c.n
		rep.latencies = append(rep.latencies, c.lat...)
		if closed[i] {
			rep.closed++
		}
	}
	return rep, nil
}
