package ws

import (
	"encoding/binary"
	"net"
)

// frameWriter is the socket under a connection's write buffer. The buffer
// is tiny (writeBufSize), so that an idle connection holds almost nothing;
// a frame bigger than it reaches frameWriter as two writes, the buffer's
// first bytes (the frame's header and the start of its payload) and then
// the rest. frameWriter holds such a start until the frame is complete and
// sends both parts with one writev, so every frame still costs one system
// call, whatever its size. It follows the frames in the byte stream (the
// server's frames are never masked, but the parser does not rely on it),
// and never holds bytes past the end of a frame: what it holds is always
// sent with the rest of its frame.
type frameWriter struct {
	nc net.Conn
	// writev sends bufs as one write (a field for tests).
	writev func(bufs *net.Buffers) (int64, error)

	held  [holdMax]byte // the start of the current frame, not sent yet
	nheld int

	// The parser: hdr holds the header bytes of the current frame seen so
	// far (nhdr), left its payload bytes still to come once the header is
	// whole (inPayload).
	hdr       [14]byte
	nhdr      int
	inPayload bool
	left      uint64
}

// holdMax bounds what frameWriter holds: the write buffer's size is what
// comes before the rest of a frame.
const holdMax = 64

func newFrameWriter(nc net.Conn) *frameWriter {
	f := &frameWriter{nc: nc}
	f.writev = func(bufs *net.Buffers) (int64, error) { return bufs.WriteTo(nc) }
	return f
}

// Write implements io.Writer for the write buffer.
func (f *frameWriter) Write(p []byte) (int, error) {
	f.advance(p)
	boundary := !f.inPayload && f.nhdr == 0
	if !boundary && f.nheld+len(p) <= holdMax {
		f.nheld += copy(f.held[f.nheld:], p)
		return len(p), nil
	}
	if f.nheld == 0 {
		return f.nc.Write(p)
	}
	held := f.nheld
	f.nheld = 0
	bufs := net.Buffers{f.held[:held], p}
	n, err := f.writev(&bufs)
	return max(0, int(n)-held), err
}

// advance follows the frames through p.
func (f *frameWriter) advance(p []byte) {
	for len(p) > 0 {
		if f.inPayload {
			k := uint64(len(p))
			if k >= f.left {
				p = p[f.left:]
				f.left, f.inPayload = 0, false
				continue
			}
			f.left -= k
			return
		}
		f.hdr[f.nhdr] = p[0]
		f.nhdr++
		p = p[1:]
		if f.nhdr < 2 {
			continue
		}
		need := 2
		switch f.hdr[1] & 0x7f {
		case 126:
			need += 2
		case 127:
			need += 8
		}
		if f.hdr[1]&0x80 != 0 {
			need += 4 // masking key
		}
		if f.nhdr < need {
			continue
		}
		var size uint64
		switch f.hdr[1] & 0x7f {
		case 126:
			size = uint64(binary.BigEndian.Uint16(f.hdr[2:4]))
		case 127:
			size = binary.BigEndian.Uint64(f.hdr[2:10])
		default:
			size = uint64(f.hdr[1] & 0x7f)
		}
		f.nhdr = 0
		if size > 0 {
			f.left, f.inPayload = size, true
		}
	}
}
