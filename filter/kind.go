package filter

import (
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay"
)

// kind is the comparison category of a column's type. It decides which
// operators a column accepts, how operands are validated and cast in SQL,
// and how Match compares values in Go.
type kind int

const (
	kOther     kind = iota // string equality on the canonical text form
	kInt                   // smallint, integer, bigint, oid
	kFloat                 // real, double precision
	kNumeric               // numeric
	kBool                  // boolean
	kText                  // text, varchar, char(n), name
	kUUID                  // uuid
	kTime                  // timestamp[tz], date, time[tz]
	kNoCompare             // json, jsonb, bytea, xml, arrays, geometric, interval, money: only is.null
)

// Built-in type OIDs (pg_type.dat).
const (
	oidBool        = 16
	oidBytea       = 17
	oidChar        = 18
	oidName        = 19
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidOID         = 26
	oidJSON        = 114
	oidXML         = 142
	oidPoint       = 600
	oidLseg        = 601
	oidPath        = 602
	oidBox         = 603
	oidPolygon     = 604
	oidLine        = 628
	oidFloat4      = 700
	oidFloat8      = 701
	oidCircle      = 718
	oidBPChar      = 1042
	oidVarchar     = 1043
	oidDate        = 1082
	oidTime        = 1083
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidTimetz      = 1266
	oidNumeric     = 1700
	oidInterval    = 1186
	oidMoney       = 790
	oidUUID        = 2950
	oidJSONB       = 3802
)

// colInfo is what a condition needs to know about its column.
type colInfo struct {
	name string
	oid  uint32
	kind kind
	// cast is the SQL type operands are cast to; safe to splice (it is a
	// constant here or the catalog's format_type).
	cast string
	// expr is the quoted column expression used in SQL.
	expr string
}

func kindOf(c *walrelay.Column) kind {
	if strings.HasSuffix(c.Type, "[]") {
		return kNoCompare
	}
	switch c.TypeOID {
	case oidInt2, oidInt4, oidInt8, oidOID:
		return kInt
	case oidFloat4, oidFloat8:
		return kFloat
	case oidNumeric:
		return kNumeric
	case oidBool:
		return kBool
	case oidText, oidVarchar, oidBPChar, oidName:
		return kText
	case oidUUID:
		return kUUID
	case oidDate, oidTime, oidTimestamp, oidTimestamptz, oidTimetz:
		return kTime
	case oidJSON, oidJSONB, oidBytea, oidXML, oidPoint, oidLseg, oidPath, oidBox, oidPolygon, oidLine, oidCircle,
		oidInterval, oidMoney: // their JSON form is not the text Postgres compares
		return kNoCompare
	}
	return kOther
}

func infoOf(c *walrelay.Column) colInfo {
	k := kindOf(c)
	ci := colInfo{name: c.Name, oid: c.TypeOID, kind: k, cast: c.Type, expr: quote(c.Name)}
	switch k {
	case kInt:
		ci.cast = map[uint32]string{oidInt2: "smallint", oidInt4: "integer", oidInt8: "bigint", oidOID: "oid"}[c.TypeOID]
	case kFloat:
		ci.cast = map[uint32]string{oidFloat4: "real", oidFloat8: "double precision"}[c.TypeOID]
	case kNumeric:
		// Plain numeric, not numeric(p,s): a typmod would round the operand
		// and make SQL disagree with Match.
		ci.cast = "numeric"
	case kBool:
		ci.cast = "boolean"
	case kText:
		// Compare as text: a varchar(n) or char(n) cast would truncate the
		// operand; char(n) is compared without its padding, as Postgres
		// does when it converts char(n) to text.
		ci.cast = "text"
		if c.TypeOID == oidBPChar {
			ci.expr += "::text"
		}
	case kUUID:
		ci.cast = "uuid"
	case kTime:
		ci.cast = map[uint32]string{
			oidDate: "date", oidTime: "time without time zone", oidTimetz: "time with time zone",
			oidTimestamp: "timestamp without time zone", oidTimestamptz: "timestamp with time zone",
		}[c.TypeOID]
	}
	return ci
}

// allows reports whether the operator applies to columns of kind k.
func (k kind) allows(op Op) bool {
	switch op {
	case OpIs:
		return true
	case OpEq, OpNeq, OpIn:
		return k != kNoCompare
	case OpLt, OpLte, OpGt, OpGte:
		return k != kNoCompare && k != kOther
	case OpLike, OpILike:
		return k == kText
	}
	return false
}

// Orderable reports whether ORDER BY and keyset comparisons work on the
// column's type: everything but json, xml and the geometric types, which
// have no btree ordering.
func Orderable(c *walrelay.Column) bool {
	switch c.TypeOID {
	case oidJSON, oidXML, oidPoint, oidLseg, oidPath, oidBox, oidPolygon, oidLine, oidCircle:
		return false
	}
	return true
}

func quote(name string) string { return pgx.Identifier{name}.Sanitize() }

// Operators returns the operators a column accepts in filters, in the
// order of the docs (is first: every column has is.null).
func Operators(c *walrelay.Column) []Op {
	k := kindOf(c)
	var out []Op
	for _, op := range []Op{OpIs, OpEq, OpNeq, OpLt, OpLte, OpGt, OpGte, OpIn, OpLike, OpILike} {
		if k.allows(op) {
			out = append(out, op)
		}
	}
	return out
}
