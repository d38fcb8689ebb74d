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
// that are not configured.
type relation struct {
	model *walrelay.Model
	cols  []*pglogrepl.RelationMessageColumn
}

// txnDecoder turns pgoutput messages of one replication connection into
// Txns. It is owned by that connection's goroutine.
type txnDecoder struct {
	schema *walrelay.Schema
	dec    *pgjson.Decoder
	log    *slog.Logger
	rels   map[uint32]*relation
	cur    *walrelay.Txn // nil outside a transaction
}

func newTxnDecoder(schema *walrelay.Schema, dec *pgjson.Decoder, log *slog.Logger) *txnDecoder {
	return &txnDecoder{schema: schema, dec: dec, log: log, rels: map[uint32]*relation{}}
}

// inTxn reports whether a transaction has begun and not yet committed.
func (d *txnDecoder) inTxn() bool { return d.cur != nil }

// handle applies one message. It returns the finished Txn on Commit (with
// no events when nothing in it concerns a model).
func (d *txnDecoder) handle(msg pglogrepl.Message) (*walrelay.Txn, error) {
	switch m := msg.(type) {
	case *pglogrepl.RelationMessage:
		d.rels[m.RelationID] = &relation{model: d.schema.ByTable(m.Namespace, m.RelationName), cols: m.Columns}
	case *pglogrepl.BeginMessage:
		d.cur = &walrelay.Txn{XID: m.Xid, CommitLSN: walrelay.LSN(m.FinalLSN), CommitTime: m.CommitTime}
	case *pglogrepl.InsertMessage:
		rel, err := d.rel(m.RelationID)
		if err != nil || rel.model == nil {
			return nil, err
		}
		d.add(rel.model, walrelay.OpCreated, d.row(rel, m.Tuple, nil, false), nil)
	case *pglogrepl.UpdateMessage:
		rel, err := d.rel(m.RelationID)
		if err != nil || rel.model == nil {
			return nil, err
		}
		var old walrelay.Row
		if m.OldTuple != nil {
			old = d.row(rel, m.OldTuple, nil, m.OldTupleType == pglogrepl.UpdateMessageTupleTypeKey)
		}
		d.add(rel.model, walrelay.OpUpdated, d.row(rel, m.NewTuple, old, false), old)
	case *pglogrepl.DeleteMessage:
		rel, err := d.rel(m.RelationID)
		if err != nil || rel.model == nil {
			return nil, err
		}
		old := d.row(rel, m.OldTuple, nil, m.OldTupleType == pglogrepl.DeleteMessageTupleTypeKey)
		d.add(rel.model, walrelay.OpDeleted, nil, old)
	case *pglogrepl.TruncateMessage:
		for _, id := range m.RelationIDs {
			rel, err := d.rel(id)
			if err != nil {
				return nil, err
			}
			if rel.model != nil {
				d.add(rel.model, walrelay.OpTruncated, nil, nil)
			}
		}
	case *pglogrepl.LogicalDecodingMessage:
		if m.Transactional && m.Prefix == MessagePrefix && d.cur != nil {
			e := d.add(nil, walrelay.OpMessage, nil, nil)
			e.Prefix, e.Content = m.Prefix, append([]byte(nil), m.Content...)
		}
	case *pglogrepl.CommitMessage:
		txn := d.cur
		if txn == nil {
			return nil, fmt.Errorf("commit without begin at %s", m.CommitLSN)
		}
		d.cur = nil
		txn.CommitLSN, txn.EndLSN, txn.CommitTime = walrelay.LSN(m.CommitLSN), walrelay.LSN(m.TransactionEndLSN), m.CommitTime
		for _, e := range txn.Events {
			e.LSN, e.CommitTime = txn.CommitLSN, txn.CommitTime
		}
		return txn, nil
	}
	// Type and Origin messages need nothing; the text format needs no
	// type details beyond OIDs.
	return nil, nil
}

// rel returns the cached relation of a change; its model is nil for tables
// that are not configured, whose changes are skipped.
func (d *txnDecoder) rel(id uint32) (*relation, error) {
	if d.cur == nil {
		return nil, fmt.Errorf("change outside a transaction")
	}
	rel, ok := d.rels[id]
	if !ok {
		return nil, fmt.Errorf("change for relation %d before its Relation message", id)
	}
	return rel, nil
}

func (d *txnDecoder) add(m *walrelay.Model, op walrelay.Op, newRow, oldRow walrelay.Row) *walrelay.Event {
	e := &walrelay.Event{
		Model: m, Op: op, New: newRow, Old: oldRow,
		XID: d.cur.XID, LSN: d.cur.CommitLSN, CommitTime: d.cur.CommitTime, Seq: len(d.cur.Events),
	}
	d.cur.Events = append(d.cur.Events, e)
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
