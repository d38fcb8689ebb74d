package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"
)

// BenchmarkLoopbackFrames is the floor under every fan-out figure: one
// WebSocket text frame of an event's size written by a server and read by
// a client over loopback TCP, with coder/websocket on both ends, as the
// server and the load tool do for every delivery, and nothing else (no
// database, no hub, no encoding). conns connections are written to in
// turn, each by its own goroutine, as the server's write loops do. Its
// ns/op is the CPU both ends need per delivery on this machine.
func BenchmarkLoopbackFrames(b *testing.B) {
	frame := []byte(`{"type":"event","channel":"Message:list","event":"created","id":123456,"data":{"body":"` +
		strings.Repeat("x", 66) + `","id":123456,"room_id":42,"sent_us":1764680000000000,"user_id":"user-17"},` +
		`"cursor":"YzEuMTIzNDU2Nzg5LjU5OTk0NTM4NDAuMA","commit_ts":"2026-12-02T13:00:00.000Z"}`)
	for _, conns := range []int{1, 100} {
		b.Run(strconv.Itoa(conns), func(b *testing.B) {
			per := make(chan chan int, conns) // each server conn's work
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := websocket.Accept(w, r, nil)
				if err != nil {
					return
				}
				defer c.CloseNow()
				work := make(chan int)
				per <- work
				for n := range work {
					for range n {
						if err := c.Write(context.Background(), websocket.MessageText, frame); err != nil {
							return
						}
					}
				}
			}))
			defer srv.Close()
			var readers sync.WaitGroup
			works := make([]chan int, conns)
			counts := make([]int, conns)
			done := make([]chan struct{}, conns)
			for i := range conns {
				c, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
				if err != nil {
					b.Fatal(err)
				}
				defer c.CloseNow()
				works[i] = <-per
				done[i] = make(chan struct{}, 1)
				readers.Go(func() {
					buf := make([]byte, 0, 4096)
					for {
						_, r, err := c.Reader(context.Background())
						if err != nil {
							return
						}
						if buf, err = readAll(r, buf[:0]); err != nil {
							return
						}
						counts[i]--
						if counts[i] == 0 {
							done[i] <- struct{}{}
						}
					}
				})
			}
			b.SetBytes(int64(len(frame)))
			b.ResetTimer()
			for i := range conns {
				counts[i] = b.N / conns
				if i < b.N%conns {
					counts[i]++
				}
				if counts[i] > 0 {
					works[i] <- counts[i]
				}
			}
			for i := range conns {
				if counts[i] > 0 {
					<-done[i]
				}
			}
			b.StopTimer()
			for _, w := range works {
				close(w)
			}
		})
	}
}
