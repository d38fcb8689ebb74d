package cdc

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/pgjson"
)

// Querier runs a query; *pgxpool.Pool and *pgx.Conn are Queriers.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// genModel is a model's stored generated columns and the query that
// computes them for a batch of rows.
type genModel struct {
	cols []string
	sql  string
}

// FillGenerated returns a Sink that completes rows with their stored
// generated columns before handing transactions to next. pgoutput before
// Postgres 18 leaves generated columns out of the stream, so without this a
// WAL event would lack columns a REST read has. The values are computed by
// Postgres from the event's own row (generation expressions are immutable),
// one query per model per transaction: the row is rebuilt with
// jsonb_populate_record and the expressions evaluated on it. Rows that
// already carry a column (Postgres 18 publishing generated columns) are left
// as they are. Models without generated columns cost nothing.
func FillGenerated(ctx context.Context, q Querier, schema *walrelay.Schema, dec *pgjson.Decoder, next Sink) (Sink, error) {
	g := &genSink{Sink: next, q: q, dec: dec, models: map[*walrelay.Model]*genModel{}}
	for _, m := range schema.Realtime() {
		rows, err := q.Query(ctx, `
			select a.attname, pg_get_expr(d.adbin, d.adrelid)
			from pg_attribute a
			join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
			where a.attrelid = $1::regclass and a.attgenerated = 's' and not a.attisdropped
			order by a.attnum`, pgx.Identifier{m.Schema, m.Table}.Sanitize())
		if err != nil {
			return nil, fmt.Errorf("generated columns of %s: %w", m.QualifiedTable(), err)
		}
		var gm genModel
		var exprs []string
		for rows.Next() {
			var col, expr string
			if err := rows.Scan(&col, &expr); err != nil {
				rows.Close()
				return nil, fmt.Errorf("generated columns of %s: %w", m.QualifiedTable(), err)
			}
			gm.cols = append(gm.cols, col)
			exprs = append(exprs, "("+expr+")::text")
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("generated columns of %s: %w", m.QualifiedTable(), err)
		}
		if len(gm.cols) == 0 {
			continue
		}
		// The expressions come from the catalog (pg_get_expr), and the table
		// name is quoted: nothing here comes from a client.
		gm.sql = fmt.Sprintf(`select e.ord, %s
			from jsonb_array_elements($1::jsonb) with ordinality as e(v, ord),
			     lateral jsonb_populate_record(null::%s, e.v) as %s
			order by e.ord`,
			strings.Join(exprs, ", "), pgx.Identifier{m.Schema, m.Table}.Sanitize(), pgx.Identifier{m.Table}.Sanitize())
		g.models[m] = &gm
	}
	if len(g.models) == 0 {
		return next, nil
	}
	return g, nil
}

// genSink fills generated columns, then delegates to the wrapped Sink.
type genSink struct {
	Sink
	q      Querier
	dec    *pgjson.Decoder
	models map[*walrelay.Model]*genModel
}

// StreamStarted passes the call on to the wrapped Sink if it is a
// StreamStarter.
func (g *genSink) StreamStarted(ctx context.Context) error {
	if st, ok := g.Sink.(StreamStarter); ok {
		return st.StreamStarted(ctx)
	}
	return nil
}

// Deliver fills the generated columns of tx's rows, then hands tx on.
func (g *genSink) Deliver(ctx context.Context, tx *walrelay.Txn) error {
	batches := map[*walrelay.Model][]walrelay.Row{}
	for _, ev := range tx.Events {
		gm := g.models[ev.Model]
		if gm == nil {
			continue
		}
		for _, row := range []walrelay.Row{ev.New, ev.Old} {
			if row != nil {
				if _, has := row[gm.cols[0]]; !has {
					batches[ev.Model] = append(batches[ev.Model], row)
				}
			}
		}
	}
	for m, rows := range batches {
		if err := g.fill(ctx, m, g.models[m], rows); err != nil {
			return fmt.Errorf("compute generated columns of %s: %w", m.QualifiedTable(), err)
		}
	}
	return g.Sink.Deliver(ctx, tx)
}

func (g *genSink) fill(ctx context.Context, m *walrelay.Model, gm *genModel, rows []walrelay.Row) error {
	payload, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	res, err := g.q.Query(ctx, gm.sql, pgx.QueryResultFormats{pgx.TextFormatCode}, string(payload))
	if err != nil {
		return err
	}
	defer res.Close()
	i := 0
	for res.Next() {
		raw := res.RawValues()
		if i >= len(rows) || len(raw) != len(gm.cols)+1 {
			return fmt.Errorf("unexpected result shape")
		}
		for j, col := range gm.cols {
			c := m.Column(col)
			if c == nil {
				continue
			}
			v, err := g.dec.Decode(c.TypeOID, raw[j+1])
			if err != nil {
				return fmt.Errorf("decode %s: %w", col, err)
			}
			rows[i][col] = v
		}
		i++
	}
	return res.Err()
}
