package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/filter"
)

// ListResult is one page of a list read.
type ListResult struct {
	Items []walrelay.Row `json:"items"`
	// NextPage is the token for the following page, nil on the last page.
	NextPage *string `json:"next_page"`
	// Total is the number of matching rows, when asked for.
	Total *int64 `json:"total,omitempty"`
	// Cursor is the point in the change stream the read reflects.
	Cursor walrelay.Cursor `json:"-"`
}

// snapshotSQL is the read transaction's first statement, so the snapshot
// it reports is the transaction's own. The LSN is the WAL insert position,
// not pg_current_wal_lsn (the write position): with synchronous_commit off
// the write position can lag commits the snapshot already shows, while the
// insert position is past every commit record visible to it.
const snapshotSQL = `
select set_config('TimeZone', 'UTC', true), pg_snapshot_xmin(s)::text, pg_snapshot_xmax(s)::text,
       coalesce((select array_agg(x::text order by x) from pg_snapshot_xip(s) x), '{}'::text[]),
       (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::text
from pg_current_snapshot() s`

// read runs fn in a REPEATABLE READ, READ ONLY transaction and returns the
// cursor of its snapshot: the rows fn sees are exactly the changes before
// the cursor.
func (s *Store) read(ctx context.Context, fn func(tx pgx.Tx) error) (walrelay.Cursor, error) {
	cur := walrelay.Cursor{Epoch: s.epoch.Load(), Snapshot: true}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return cur, fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read only; commit below reports errors

	var tz, xmin, xmax, lsn string
	var xip []string
	if err := tx.QueryRow(ctx, snapshotSQL).Scan(&tz, &xmin, &xmax, &xip, &lsn); err != nil {
		return cur, fmt.Errorf("read snapshot: %w", err)
	}
	if cur.Xmin, err = strconv.ParseUint(xmin, 10, 64); err != nil {
		return cur, fmt.Errorf("parse snapshot xmin: %w", err)
	}
	if cur.Xmax, err = strconv.ParseUint(xmax, 10, 64); err != nil {
		return cur, fmt.Errorf("parse snapshot xmax: %w", err)
	}
	for _, x := range xip {
		n, err := strconv.ParseUint(x, 10, 64)
		if err != nil {
			return cur, fmt.Errorf("parse snapshot xip: %w", err)
		}
		cur.Xip = append(cur.Xip, n)
	}
	l, err := strconv.ParseUint(lsn, 10, 64)
	if err != nil {
		return cur, fmt.Errorf("parse wal lsn: %w", err)
	}
	cur.LSN = walrelay.LSN(l)

	if err := fn(tx); err != nil {
		return cur, err
	}
	if err := tx.Commit(ctx); err != nil {
		return cur, fmt.Errorf("commit read: %w", err)
	}
	return cur, nil
}

// Get reads the row whose primary key is id, with the cursor of the read.
// A row that is missing or that g may not read gives an error wrapping
// walrelay.ErrNotFound (the two are indistinguishable, so existence does not
// leak); an id that is not valid for the key's type, walrelay.ErrBadRequest.
func (s *Store) Get(ctx context.Context, g Guard, m *walrelay.Model, id string) (walrelay.Row, walrelay.Cursor, error) {
	if err := m.Available(); err != nil {
		return nil, walrelay.Cursor{}, err
	}
	cols, names := selectList(m)
	args := []any{id}
	rf, err := readFilter(g, m, &args)
	if err != nil {
		return nil, walrelay.Cursor{}, fmt.Errorf("get %s: read filter: %w", m.Name, err)
	}
	sql := "select " + cols + " from " + tableIdent(m) + " where " + pkMatch(m, 1) + " and " + rf
	var found []walrelay.Row
	cur, err := s.read(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, append([]any{textFormat}, args...)...)
		if err != nil {
			return err
		}
		found, err = s.collect(rows, len(names))
		return err
	})
	if isDataException(err) {
		return nil, cur, invalidID(m, id, err)
	}
	if err != nil {
		return nil, cur, drift(m, readError(fmt.Sprintf("get %s", m.Name), err))
	}
	if len(found) == 0 {
		return nil, cur, fmt.Errorf("%w: %s %s", walrelay.ErrNotFound, m.Name, id)
	}
	return found[0], cur, nil
}

// List reads one page of the rows matching p.Filter, ordered by p.Order and
// then the primary key. Pages are keyset pages: a page token names the last
// row of the previous page, so paging is stable under concurrent writes
// (no row that exists throughout is skipped or repeated). Each page is read
// in its own snapshot, reported in the result's Cursor. Only rows g may
// read are listed, paged and counted.
func (s *Store) List(ctx context.Context, g Guard, m *walrelay.Model, p ListParams) (*ListResult, error) {
	if err := m.Available(); err != nil {
		return nil, err
	}
	limit := p.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 0 || limit > MaxLimit {
		return nil, fmt.Errorf("%w: limit must be a number from 1 to %d", walrelay.ErrBadRequest, MaxLimit)
	}
	keys := sortKeys(m, p.Order)
	hash := queryHash(m, keys, p.Filter)
	var after *pageToken
	if p.Page != "" {
		t, err := decodeToken(p.Page, hash, len(keys))
		if err != nil {
			return nil, err
		}
		after = &t
	}

	cols, names := selectList(m)
	// Sort keys that are not selected (a hidden primary key) are selected
	// after the visible columns, for the token only.
	keyIdx := make([]int, len(keys))
	extra := len(names)
	for i, k := range keys {
		if keyIdx[i] = indexOf(names, k.Column); keyIdx[i] < 0 {
			keyIdx[i] = extra
			extra++
			if cols != "" {
				cols += ", "
			}
			cols += quoteIdent(k.Column)
		}
	}

	var args []any
	where := p.Filter.Where(&args)
	rf, err := readFilter(g, m, &args)
	if err != nil {
		return nil, fmt.Errorf("list %s: read filter: %w", m.Name, err)
	}
	where += " AND " + rf
	countSQL := "select count(*) from " + tableIdent(m) + " where " + where
	countArgs := append([]any(nil), args...)
	if after != nil {
		where += " AND " + keysetAfter(m, keys, after.V, &args)
	}
	sql := "select " + cols + " from " + tableIdent(m) + " where " + where +
		" order by " + orderBy(keys) + " limit " + strconv.Itoa(limit+1)

	res := &ListResult{Items: []walrelay.Row{}}
	cur, err := s.read(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, append([]any{textFormat}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var last []*string
		for rows.Next() {
			if len(res.Items) == limit {
				tok := encodeToken(pageToken{V: last, H: hash})
				res.NextPage = &tok
				break
			}
			res.Items = append(res.Items, s.decodeRow(rows, len(names)))
			raw := rows.RawValues()
			last = make([]*string, len(keys))
			for i, j := range keyIdx {
				if raw[j] != nil {
					v := string(raw[j])
					last[i] = &v
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if p.Count {
			var n int64
			if err := tx.QueryRow(ctx, countSQL, countArgs...).Scan(&n); err != nil {
				return err
			}
			res.Total = &n
		}
		return nil
	})
	if cols := p.Filter.DatabaseChecked(); len(cols) > 0 && isDataException(err) {
		return nil, invalidFilterValue(cols, err)
	}
	if err != nil {
		return nil, drift(m, readError(fmt.Sprintf("list %s", m.Name), err))
	}
	res.Cursor = cur
	return res, nil
}

// sortKeys returns the requested order plus the primary key as the final
// tie-breaker, unless the order already includes it.
func sortKeys(m *walrelay.Model, order []filter.Order) []filter.Order {
	keys := append([]filter.Order(nil), order...)
	for _, o := range order {
		if o.Column == m.PrimaryKey {
			return keys
		}
	}
	return append(keys, filter.Order{Column: m.PrimaryKey})
}

func orderBy(keys []filter.Order) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = quoteIdent(k.Column)
		if k.Desc {
			parts[i] += " DESC"
		}
	}
	return strings.Join(parts, ", ")
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}
