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
