package ws

import (
	"context"
	"net"
	"net/http"
)

// httptestClient builds an http.Client with a custom dial function.
type httptestClient struct {
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (h *httptestClient) client() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: h.dial}}
}
