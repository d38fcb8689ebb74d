package ws

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
)

// Buffer sizes of a WebSocket connection, instead of the 4 KB each that
// net/http's hijacked connection comes with. A connection holds both as
// long as it lives, idle or not, so they are most of an idle connection's
// memory. Client messages are small (a bigger one is read past the
// buffer). The write buffer only gathers a frame's header: the frame then
// goes out in one write whatever its size (see frameWriter).
const (
	readBufSize  = 512
	writeBufSize = 16
)

// smallBuffers is the ResponseWriter a WebSocket upgrade is accepted on: its
// Hijack gives the connection buffers of readBufSize and writeBufSize. What
// the client sent after its upgrade request, already in net/http's buffer,
// is read first.
type smallBuffers struct{ http.ResponseWriter }

// Unwrap lets http.ResponseController reach the server's ResponseWriter.
func (w smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack implements http.Hijacker.
func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil {
		_ = nc.Close()
		return nil, nil, fmt.Errorf("flush the upgrade response: %w", err)
	}
	br := bufio.NewReaderSize(nc, readBufSize)
	if n := brw.Reader.Buffered(); n > 0 {
		// Into the new buffer: the WebSocket library reads what is
		// buffered there, then the connection.
		early := make([]byte, n)
		if _, err := io.ReadFull(brw.Reader, early); err != nil {
			_ = nc.Close()
			return nil, nil, fmt.Errorf("read what came with the upgrade: %w", err)
		}
		br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(early), nc), max(readBufSize, n))
		if _, err := br.Peek(n); err != nil {
			_ = nc.Close()
			return nil, nil, fmt.Errorf("read what came with the upgrade: %w", err)
		}
	}
	return nc, bufio.NewReadWriter(br, bufio.NewWriterSize(newFrameWriter(nc), writeBufSize)), nil
}
