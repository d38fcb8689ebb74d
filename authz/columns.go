package authz

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/walrelay/walrelay"
)

// kind is the CEL type a column's values have in rules.
type kind uint8

const (
	kindDyn       kind = iota // json, jsonb, enums, domains, unknown types
	kindInt                   // int2, int4, int8, oid
	kindDouble                // float4, float8, numeric
	kindString                // text-like, uuid, dates and times other than timestamptz
	kindBool                  // boolean
	kindTimestamp             // timestamptz
	kindList                  // arrays
)

// sqlClass says how rules compare a column in SQL.
type sqlClass uint8

const (
	sqlNone   sqlClass = iota // not comparable in translated rules
	sqlDirect                 // the column itself, against a parameter cast to cast
	sqlUUID                   // uuid: only canonical strings can be equal
	sqlText                   // col::text, whose text equals the JSON string
)

// column is what rules know of one table column.
type column struct {
	name    string
	ident   string // quoted identifier, safe to splice into SQL
	kind    kind
	elem    kind // element kind of lists
	celType *types.Type
	sql     sqlClass
	cast    string // parameter cast for sqlDirect columns
	collate bool   // ordering needs COLLATE "C" to match CEL's byte order
	notNull bool
}

var arrayTypes = pgtype.NewMap()

// newColumn maps a catalog column to its rule type.
func newColumn(c walrelay.Column) *column {
	col := &column{name: c.Name, ident: pgx.Identifier{c.Name}.Sanitize(), notNull: c.NotNull}
	col.kind, col.sql, col.cast, col.collate = scalarKind(c.TypeOID)
	if col.kind == kindDyn && col.sql == sqlNone {
		if t, ok := arrayTypes.TypeForOID(c.TypeOID); ok {
			if ac, ok := t.Codec.(*pgtype.ArrayCodec); ok && ac.ElementType != nil {
				col.kind = kindList
				col.elem, _, _, _ = scalarKind(ac.ElementType.OID)
			}
		} else if strings.HasSuffix(c.Type, "[]") {
			col.kind, col.elem = kindList, kindDyn
		}
	}
	col.celType = celType(col.kind, col.elem, !c.NotNull)
	return col
}

// scalarKind maps a built-in scalar type OID.
func scalarKind(oid uint32) (k kind, sql sqlClass, cast string, collate bool) {
	switch oid {
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.OIDOID:
		return kindInt, sqlDirect, "bigint", false
	case pgtype.Float4OID:
		return kindDouble, sqlDirect, "real", false
	case pgtype.Float8OID, pgtype.NumericOID:
		return kindDouble, sqlDirect, "double precision", false
	case pgtype.BoolOID:
		return kindBool, sqlDirect, "boolean", false
	case pgtype.TimestamptzOID:
		return kindTimestamp, sqlDirect, "timestamptz", false
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.NameOID, pgtype.BPCharOID:
		return kindString, sqlDirect, "text", true
	case pgtype.UUIDOID:
		return kindString, sqlUUID, "uuid", false
	case pgtype.DateOID, pgtype.TimeOID, pgtype.TimetzOID, pgtype.QCharOID:
		return kindString, sqlText, "text", true
	case pgtype.TimestampOID, pgtype.IntervalOID, pgtype.ByteaOID, pgtype.InetOID,
		pgtype.CIDROID, pgtype.MacaddrOID, pgtype.XMLOID:
		return kindString, sqlNone, "", false
	}
	return kindDyn, sqlNone, "", false
}

// celType is the declared CEL type of a column; nullable columns accept
// comparisons with null.
func celType(k, elem kind, nullable bool) *types.Type {
	var t *types.Type
	switch k {
	case kindInt:
		t = types.IntType
	case kindDouble:
		t = types.DoubleType
	case kindString:
		t = types.StringType
	case kindBool:
		t = types.BoolType
	case kindTimestamp:
		return types.TimestampType // nullable by CEL's own rules
	case kindList:
		return types.NewListType(celType(elem, kindDyn, true))
	default:
		return types.DynType
	}
	if nullable {
		return types.NewNullableType(t)
	}
	return t
}

// get returns the column's value in row as a CEL value; NULL and a missing
// key are null. A value that does not fit the column's type is an error,
// which makes the rule deny.
func (c *column) get(row map[string]any) ref.Val {
	v, ok := row[c.name]
	if !ok || v == nil {
		return types.NullValue
	}
	return toCEL(c.kind, c.elem, v)
}

// toCEL converts a JSON-ready value (see package pgjson) to a CEL value of
// kind k.
func toCEL(k, elem kind, v any) ref.Val {
	if v == nil {
		return types.NullValue
	}
	switch k {
	case kindInt:
		if i, ok := asInt(v); ok {
			return types.Int(i)
		}
	case kindDouble:
		if f, ok := asFloat(v); ok {
			return types.Double(f)
		}
	case kindString:
		if s, ok := v.(string); ok {
			return types.String(s)
		}
	case kindBool:
		if b, ok := v.(bool); ok {
			return types.Bool(b)
		}
	case kindTimestamp:
		switch x := v.(type) {
		case string:
			if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
				return types.Timestamp{Time: t}
			}
		case time.Time:
			return types.Timestamp{Time: x}
		}
	case kindList:
		if xs, ok := v.([]any); ok {
			vals := make([]ref.Val, len(xs))
			for i, x := range xs {
				vals[i] = toCEL(elem, kindDyn, x)
			}
			return types.NewRefValList(types.DefaultTypeAdapter, vals)
		}
	default:
		return dynToCEL(v)
	}
	return types.NewErr("value of type %T does not fit the column", v)
}

// dynToCEL converts values of json and unknown-typed columns.
func dynToCEL(v any) ref.Val {
	switch x := v.(type) {
	case json.RawMessage:
		var out any
		if err := json.Unmarshal(x, &out); err != nil {
			return types.NewErr("invalid json value")
		}
		return types.DefaultTypeAdapter.NativeToValue(normalizeClaims(out))
	case json.Number:
		return types.DefaultTypeAdapter.NativeToValue(normalizeClaims(x))
	case []any:
		vals := make([]ref.Val, len(x))
		for i, e := range x {
			vals[i] = dynToCEL(e)
		}
		return types.NewRefValList(types.DefaultTypeAdapter, vals)
	}
	return types.DefaultTypeAdapter.NativeToValue(v)
}

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
			return int64(x), true
		}
	case json.Number:
		i, err := x.Int64()
		return i, err == nil
	case string:
		i, err := strconv.ParseInt(x, 10, 64)
		return i, err == nil
	}
	return 0, false
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case float32:
		return float64(x), true
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

// rowTypeName is the CEL type of `row` in every model's environment.
const rowTypeName = "walrelay.Row"

// rowProvider declares the row type of one model: one field per column,
// read from a walrelay.Row (or map[string]any) with column.get.
type rowProvider struct {
	*types.Registry
	fields map[string]*types.FieldType
	names  []string
}

func newRowProvider(cols []*column) (*rowProvider, error) {
	reg, err := types.NewRegistry()
	if err != nil {
		return nil, fmt.Errorf("cel registry: %w", err)
	}
	p := &rowProvider{Registry: reg, fields: map[string]*types.FieldType{}}
	for _, c := range cols {
		p.names = append(p.names, c.name)
		p.fields[c.name] = &types.FieldType{
			Type: c.celType,
			IsSet: func(target any) bool {
				r := asRow(target)
				v, ok := r[c.name]
				return ok && v != nil
			},
			GetFrom: func(target any) (any, error) { return c.get(asRow(target)), nil },
		}
	}
	return p, nil
}

func asRow(target any) map[string]any {
	switch r := target.(type) {
	case walrelay.Row:
		return r
	case map[string]any:
		return r
	}
	return nil
}

// FindStructType implements types.Provider.
func (p *rowProvider) FindStructType(name string) (*types.Type, bool) {
	if name == rowTypeName {
		return types.NewTypeTypeWithParam(types.NewObjectType(rowTypeName)), true
	}
	return p.Registry.FindStructType(name)
}

// FindStructFieldNames implements types.Provider.
func (p *rowProvider) FindStructFieldNames(name string) ([]string, bool) {
	if name == rowTypeName {
		return p.names, true
	}
	return p.Registry.FindStructFieldNames(name)
}

// FindStructFieldType implements types.Provider.
func (p *rowProvider) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	if name == rowTypeName {
		f, ok := p.fields[field]
		return f, ok
	}
	return p.Registry.FindStructFieldType(name, field)
}

// NewValue implements types.Provider; rows cannot be built in rules.
func (p *rowProvider) NewValue(name string, fields map[string]ref.Val) ref.Val {
	if name == rowTypeName {
		return types.NewErr("rows cannot be constructed in rules")
	}
	return p.Registry.NewValue(name, fields)
}
