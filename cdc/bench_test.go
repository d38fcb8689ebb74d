package cdc

import (
	"encoding/binary"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/pgjson"
)

// benchModel is the load tool's messages table (cmd/load/schema.go).
var benchModel = &walrelay.Model{
	Name: "Message", Schema: "walrelay_load", Table: "messages", PrimaryKey: "id", Hide: []string{"secret"},
	Subscribe: []walrelay.ChannelKind{walrelay.KindList}, Broadcast: []walrelay.Op{walrelay.OpCreated},
	Columns: []walrelay.Column{
		{Name: "id", TypeOID: 20}, {Name: "room_id", TypeOID: 23}, {Name: "user_id", TypeOID: 25},
		{Name: "body", TypeOID: 25}, {Name: "secret", TypeOID: 25}, {Name: "sent_us", TypeOID: 20},
	},
}

// pgoutput builds raw pgoutput messages (protocol 1) for the benchmarks.
type pgoutput []byte

func (b pgoutput) u8(v byte) pgoutput    { return append(b, v) }
func (b pgoutput) u16(v uint16) pgoutput { return binary.BigEndian.AppendUint16(b, v) }
func (b pgoutput) u32(v uint32) pgoutput { return binary.BigEndian.AppendUint32(b, v) }
func (b pgoutput) u64(v uint64) pgoutput { return binary.BigEndian.AppendUint64(b, v) }
func (b pgoutput) str(s string) pgoutput { return append(append(b, s...), 0) }

func relationMsg(relID uint32, m *walrelay.Model) []byte {
	b := pgoutput{'R'}.u32(relID).str(m.Schema).str(m.Table).u8('f').u16(uint16(len(m.Columns)))
	for i, c := range m.Columns {
		flags := byte(0)
		if i == 0 {
			flags = 1
		}
		b = b.u8(flags).str(c.Name).u32(c.TypeOID).u32(^uint32(0))
	}
	return b
}

func insertMsg(relID uint32, values ...string) []byte {
	b := pgoutput{'I'}.u32(relID).u8('N').u16(uint16(len(values)))
	for _, v := range values {
		b = append(b.u8('t').u32(uint32(len(v))), v...)
	}
	return b
}

func mustParse(b *testing.B, raw []byte) pglogrepl.Message {
	m, err := pglogrepl.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkDecodeInsert decodes one pgoutput insert of the load tool's
// row (parse the message, decode the text tuple into a walrelay.Row): the
// per-change cost of the replication loop before routing.
func BenchmarkDecodeInsert(b *testing.B) {
	d := newTxnDecoder(walrelay.NewSchema([]*walrelay.Model{benchModel}), pgjson.NewDecoder(),
		slog.New(slog.DiscardHandler), DefaultChunkEvents, b.TempDir(), nil)
	if _, err := d.handle(mustParse(b, relationMsg(16384, benchModel))); err != nil {
		b.Fatal(err)
	}
	begin := pgoutput{'B'}.u64(1 << 32).u64(0).u32(7)
	ins := insertMsg(16384, "123456", "42", "user-17", "hello from the walrelay load tool, a chat line of some sixty bytes",
		"not for clients", strconv.FormatInt(time.Now().UnixMicro(), 10))
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		if n%1000 == 0 {
			d.close()
			if _, err := d.handle(mustParse(b, begin)); err != nil {
				b.Fatal(err)
			}
		}
		n++
		if _, err := d.handle(mustParse(b, ins)); err != nil {
			b.Fatal(err)
		}
	}
	if ev := d.cur.Events[0]; ev.New["room_id"] != int64(42) && ev.New["room_id"] != 42 {
		b.Fatalf("decoded %v", ev.New)
	}
}
