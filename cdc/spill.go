package cdc

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/jackc/pglogrepl"

	"github.com/walrelay/walrelay"
)

// spillRec is one change of a large transaction as written to its spill
// file: the raw pgoutput tuple text, not the decoded row, so values read
// back decode exactly as they would have in memory (json stays
// json.RawMessage, big numbers stay strings).
type spillRec struct {
	Rel            int // index into spill.rels; -1 for messages
	Op             walrelay.Op
	HasNew, HasOld bool
	New, Old       []spillCol
	OldKeyOnly     bool
	Prefix         string
	Content        []byte
}

type spillCol struct {
	Kind byte
	Data []byte
}

// spill holds the changes of one open transaction beyond what is kept in
// memory, in a temporary file. The file is unlinked right after creation
// where the OS allows it, so it disappears with the process; otherwise it
// is removed by close. A spill is owned by one goroutine.
type spill struct {
	f    *os.File
	name string // non-empty while the file still has a name to remove
	w    *bufio.Writer
	enc  *gob.Encoder
	r    *gob.Decoder
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
	s.enc = gob.NewEncoder(s.w)
	return s, nil
}

// write appends one change. rel is nil for a message.
func (s *spill) write(c *change) error {
	rec := spillRec{Rel: -1, Op: c.op, OldKeyOnly: c.oldKeyOnly, Prefix: c.prefix, Content: c.content}
	if c.rel != nil {
		i, ok := s.idx[c.rel]
		if !ok {
			i = len(s.rels)
			s.rels = append(s.rels, c.rel)
			s.idx[c.rel] = i
		}
		rec.Rel = i
	}
	rec.HasNew, rec.New = tupleCols(c.newTuple)
	rec.HasOld, rec.Old = tupleCols(c.oldTuple)
	if err := s.enc.Encode(&rec); err != nil {
		return fmt.Errorf("write spill file: %w", err)
	}
	s.n++
	return nil
}

func tupleCols(t *pglogrepl.TupleData) (bool, []spillCol) {
	if t == nil {
		return false, nil
	}
	cols := make([]spillCol, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = spillCol{Kind: c.DataType, Data: c.Data}
	}
	return true, cols
}

func colsTuple(has bool, cols []spillCol) *pglogrepl.TupleData {
	if !has {
		return nil
	}
	t := &pglogrepl.TupleData{ColumnNum: uint16(len(cols)), Columns: make([]*pglogrepl.TupleDataColumn, len(cols))}
	for i, c := range cols {
		t.Columns[i] = &pglogrepl.TupleDataColumn{DataType: c.Kind, Length: uint32(len(c.Data)), Data: c.Data}
	}
	return t
}

// rewind ends writing and prepares reading from the first record.
func (s *spill) rewind() error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("write spill file: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind spill file: %w", err)
	}
	s.r = gob.NewDecoder(bufio.NewReaderSize(s.f, 1<<16))
	return nil
}

// next reads the next change back; ok is false after the last one.
func (s *spill) next() (c *change, ok bool, err error) {
	if s.read >= s.n {
		return nil, false, nil
	}
	var rec spillRec
	if err := s.r.Decode(&rec); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, false, fmt.Errorf("read spill file: %w", err)
	}
	s.read++
	c = &change{op: rec.Op, oldKeyOnly: rec.OldKeyOnly, prefix: rec.Prefix, content: rec.Content,
		newTuple: colsTuple(rec.HasNew, rec.New), oldTuple: colsTuple(rec.HasOld, rec.Old)}
	if rec.Rel >= 0 {
		if rec.Rel >= len(s.rels) {
			return nil, false, fmt.Errorf("read spill file: bad relation index %d", rec.Rel)
		}
		c.rel = s.rels[rec.Rel]
	}
	return c, true, nil
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
