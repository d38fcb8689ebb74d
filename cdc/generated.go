package cdc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

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
// as they are, and so are the rows of stopped model versions (never sent).
// Models without generated columns cost a map lookup per event.
//
// The generated columns are read from the catalog here and again after
// Invalidate (ALTER TABLE), or when computing them fails.
func FillGenerated(ctx context.Context, q Querier, schema *walrelay.Schema, dec *pgjson.Decoder, next Sink) (*Generated, error) {
	g := &Generated{Sink: next, q: q, dec: dec, schema: schema, models: map[string]*genModel{}, stale: map[string]bool{}}
	for _, m := range schema.Realtime() {
		gm, err := loadGenerated(ctx, q, m)
		if err != nil {
			return nil, err
		}
		g.models[m.Name] = gm
	}
	return g, nil
}

// loadGenerated reads model m's stored generated columns and builds the
// query that computes them; nil when it has none.
func loadGenerated(ctx context.Context, q Querier, m *walrelay.Model) (*genModel, error) {
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
		return nil, nil
	}
	// The expressions come from the catalog (pg_get_expr), and the table
	// name is quoted: nothing here comes from a client.
	gm.sql = fmt.Sprintf(`select e.ord, %s
		from jsonb_array_elements($1::jsonb) with ordinality as e(v, ord),
		     lateral jsonb_populate_record(null::%s, e.v) as %s
		order by e.ord`,
		strings.Join(exprs, ", "), pgx.Identifier{m.Schema, m.Table}.Sanitize(), pgx.Identifier{m.Table}.Sanitize())
	return &gm, nil
}

// Generated is the Sink FillGenerated returns. Deliver is called from the
// consumer's goroutine; Invalidate from any.
type Generated struct {
	Sink
	q      Querier
	dec    *pgjson.Decoder
	schema *walrelay.Schema
	models map[string]*genModel // by model name; owned by Deliver

	mu    sync.Mutex
	stale map[string]bool // models to read again before the next Deliver
}

// StreamStarted passes the call on to the wrapped Sink if it is a
// StreamStarter.
func (g *Generated) StreamStarted(ctx context.Context) error {
	if st, ok := g.Sink.(StreamStarter); ok {
		return st.StreamStarted(ctx)
	}
	return nil
}

// Invalidate makes the next Deliver read model's generated columns from
// the catalog again (after its table changed). Safe for concurrent use.
func (g *Generated) Invalidate(model string) {
	g.mu.Lock()
	g.stale[model] = true
	g.mu.Unlock()
}

// reload reads the generated columns of the invalidated models again.
// Failures are logged by the caller's next fill; the old info stays.
func (g *Generated) reload(ctx context.Context) error {
	g.mu.Lock()
	stale := g.stale
	g.stale = map[string]bool{}
	g.mu.Unlock()
	var errs []error
	for name := range stale {
		m := g.schema.ByName(name)
		if m == nil {
			continue
		}
		gm, err := loadGenerated(ctx, g.q, m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		g.models[name] = gm
	}
	return errors.Join(errs...)
}

// Deliver fills the generated columns of tx's rows, then hands tx on. When
// computing them fails, the models' generated columns are read again and
// computed once more before the error is returned (the consumer then
// reconnects and delivers tx again).
func (g *Generated) Deliver(ctx context.Context, tx *walrelay.Txn) error {
	if err := g.reload(ctx); err != nil {
		return err
	}
	err := g.fillTxn(ctx, tx)
	if err != nil {
		for name := range g.models {
			g.Invalidate(name)
		}
		if rerr := g.reload(ctx); rerr != nil {
			return errors.Join(err, rerr)
		}
		err = g.fillTxn(ctx, tx)
	}
	if err != nil {
		return err
	}
	return g.Sink.Deliver(ctx, tx)
}

// fillTxn computes the generated columns missing from tx's rows.
func (g *Generated) fillTxn(ctx context.Context, tx *walrelay.Txn) error {
	batches := map[string][]walrelay.Row{}
	for _, ev := range tx.Events {
		if ev.Model == nil || ev.Model.Unavailable != nil {
			continue
		}
		gm := g.models[ev.Model.Name]
		if gm == nil {
			continue
		}
		for _, row := range []walrelay.Row{ev.New, ev.Old} {
			if row != nil {
				if _, has := row[gm.cols[0]]; !has {
					batches[ev.Model.Name] = append(batches[ev.Model.Name], row)
				}
			}
		}
	}
	for name, rows := range batches {
		m := g.schema.ByName(name)
		if err := g.fill(ctx, m, g.models[name], rows); err != nil {
			return fmt.Errorf("compute generated columns of %s: %w", m.QualifiedTable(), err)
		}
	}
	return nil
}

func (g *Generated) fill(ctx context.Context, m *walrelay.Model, gm *genModel, rows []walrelay.Row) error {
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
