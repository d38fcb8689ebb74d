package ws

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"testing"
)

// frameBytes is a server frame (unmasked) with a payload of n bytes, or a
// masked client frame.
func frameBytes(n int, masked bool) []byte {
	b := []byte{0x81, 0}
	switch {
	case n < 126:
		b[1] = byte(n)
	case n <= 0xffff:
		b[1] = 126
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b[1] = 127
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if masked {
		b[1] |= 0x80
		b = append(b, 1, 2, 3, 4)
	}
	for i := range n {
		b = append(b, byte('a'+i%26))
	}
	return b
}

// recorder is a socket that records each system call's bytes.
type recorder struct {
	net.Conn
	calls [][]byte
}

func (r *recorder) Write(p []byte) (int, error) {
	r.calls = append(r.calls, bytes.Clone(p))
	return len(p), nil
}

func newRecorded() (*frameWriter, *recorder) {
	r := &recorder{}
	f := newFrameWriter(r)
	f.writev = func(bufs *net.Buffers) (int64, error) {
		var all []byte
		for _, b := range *bufs {
			all = append(all, b...)
		}
		r.calls = append(r.calls, all)
		return int64(len(all)), nil
	}
	return f, r
}

// Written as coder/websocket writes a frame (header and payload into the
// write buffer, then a flush), every frame is one system call holding the
// whole frame, whatever its size.
func TestFrameWriterOneCallPerFrame(t *testing.T) {
	f, r := newRecorded()
	bw := bufio.NewWriterSize(f, writeBufSize)
	for _, n := range []int{0, 1, 11, 12, 13, 14, 100, 125, 126, 127, 2000, 65535, 65536, 300000} {
		fr := frameBytes(n, false)
		hdr := len(fr) - n
		r.calls = nil
		if _, err := bw.Write(fr[:hdr]); err != nil {
			t.Fatal(err)
		}
		if _, err := bw.Write(fr[hdr:]); err != nil {
			t.Fatal(err)
		}
		if err := bw.Flush(); err != nil {
			t.Fatal(err)
		}
		if len(r.calls) != 1 || !bytes.Equal(r.calls[0], fr) {
			t.Fatalf("payload %d: %d calls, want 1 with the whole frame", n, len(r.calls))
		}
		if f.nheld != 0 {
			t.Fatalf("payload %d: %d bytes held after the frame", n, f.nheld)
		}
	}
}

// However the stream of frames is cut into writes, what reaches the socket
// is the stream, in order, and nothing is held at a frame's end.
func FuzzFrameWriter(f *testing.F) {
	f.Add(uint64(1), uint8(3))
	f.Add(uint64(42), uint8(20))
	f.Fuzz(func(t *testing.T, seed uint64, frames uint8) {
		rng := rand.New(rand.NewPCG(seed, 7))
		var stream []byte
		for range int(frames%32) + 1 {
			sizes := []int{rng.IntN(20), rng.IntN(200), 126 + rng.IntN(70000), rng.IntN(5000)}
			stream = append(stream, frameBytes(sizes[rng.IntN(len(sizes))], rng.IntN(4) == 0)...)
		}
		fw, r := newRecorded()
		for rest := stream; len(rest) > 0; {
			k := min(len(rest), 1+rng.IntN(3000))
			if _, err := fw.Write(rest[:k]); err != nil {
				t.Fatal(err)
			}
			rest = rest[k:]
		}
		if fw.nheld != 0 {
			t.Fatalf("%d bytes held at the end of the stream", fw.nheld)
		}
		if got := bytes.Join(r.calls, nil); !bytes.Equal(got, stream) {
			t.Fatalf("socket got %d bytes, want the stream's %d", len(got), len(stream))
		}
	})
}
