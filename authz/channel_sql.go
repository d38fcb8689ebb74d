package authz

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/walrelay/walrelay"
)

// Membership returns the channel's subscribe_sql with positional
// parameters and their values for claims and params: each pattern
// parameter's string value, and for $sub the sub claim as a string (nil,
// so SQL NULL, without one). ok is false when the channel has no
// subscribe_sql. The values are to be bound as parameters, never spliced.
func (r *ChannelRules) Membership(claims Claims, params map[string]string) (sql string, args []any, ok bool) {
	if r == nil || r.sql == "" {
		return "", nil, false
	}
	args = make([]any, len(r.sqlArgs))
	for i, name := range r.sqlArgs {
		if name == "sub" {
			if sub, has := claims.Subject(); has {
				args[i] = walrelay.KeyOf(sub)
			}
			continue
		}
		args[i] = params[name]
	}
	return r.sql, args, true
}

// Querier runs a custom channel's subscribe_sql membership query;
// *pgxpool.Pool implements it. It must be safe for concurrent use.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// IsMember runs the channel's subscribe_sql, if it has one, through q with
// the arguments of Membership bound as parameters: a member is one for
// whom it returns a row. A value the query cannot take (SQLSTATE class 22,
// a data exception, e.g. "abc" for an integer column) is not a member
// either. Without subscribe_sql everyone is a member. Other failures are
// errors naming the channel pattern, for the caller to treat as internal,
// not as a denial; so is a nil q when the channel has subscribe_sql.
func (r *ChannelRules) IsMember(ctx context.Context, q Querier, claims Claims, params map[string]string) (bool, error) {
	sql, args, ok := r.Membership(claims, params)
	if !ok {
		return true, nil
	}
	if q == nil {
		return false, fmt.Errorf("channel %s: subscribe_sql configured but no database to run it", r.Channel.Pattern)
	}
	member, err := hasRow(ctx, q, sql, args)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "22") { // data exception
			return false, nil
		}
		return false, fmt.Errorf("channel %s: subscribe_sql: %w", r.Channel.Pattern, err)
	}
	return member, nil
}

// hasRow reports whether the query returns a row.
func hasRow(ctx context.Context, q Querier, sql string, args []any) (bool, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return false, err
	}
	has := rows.Next()
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	return has, nil
}

// translateSQL replaces the $name placeholders of a subscribe_sql query by
// $1..$n (one number per distinct name) and returns the names in order.
// Names must be pattern parameters or "sub". Text in single-quoted
// strings, double-quoted identifiers and comments is left alone;
// positional $1 and dollar-quoted strings are rejected.
func translateSQL(src string, params []string) (string, []string, error) {
	if slices.Contains(params, "sub") {
		return "", nil, errors.New(`the pattern parameter "sub" would shadow $sub; rename it`)
	}
	var b strings.Builder
	var names []string
	isStart := func(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isPart := func(c byte) bool { return isStart(c) || c >= '0' && c <= '9' }
	skipTo := func(i int, end string) int {
		j := strings.Index(src[i:], end)
		if j < 0 {
			return len(src)
		}
		return i + j + len(end)
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\'' || c == '"':
			j := skipTo(i+1, string(c))
			b.WriteString(src[i:j])
			i = j
		case strings.HasPrefix(src[i:], "--"):
			j := skipTo(i, "\n")
			b.WriteString(src[i:j])
			i = j
		case strings.HasPrefix(src[i:], "/*"):
			j := skipTo(i+2, "*/")
			b.WriteString(src[i:j])
			i = j
		case c == '$':
			j := i + 1
			if j < len(src) && src[j] >= '0' && src[j] <= '9' {
				return "", nil, fmt.Errorf("offset %d: positional parameters are not allowed; use $name (%s, $sub)", i, placeholderList(params))
			}
			if j >= len(src) || !isStart(src[j]) {
				return "", nil, fmt.Errorf("offset %d: lone $ or dollar-quoted string; use $name placeholders and '...' strings", i)
			}
			for j < len(src) && isPart(src[j]) {
				j++
			}
			name := src[i+1 : j]
			if j < len(src) && src[j] == '$' {
				return "", nil, fmt.Errorf("offset %d: dollar-quoted strings are not supported", i)
			}
			if name != "sub" && !slices.Contains(params, name) {
				return "", nil, fmt.Errorf("offset %d: unknown placeholder $%s (want %s or $sub)", i, name, placeholderList(params))
			}
			k := slices.Index(names, name)
			if k < 0 {
				names = append(names, name)
				k = len(names) - 1
			}
			fmt.Fprintf(&b, "$%d", k+1)
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), names, nil
}

func placeholderList(params []string) string {
	if len(params) == 0 {
		return "no pattern parameter"
	}
	return "$" + strings.Join(params, ", $")
}
