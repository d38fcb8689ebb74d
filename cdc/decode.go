package cdc

import (
	"fmt"
	"log/slog"

	"github.com/jackc/pglogrepl"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/pgjson"
)

// MessagePrefix is the pg_logical_emit_message prefix walrelay delivers;
// messages with other prefixes are ignored.
const MessagePrefix = "walrelay"

// relation is a cached pgoutput Relation message; model is nil for tables
// that are not configured. A relation is never modified: a new Relation
// message (after ALTER TABLE) replaces it, so changes recorded earlier keep
// the columns they were sent with.
//
// model is the version of the model its changes are decoded with: the
// schema's current one when the relation has every pinned column with its
// type (walrelay.Model.CheckPins), else a stopped copy (Unavailable set)
// whose events the hub does not send. The relation decides, not the
// catalog, because the stream may lag behind the catalog: a relation
// without a hidden column's name may carry that column renamed.
type relation struct {
	model *walrelay.Model
	name  string // schema.table
	cols  []*pglogrepl.RelationMessageColumn
}

// change is one undecoded change of a configured table, or a message.
type change struct {
	rel                *relation // nil for messages
	op                 walrelay.Op
	newTuple, oldTuple *pglogrepl.TupleData
	oldKeyOnly         bool
	prefix             string
	content            []byte
}

// txnDecoder turns pgoutput messages of one replication connection into
// committed transactions. The first chunk events of a transaction are
// decoded in memory, the rest spilled to a file. It is owned by that
// connection's goroutine.
type txnDecoder struct {
	schema   *walrelay.Schema
	dec      *pgjson.Decoder
	log      *slog.Logger
	chunk    int
	spillDir string
	rels     map[uint32]*relation
	changed  func()        // Config.SchemaChanged; may be nil
	cur      *walrelay.Txn // nil outside a transaction
	spill    *spill        // changes of cur beyond chunk; nil while it fits
}

func newTxnDecoder(schema *walrelay.Schema, dec *pgjson.Decoder, log *slog.Logger, chunk int, spillDir string, changed func()) *txnDecoder {
	return &txnDecoder{schema: schema, dec: dec, log: log, chunk: chunk, spillDir: spillDir, rels: map[uint32]*relation{}, changed: changed}
}

// inTxn reports whether a transaction has begun and not yet committed.
func (d *txnDecoder) inTxn() bool { return d.cur != nil }

// close drops an open transaction and its spill file.
func (d *txnDecoder) close() {
	if d.spill != nil {
		d.spill.close()
		d.spill = nil
	}
	d.cur = nil
}

// handle applies one message. It returns the finished transaction on
// Commit (with no events when nothing in it concerns a model); the caller
// must close it.
func (d *txnDecoder) handle(msg pglogrepl.Message) (*committed, error) {
	switch m := msg.(type) {
	case *pglogrepl.RelationMessage:
		d.relation(m)
	case *pglogrepl.BeginMessage:
		d.close()
		d.cur = &walrelay.Txn{XID: m.Xid, CommitLSN: walrelay.LSN(m.FinalLSN), CommitTime: m.CommitTime}
	case *pglogrepl.InsertMessage:
		return nil, d.push(m.RelationID, &change{op: walrelay.OpCreated, newTuple: m.Tuple})
	case *pglogrepl.UpdateMessage:
		return nil, d.push(m.RelationID, &change{op: walrelay.OpUpdated, newTuple: m.NewTuple, oldTuple: m.OldTuple,
			oldKeyOnly: m.OldTupleType == pglogrepl.UpdateMessageTupleTypeKey})
	case *pglogrepl.DeleteMessage:
		return nil, d.push(m.RelationID, &change{op: walrelay.OpDeleted, oldTuple: m.OldTuple,
			oldKeyOnly: m.OldTupleType == pglogrepl.DeleteMessageTupleTypeKey})
	case *pglogrepl.TruncateMessage:
		for _, id := range m.RelationIDs {
			if err := d.push(id, &change{op: walrelay.OpTruncated}); err != nil {
				return nil, err
			}
		}
	case *pglogrepl.LogicalDecodingMessage:
		if m.Transactional && m.Prefix == MessagePrefix && d.cur != nil {
			return nil, d.record(&change{op: walrelay.OpMessage, prefix: m.Prefix, content: append([]byte(nil), m.Content...)})
		}
	case *pglogrepl.CommitMessage:
		txn := d.cur
		if txn == nil {
			return nil, fmt.Errorf("commit without begin at %s", m.CommitLSN)
		}
		txn.CommitLSN, txn.EndLSN, txn.CommitTime = walrelay.LSN(m.CommitLSN), walrelay.LSN(m.TransactionEndLSN), m.CommitTime
		for _, e := range txn.Events {
			e.LSN, e.CommitTime = txn.CommitLSN, txn.CommitTime
		}
		ct := &committed{d: d, txn: txn, spill: d.spill}
		d.cur, d.spill = nil, nil
		if ct.spill != nil {
			if err := ct.spill.rewind(); err != nil {
				ct.close()
				return nil, err
			}
		}
		return ct, nil
	}
	// Type and Origin messages need nothing; the text format needs no
	// type details beyond OIDs.
	return nil, nil
}

// push records a change of relation id, unless its table has no model.
func (d *txnDecoder) push(id uint32, c *change) error {
	if d.cur == nil {
		return fmt.Errorf("change outside a transaction")
	}
	rel, ok := d.rels[id]
	if !ok {
		return fmt.Errorf("change for relation %d before its Relation message", id)
	}
	if rel.model == nil {
		return nil
	}
	c.rel = rel
	return d.record(c)
}

// record decodes the change into the open transaction while it holds fewer
// than chunk events, and spills it otherwise.
func (d *txnDecoder) record(c *change) error {
	if d.spill == nil && len(d.cur.Events) < d.chunk {
		d.cur.Events = append(d.cur.Events, d.event(c, d.cur, len(d.cur.Events)))
		return nil
	}
	if d.spill == nil {
		s, err := newSpill(d.spillDir)
		if err != nil {
			return err
		}
		d.spill = s
		d.log.Debug("cdc: large transaction spills to disk", "xid", d.cur.XID, "after", d.chunk)
	}
	return d.spill.write(c)
}

// event decodes change c, number seq of transaction txn.
func (d *txnDecoder) event(c *change, txn *walrelay.Txn, seq int) *walrelay.Event {
	e := &walrelay.Event{Op: c.op, XID: txn.XID, LSN: txn.CommitLSN, CommitTime: txn.CommitTime, Seq: seq}
	if c.rel != nil {
		e.Model = c.rel.model
	}
	switch c.op {
	case walrelay.OpCreated:
		e.New = d.row(c.rel, c.newTuple, nil, false)
	case walrelay.OpUpdated:
		e.Old = d.row(c.rel, c.oldTuple, nil, c.oldKeyOnly)
		e.New = d.row(c.rel, c.newTuple, e.Old, false)
	case walrelay.OpDeleted:
		e.Old = d.row(c.rel, c.oldTuple, nil, c.oldKeyOnly)
	case walrelay.OpMessage:
		e.Prefix, e.Content = c.prefix, c.content
	}
	return e
}

// row decodes a tuple. Unchanged TOAST values ('u') are taken from old when
// it has them and left out otherwise; keyOnly keeps only the replica
// identity key columns (the rest are sent as NULL).
func (d *txnDecoder) row(rel *relation, tuple *pglogrepl.TupleData, old walrelay.Row, keyOnly bool) walrelay.Row {
	if tuple == nil {
		return nil
	}
	row := make(walrelay.Row, len(tuple.Columns))
	for i, col := range tuple.Columns {
		if i >= len(rel.cols) {
			break
		}
		rc := rel.cols[i]
		if keyOnly && rc.Flags&1 == 0 {
			continue
		}
		switch col.DataType {
		case pglogrepl.TupleDataTypeNull:
			row[rc.Name] = nil
		case pglogrepl.TupleDataTypeToast:
			if v, ok := old[rc.Name]; ok {
				row[rc.Name] = v
			}
		case pglogrepl.TupleDataTypeText:
			v, err := d.dec.Decode(rc.DataType, col.Data)
			if err != nil {
				d.log.Warn("cdc: undecodable value, sent as text", "table", rel.model.QualifiedTable(), "column", rc.Name, "err", err)
				v = string(col.Data)
			}
			row[rc.Name] = v
		default:
			d.log.Warn("cdc: unexpected tuple data kind", "table", rel.model.QualifiedTable(), "column", rc.Name, "kind", col.DataType)
		}
	}
	return row
}
