// Package store holds all of walrelay's SQL for reading and writing model
// rows: list (filters, order, keyset pages, exact counts), get, create,
// update and delete. REST handlers and WebSocket requests share it.
//
// Nothing a client sends is spliced into SQL text: column names are checked
// against the catalog-derived walrelay.Model and quoted; values are bound as
// text parameters cast to the column's catalog type. Rows are read in text
// format and decoded with pgjson, so they look exactly like WAL events.
// Every call takes a Guard, the caller's permissions: reads AND its read
// filter into the WHERE clause (so pages and counts see only readable rows,
// and an unreadable row is "not found"); writes check its Allow on full rows
// (hidden columns included) inside the write's transaction and roll back
// when denied. Use AllowAll for trusted callers.
//
// Errors a client may see wrap the sentinels of package walrelay with
// messages that carry no SQL or database error text; any other error is
// internal.
package store

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/pgjson"
)

// Querier runs a query; *pgx.Conn, *pgxpool.Pool and pgx.Tx are Queriers.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Store runs model reads and writes on a pool. Its methods may be called
// concurrently.
type Store struct {
	pool   *pgxpool.Pool
	schema *walrelay.Schema
	dec    *pgjson.Decoder
	epoch  atomic.Uint32
}

// New returns a Store over pool for the models of schema, decoding values
// with dec. The models must have been resolved with LoadModels. Configure
// the pool with ConfigurePool so that time zones are read as UTC.
func New(pool *pgxpool.Pool, schema *walrelay.Schema, dec *pgjson.Decoder) *Store {
	return &Store{pool: pool, schema: schema, dec: dec}
}

// SetEpoch sets the epoch stamped on the cursors of later reads (see
// walrelay.Cursor.Epoch). It may be called at any time.
func (s *Store) SetEpoch(e uint32) { s.epoch.Store(e) }

// Schema returns the models the store serves.
func (s *Store) Schema() *walrelay.Schema { return s.schema }

// ConfigurePool sets the session settings the store relies on: TimeZone
// UTC, so that filter operands and written timestamps without a zone mean
// UTC, as filter.Match assumes. Call it on the config before building the
// pool. Reads also set it per transaction.
func ConfigurePool(cfg *pgxpool.Config) {
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	for k, v := range pgjson.SessionParams() {
		cfg.ConnConfig.RuntimeParams[k] = v
	}
}
