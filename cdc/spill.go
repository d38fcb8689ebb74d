package cdc

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/jackc/pglogrepl"

	"github.com/walrelay/walrelay"
)

// A spill file holds the changes of a large transaction as the raw
// pgoutput tuple text, not the decoded rows, so values read back decode
// exactly as they would have in memory (json stays json.RawMessage, big
// numbers stay strings). Each record is, in a compact binary form
// (uvarints and length-prefixed bytes):
//
//	relation index + 1 (0 for a message), op, flags (new, old, old key only),
//	[prefix, content]            for a message
//	[columns, (kind, data)...]   for the new tuple, then the old one, if present
const (
	spillHasNew = 1 << iota
	spillHasOld
	spillOldKeyOnly
)

// spillOps numbers the ops in spill records.
var spillOps = []walrelay.Op{walrelay.OpCreated, walrelay.OpUpdated, walrelay.OpDeleted, walrelay.OpTruncated, walrelay.OpMessage}

func spillOp(op walrelay.Op) byte {
	for i, o := range spillOps {
		if o == op {
			return byte(i)
		}
	}
	return 255
}

// spill holds the changes of one open transaction beyond what is kept in
// memory, in a temporary file. The file is unlinked right after creation
// where the OS allows it, so it disappears with the process; otherwise it
// is removed by close. A spill is owned by one goroutine.
type spill struct {
	f    *os.File
	name string // non-empty while the file still has a name to remove
	w    *bufio.Writer
	r    *bufio.Reader
	buf  []byte // one record being written
	rels []*relation
	idx  map[*relation]int
	n    int // records written
	read int // records read back
}

func newSpill(dir string) (*spill, error) {
	f, err := os.CreateTemp(dir, "walrelay-cdc-*.spill")
	if err != nil {
		return nil, fmt.Errorf("create spill file: %w", err)
	}
	s := &spill{f: f, name: f.Name(), idx: map[*relation]int{}}
	if os.Remove(f.Name()) == nil {
		s.name = ""
	}
	s.w = bufio.NewWriterSize(f, 1<<16)
	return s, nil
}

// write appends one change. rel is nil for a message.
func (s *spill) write(c *change) error {
	rel := 0
	if c.rel != nil {
		i, ok := s.idx[c.rel]
		if !ok {
			i = len(s.rels)
			s.rels = append(s.rels, c.rel)
			s.idx[c.rel] = i
		}
		rel = i + 1
	}
	op := spillOp(c.op)
	if op == 255 {
		return fmt.Errorf("write spill file: unknown op %q", c.op)
	}
	var flags byte
	if c.newTuple != nil {
		flags |= spillHasNew
	}
	if c.oldTuple != nil {
		flags |= spillHasOld
	}
	if c.oldKeyOnly {
		flags |= spillOldKeyOnly
	}
	b := binary.AppendUvarint(s.buf[:0], uint64(rel))
	b = append(b, op, flags)
	if rel == 0 {
		b = appendBytes(b, []byte(c.prefix))
		b = appendBytes(b, c.content)
	}
	for _, t := range []*pglogrepl.TupleData{c.newTuple, c.oldTuple} {
		if t == nil {
			continue
		}
		b = binary.AppendUvarint(b, uint64(len(t.Columns)))
		for _, col := range t.Columns {
			b = append(b, col.DataType)
			b = appendBytes(b, col.Data)
		}
	}
	s.buf = b
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("write spill file: %w", err)
	}
	s.n++
	return nil
}

func appendBytes(b, data []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(data))), data...)
}

// rewind ends writing and prepares reading from the first record.
func (s *spill) rewind() error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("write spill file: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind spill file: %w", err)
	}
	s.r = bufio.NewReaderSize(s.f, 1<<16)
	return nil
}

// next reads the next change back; ok is false after the last one.
func (s *spill) next() (c *change, ok bool, err error) {
	if s.read >= s.n {
		return nil, false, nil
	}
	c, err = s.readRecord()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, false, fmt.Errorf("read spill file: %w", err)
	}
	s.read++
	return c, true, nil
}

func (s *spill) readRecord() (*change, error) {
	rel, err := binary.ReadUvarint(s.r)
	if err != nil {
		return nil, err
	}
	var hdr [2]byte
	if _, err := io.ReadFull(s.r, hdr[:]); err != nil {
		return nil, err
	}
	if int(hdr[0]) >= len(spillOps) {
		return nil, fmt.Errorf("bad op %d", hdr[0])
	}
	c := &change{op: spillOps[hdr[0]], oldKeyOnly: hdr[1]&spillOldKeyOnly != 0}
	if rel == 0 {
		prefix, err := s.readBytes()
		if err != nil {
			return nil, err
		}
		c.prefix = string(prefix)
		if c.content, err = s.readBytes(); err != nil {
			return nil, err
		}
	} else {
		if rel > uint64(len(s.rels)) {
			return nil, fmt.Errorf("bad relation index %d", rel-1)
		}
		c.rel = s.rels[rel-1]
	}
	if hdr[1]&spillHasNew != 0 {
		if c.newTuple, err = s.readTuple(); err != nil {
			return nil, err
		}
	}
	if hdr[1]&spillHasOld != 0 {
		if c.oldTuple, err = s.readTuple(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// readBytes reads a length-prefixed byte string. An empty one is empty,
// not nil: a tuple's empty text value is not NULL.
func (s *spill) readBytes() ([]byte, error) {
	n, err := binary.ReadUvarint(s.r)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return []byte{}, nil
	}
	if n > 1<<31 {
		return nil, fmt.Errorf("bad length %d", n)
	}
	b := make([]byte, n)
	_, err = io.ReadFull(s.r, b)
	return b, err
}

// readTuple reads a tuple's columns; their data share one allocation.
func (s *spill) readTuple() (*pglogrepl.TupleData, error) {
	n, err := binary.ReadUvarint(s.r)
	if err != nil {
		return nil, err
	}
	if n > 1<<16 {
		return nil, fmt.Errorf("bad column count %d", n)
	}
	cols := make([]pglogrepl.TupleDataColumn, n)
	t := &pglogrepl.TupleData{ColumnNum: uint16(n), Columns: make([]*pglogrepl.TupleDataColumn, n)}
	for i := range cols {
		kind, err := s.r.ReadByte()
		if err != nil {
			return nil, err
		}
		data, err := s.readBytes()
		if err != nil {
			return nil, err
		}
		cols[i] = pglogrepl.TupleDataColumn{DataType: kind, Length: uint32(len(data)), Data: data}
		t.Columns[i] = &cols[i]
	}
	return t, nil
}

// remaining is the number of changes not read back yet.
func (s *spill) remaining() int { return s.n - s.read }

// close releases the file and removes it if it still has a name.
func (s *spill) close() {
	_ = s.f.Close()
	if s.name != "" {
		_ = os.Remove(s.name)
	}
}
