package authz

import (
	"strconv"

	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/walrelay/walrelay"
)

// indexPlan is a read rule of the form
//
//	row.col == <auth value> || <auth-only term> || ...
//
// (the comparison may be isOwner, and be on either side), which lets a
// router index subscribers by the value instead of evaluating the rule.
type indexPlan struct {
	col   *column
	owner bool     // the key is auth.sub (isOwner)
	key   valueSrc // the key otherwise
	terms []valueSrc
}

// index analyses e; it returns nil when e is not of the indexable form.
func (b *planner) index(e ast.Expr) *indexPlan {
	var disj []ast.Expr
	var flatten func(ast.Expr)
	flatten = func(x ast.Expr) {
		if x.Kind() == ast.CallKind && x.AsCall().FunctionName() == operators.LogicalOr {
			for _, a := range x.AsCall().Args() {
				flatten(a)
			}
			return
		}
		disj = append(disj, x)
	}
	flatten(e)
	ip := &indexPlan{}
	keyed := false
	for _, d := range disj {
		if !usesRow(d) {
			ip.terms = append(ip.terms, b.authValue(d))
			continue
		}
		if keyed {
			return nil
		}
		keyed = true
		switch {
		case d.Kind() == ast.IdentKind && d.AsIdent() == "isOwner":
			ip.col, ip.owner = b.owner, true
		case d.Kind() == ast.CallKind && d.AsCall().FunctionName() == operators.Equals:
			l, r := d.AsCall().Args()[0], d.AsCall().Args()[1]
			if c := b.rowColumn(l); c != nil && !usesRow(r) {
				ip.col, ip.key = c, b.authValue(r)
			} else if c := b.rowColumn(r); c != nil && !usesRow(l) {
				ip.col, ip.key = c, b.authValue(l)
			} else {
				return nil
			}
		default:
			return nil
		}
	}
	if !keyed || ip.col == nil || (ip.col.kind != kindInt && ip.col.kind != kindString) {
		return nil
	}
	return ip
}

// NullKey is the key of a NULL column value and of a null claim: a rule
// row.col == auth.claim with a null claim holds for rows whose col is NULL.
// It never equals the KeyOf of a value.
const NullKey = "\x00null"

// RowKey returns the key of row under an indexable rule:
// walrelay.KeyOf(row[col]), or NullKey when the value is NULL or absent.
func (r *Rule) RowKey(row walrelay.Row) string {
	if r == nil || r.index == nil {
		return ""
	}
	v := row[r.index.col.name]
	if v == nil {
		return NullKey
	}
	return walrelay.KeyOf(v)
}

// Index reports whether the rule (a read rule) is indexable, and by which
// column: the rule then holds for a row exactly when SubscriberKey's all
// is true, or its key equals RowKey(row) (walrelay.KeyOf(row[col]) for
// non-NULL values).
func (r *Rule) Index() (col string, ok bool) {
	if r == nil || r.index == nil {
		return "", false
	}
	return r.index.col.name, true
}

// SubscriberKey evaluates an indexable rule's auth side for one
// subscriber: all is true when the rule holds for every row (an auth-only
// term such as isAdmin is true); none is true when it holds for no row (the
// claim is missing, null or of a type the column never equals); else key
// is the canonical value (walrelay.KeyOf form) that row[col] must have, or
// NullKey for a null claim. It returns none for a rule that is not
// indexable; call it again when the claims change.
func (r *Rule) SubscriberKey(claims Claims) (key string, all, none bool) {
	if r == nil || r.index == nil {
		return "", false, true
	}
	ip := r.index
	for _, t := range ip.terms {
		if t.eval(claims) == types.True {
			return "", true, false
		}
	}
	var v ref.Val
	if ip.owner {
		sub, ok := claims.Subject()
		if !ok {
			return "", false, true
		}
		v = ownerKey(ip.col, sub)
	} else {
		v = ip.key.eval(claims)
	}
	if v == types.NullValue {
		return NullKey, false, false
	}
	p, f := coerce(ip.col, v)
	if f != fitSame {
		return "", false, true
	}
	switch x := p.(type) {
	case int64:
		return strconv.FormatInt(x, 10), false, false
	case string:
		return x, false, false
	}
	return "", false, true
}
