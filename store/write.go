package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay"
)

// Create inserts a row from data (column name to JSON value, as decoded
// with json.Decoder.UseNumber) and returns it as stored, defaults filled,
// without hidden columns. In one transaction it inserts the row, asks g
// whether it may "create" the full row (hidden columns included) and, if
// not, rolls back and returns an error wrapping walrelay.ErrForbidden.
// Unknown, hidden and generated columns and values of the wrong JSON shape
// give errors wrapping walrelay.ErrBadRequest; constraint violations
// walrelay.ErrConflict or walrelay.ErrUnprocessable (see package doc).
func (s *Store) Create(ctx context.Context, g Guard, m *walrelay.Model, data map[string]any) (walrelay.Row, error) {
	if err := m.Available(); err != nil {
		return nil, err
	}
	if g == nil {
		return nil, errNilGuard
	}
	sets, args, err := assignments(m, data)
	if err != nil {
		return nil, err
	}
	if refuses(g, m, "create") {
		return nil, fmt.Errorf("create %s: %w: may not create this %s", m.Name, walrelay.ErrForbidden, m.Name)
	}
	var sql string
	if len(sets) == 0 {
		sql = "insert into " + tableIdent(m) + " default values"
	} else {
		targets, exprs := make([]string, len(sets)), make([]string, len(sets))
		for i, a := range sets {
			targets[i], exprs[i] = quoteIdent(a.col.Name), a.expr
		}
		sql = "insert into " + tableIdent(m) + " (" + strings.Join(targets, ", ") + ") values (" + strings.Join(exprs, ", ") + ")"
	}
	var row walrelay.Row
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := s.write(ctx, tx, m, sql+" returning "+fullList(m), args, sets)
		if err != nil {
			if isConstraintError(err) && !s.mayWrite(ctx, g, m, "create", nil, sets, args) {
				return fmt.Errorf("%w: may not create this %s", walrelay.ErrForbidden, m.Name)
			}
			return err
		}
		if len(rows) != 1 {
			return fmt.Errorf("insert returned %d rows", len(rows))
		}
		if !g.Allow(m, "create", rows[0]) {
			return fmt.Errorf("%w: may not create this %s", walrelay.ErrForbidden, m.Name)
		}
		row = rows[0]
		return nil
	})
	if err != nil {
		return nil, drift(m, fmt.Errorf("create %s: %w", m.Name, err))
	}
	return stripHidden(m, row), nil
}

// Update changes the columns in data of the row whose primary key is id
// and returns the updated row without hidden columns. In one transaction
// it locks the row if g may read it (else walrelay.ErrNotFound, as for a
// missing row), asks g whether it may "update" the old row, updates it and
// asks again for the new row; a denial rolls back and returns an error
// wrapping walrelay.ErrForbidden. Both checks see full rows, hidden
// columns included. An empty data changes nothing but is checked the
// same way. Other errors are as for Create.
func (s *Store) Update(ctx context.Context, g Guard, m *walrelay.Model, id string, data map[string]any) (walrelay.Row, error) {
	if err := m.Available(); err != nil {
		return nil, err
	}
	if g == nil {
		return nil, errNilGuard
	}
	sets, args, err := assignments(m, data)
	if err != nil {
		return nil, err
	}
	if refuses(g, m, "update") {
		return nil, fmt.Errorf("update %s: %w: may not update this %s", m.Name, walrelay.ErrForbidden, m.Name)
	}
	var row walrelay.Row
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		old, err := s.lockRow(ctx, tx, g, m, id)
		if err != nil {
			return err
		}
		if !g.Allow(m, "update", old) {
			return fmt.Errorf("%w: may not update this %s", walrelay.ErrForbidden, m.Name)
		}
		if len(sets) == 0 {
			row = old
		} else {
			parts := make([]string, len(sets))
			for i, a := range sets {
				parts[i] = quoteIdent(a.col.Name) + " = " + a.expr
			}
			args = append(args, id)
			sql := "update " + tableIdent(m) + " set " + strings.Join(parts, ", ") + " where " + pkMatch(m, len(args)) + " returning " + fullList(m)
			rows, err := s.write(ctx, tx, m, sql, args, sets)
			if err != nil {
				if isConstraintError(err) && !s.mayWrite(ctx, g, m, "update", old, sets, args) {
					return fmt.Errorf("%w: may not make this change to %s", walrelay.ErrForbidden, m.Name)
				}
				return err
			}
			if len(rows) != 1 {
				return fmt.Errorf("update returned %d rows", len(rows))
			}
			row = rows[0]
		}
		if !g.Allow(m, "update", row) {
			return fmt.Errorf("%w: may not make this change to %s", walrelay.ErrForbidden, m.Name)
		}
		return nil
	})
	if err != nil {
		return nil, drift(m, fmt.Errorf("update %s: %w", m.Name, err))
	}
	return stripHidden(m, row), nil
}

// Delete deletes the row whose primary key is id. In one transaction it
// locks the row if g may read it (else walrelay.ErrNotFound, as for a
// missing row) and asks g whether it may "delete" it (else
// walrelay.ErrForbidden, and nothing is deleted).
func (s *Store) Delete(ctx context.Context, g Guard, m *walrelay.Model, id string) error {
	if err := m.Available(); err != nil {
		return err
	}
	if g == nil {
		return errNilGuard
	}
	if refuses(g, m, "delete") {
		return fmt.Errorf("delete %s: %w: may not delete this %s", m.Name, walrelay.ErrForbidden, m.Name)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		old, err := s.lockRow(ctx, tx, g, m, id)
		if err != nil {
			return err
		}
		if !g.Allow(m, "delete", old) {
			return fmt.Errorf("%w: may not delete this %s", walrelay.ErrForbidden, m.Name)
		}
		if _, err := tx.Exec(ctx, "delete from "+tableIdent(m)+" where "+pkMatch(m, 1), id); err != nil {
			return writeError(err, "")
		}
		return nil
	})
	if err != nil {
		return drift(m, fmt.Errorf("delete %s: %w", m.Name, err))
	}
	return nil
}

// lockRow reads the full row whose primary key is id FOR UPDATE, if g may
// read it. A missing or unreadable row gives walrelay.ErrNotFound; an id
// the key's type rejects, walrelay.ErrBadRequest.
func (s *Store) lockRow(ctx context.Context, tx pgx.Tx, g Guard, m *walrelay.Model, id string) (walrelay.Row, error) {
	args := []any{id}
	rf, err := readFilter(g, m, &args)
	if err != nil {
		return nil, fmt.Errorf("read filter: %w", err)
	}
	sql := "select " + fullList(m) + " from " + tableIdent(m) + " where " + pkMatch(m, 1) + " and " + rf + " for update"
	rows, err := tx.Query(ctx, sql, append([]any{textFormat}, args...)...)
	var found []walrelay.Row
	if err == nil {
		found, err = s.collect(rows, len(m.Columns))
	}
	if err != nil {
		if isDataException(err) {
			return nil, invalidID(m, id, err)
		}
		return nil, fmt.Errorf("lock row: %w", err)
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%w: %s %s", walrelay.ErrNotFound, m.Name, id)
	}
	return found[0], nil
}

// inTx runs fn in a read-write transaction, committing when fn returns nil
// and rolling back otherwise.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin write: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after commit; commit reports errors
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return writeError(err, "")
	}
	return nil
}

func pkMatch(m *walrelay.Model, n int) string {
	pk := m.Column(m.PrimaryKey)
	return quoteIdent(pk.Name) + " = $" + strconv.Itoa(n) + "::text::" + baseType(pk)
}

// write runs an insert or update on tx returning full rows. On a data
// exception it rolls tx back and finds which assignment holds the bad
// value to name its column. (Ids are checked before, by lockRow.)
func (s *Store) write(ctx context.Context, tx pgx.Tx, m *walrelay.Model, sql string, args []any, sets []assignment) ([]walrelay.Row, error) {
	rows, err := tx.Query(ctx, sql, append([]any{textFormat}, args...)...)
	var out []walrelay.Row
	if err == nil {
		out, err = s.collect(rows, len(m.Columns))
	}
	if err != nil {
		if !isDataException(err) {
			return nil, writeError(err, "")
		}
		// The transaction is aborted: release its connection before
		// probing on the pool.
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, writeError(err, s.badColumn(ctx, sets, args))
	}
	return out, nil
}

// mayWrite asks g whether it may make a write ("create" or "update") that
// failed on a constraint before the rule could see the stored row, so that a
// caller whose write the rule refuses learns nothing from the constraint
// (that a referenced id or a unique value exists). The row it asks about is
// base (the old row of an update; nothing for a create) with the sent
// values over it, typed by Postgres through the write's own casts in a
// select that touches no table. A rule that needs a create's column
// default sees it as absent: that errs towards forbidden, never towards
// telling.
func (s *Store) mayWrite(ctx context.Context, g Guard, m *walrelay.Model, action string, base walrelay.Row, sets []assignment, args []any) bool {
	row := make(walrelay.Row, len(base)+len(sets))
	for k, v := range base {
		row[k] = v
	}
	if len(sets) > 0 {
		exprs := make([]string, len(sets))
		for i, a := range sets {
			exprs[i] = a.expr + " as " + quoteIdent(a.col.Name)
		}
		// The write's transaction is aborted: ask on the pool. Its
		// placeholders are the first len(args) of the write's; an
		// update's key comes after them and is not bound here.
		n := 0
		for _, a := range sets {
			for _, mm := range placeholderRe.FindAllStringSubmatch(a.expr, -1) {
				if k, err := strconv.Atoi(mm[1]); err == nil && k > n {
					n = k
				}
			}
		}
		rows, err := s.pool.Query(ctx, "select "+strings.Join(exprs, ", "), append([]any{textFormat}, args[:n]...)...)
		if err != nil {
			return false
		}
		got, err := s.collect(rows, len(sets))
		if err != nil || len(got) != 1 {
			return false
		}
		for k, v := range got[0] {
			row[k] = v
		}
	}
	return g.Allow(m, action, row)
}
