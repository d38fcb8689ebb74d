package store

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/walrelay/walrelay"
)

// Create inserts a row from data (column name to JSON value, as decoded
// with json.Decoder.UseNumber) and returns it as stored, defaults filled.
// Unknown, hidden and generated columns and values of the wrong JSON shape
// give errors wrapping walrelay.ErrBadRequest; constraint violations
// walrelay.ErrConflict or walrelay.ErrUnprocessable (see package doc).
func (s *Store) Create(ctx context.Context, m *walrelay.Model, data map[string]any) (walrelay.Row, error) {
	cols, _ := selectList(m)
	sets, args, err := assignments(m, data)
	if err != nil {
		return nil, err
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
	rows, err := s.write(ctx, m, sql+returning(cols), args, sets, false)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", m.Name, err)
	}
	if len(rows) != 1 {
		return nil, fmt.Errorf("create %s: insert returned %d rows", m.Name, len(rows))
	}
	return rows[0], nil
}

// Update changes the columns in data of the row whose primary key is id
// and returns the updated row. A missing row gives walrelay.ErrNotFound;
// other errors are as for Create. An empty data reads the row.
func (s *Store) Update(ctx context.Context, m *walrelay.Model, id string, data map[string]any) (walrelay.Row, error) {
	if len(data) == 0 {
		row, _, err := s.Get(ctx, m, id)
		return row, err
	}
	cols, _ := selectList(m)
	sets, args, err := assignments(m, data)
	if err != nil {
		return nil, err
	}
	parts := make([]string, len(sets))
	for i, a := range sets {
		parts[i] = quoteIdent(a.col.Name) + " = " + a.expr
	}
	args = append(args, id)
	sql := "update " + tableIdent(m) + " set " + strings.Join(parts, ", ") + " where " + pkMatch(m, len(args)) + returning(cols)
	rows, err := s.write(ctx, m, sql, args, sets, true)
	if err != nil {
		return nil, fmt.Errorf("update %s: %w", m.Name, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: %s %s", walrelay.ErrNotFound, m.Name, id)
	}
	return rows[0], nil
}

// Delete deletes the row whose primary key is id; a missing row gives
// walrelay.ErrNotFound.
func (s *Store) Delete(ctx context.Context, m *walrelay.Model, id string) error {
	tag, err := s.pool.Exec(ctx, "delete from "+tableIdent(m)+" where "+pkMatch(m, 1), id)
	if err != nil {
		if isDataException(err) {
			return fmt.Errorf("%w: invalid id for %s", walrelay.ErrBadRequest, m.Name)
		}
		return fmt.Errorf("delete %s: %w", m.Name, writeError(err, ""))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: %s %s", walrelay.ErrNotFound, m.Name, id)
	}
	return nil
}

func pkMatch(m *walrelay.Model, n int) string {
	pk := m.Column(m.PrimaryKey)
	return quoteIdent(pk.Name) + " = $" + strconv.Itoa(n) + "::text::" + baseType(pk)
}

func returning(cols string) string {
	if cols == "" {
		return ""
	}
	return " returning " + cols
}

// write runs an insert or update returning rows. On a data exception it
// finds which assignment holds the bad value to name its column; when none
// does and the statement has an id parameter, the id is at fault.
func (s *Store) write(ctx context.Context, m *walrelay.Model, sql string, args []any, sets []assignment, hasID bool) ([]walrelay.Row, error) {
	_, names := selectList(m)
	rows, err := s.pool.Query(ctx, sql, append([]any{textFormat}, args...)...)
	var out []walrelay.Row
	if err == nil {
		out, err = s.collect(rows, len(names))
	}
	if err != nil {
		if !isDataException(err) {
			return nil, writeError(err, "")
		}
		col := s.badColumn(ctx, sets, args)
		if col == "" && hasID {
			// The id is the statement's last parameter.
			pk := m.Column(m.PrimaryKey)
			_, perr := s.pool.Exec(ctx, "select $1::text::"+baseType(pk), args[len(args)-1])
			if isDataException(perr) {
				return nil, fmt.Errorf("%w: invalid id for %s", walrelay.ErrBadRequest, m.Name)
			}
		}
		return nil, writeError(err, col)
	}
	return out, nil
}

// assignment is one column written: its SQL expression over the bound
// parameters.
type assignment struct {
	col  *walrelay.Column
	expr string
}

// assignments checks data's keys and turns its values into expressions,
// in column-name order, appending the bound values to args.
func assignments(m *walrelay.Model, data map[string]any) ([]assignment, []any, error) {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var args []any
	sets := make([]assignment, 0, len(keys))
	for _, k := range keys {
		col := m.Visible(k)
		if col == nil {
			return nil, nil, fmt.Errorf("%w: unknown column %q", walrelay.ErrBadRequest, k)
		}
		if col.Generated {
			return nil, nil, fmt.Errorf("%w: column %q is generated and cannot be written", walrelay.ErrBadRequest, k)
		}
		expr, err := valueExpr(col, data[k], &args)
		if err != nil {
			return nil, nil, err
		}
		sets = append(sets, assignment{col: col, expr: expr})
	}
	return sets, args, nil
}

// valueExpr binds one JSON value for col and returns its SQL expression:
// scalars as text cast to the column type; for json and jsonb columns any
// value as its JSON text; for array columns a JSON array, element by
// element.
func valueExpr(col *walrelay.Column, v any, args *[]any) (string, error) {
	bind := func(x any) string {
		*args = append(*args, x)
		return "$" + strconv.Itoa(len(*args))
	}
	isJSON := col.TypeOID == 114 || col.TypeOID == 3802
	isArray := strings.HasSuffix(col.Type, "[]")
	switch x := v.(type) {
	case nil:
		return bind(nil) + "::text::" + baseType(col), nil
	case map[string]any, []any:
		b, err := json.Marshal(x)
		if err != nil {
			return "", fmt.Errorf("%w: column %q: unencodable value", walrelay.ErrBadRequest, col.Name)
		}
		if isJSON {
			return bind(string(b)) + "::text::" + baseType(col), nil
		}
		if _, ok := x.([]any); ok && isArray {
			return "coalesce((select array_agg(e.x order by e.i) from jsonb_array_elements_text(" + bind(string(b)) +
				"::text::jsonb) with ordinality as e(x, i)), '{}')::" + baseType(col), nil
		}
		if isArray {
			return "", fmt.Errorf("%w: column %q takes an array", walrelay.ErrBadRequest, col.Name)
		}
		return "", fmt.Errorf("%w: column %q takes a %s, not an object or array", walrelay.ErrBadRequest, col.Name, col.Type)
	}
	if isJSON {
		b, err := json.Marshal(v)
		if err != nil {
			return "", fmt.Errorf("%w: column %q: unencodable value", walrelay.ErrBadRequest, col.Name)
		}
		return bind(string(b)) + "::text::" + baseType(col), nil
	}
	var text string
	switch x := v.(type) {
	case string:
		text = x
	case json.Number:
		text = x.String()
	case float64:
		text = strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		text = strconv.FormatBool(x)
	case int64:
		text = strconv.FormatInt(x, 10)
	case int:
		text = strconv.Itoa(x)
	default:
		return "", fmt.Errorf("%w: column %q: unsupported value", walrelay.ErrBadRequest, col.Name)
	}
	return bind(text) + "::text::" + baseType(col), nil
}

// badColumn returns the first written column whose value Postgres rejects
// on its own, or "" if none does (or the probe fails). It runs only after
// a write failed.
func (s *Store) badColumn(ctx context.Context, sets []assignment, args []any) string {
	if len(sets) == 0 {
		return ""
	}
	for _, a := range sets {
		// Re-bind this assignment's parameters alone: rebuild its
		// expression from the same value.
		var one []any
		probe, ok := rebind(a, args, &one)
		if !ok {
			continue
		}
		if _, err := s.pool.Exec(ctx, "select "+probe, one...); err != nil && isDataException(err) {
			return a.col.Name
		}
	}
	return ""
}

var placeholderRe = regexp.MustCompile(`\$([0-9]+)`)

// rebind rewrites an assignment's expression to use $1 for its one
// parameter, appending that parameter's value to one.
func rebind(a assignment, args []any, one *[]any) (string, bool) {
	m := placeholderRe.FindStringSubmatchIndex(a.expr)
	if m == nil {
		return "", false
	}
	n, err := strconv.Atoi(a.expr[m[2]:m[3]])
	if err != nil || n < 1 || n > len(args) {
		return "", false
	}
	*one = append(*one, args[n-1])
	return a.expr[:m[0]] + "$1" + a.expr[m[1]:], true
}
