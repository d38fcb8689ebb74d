package filter

import (
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/walrelay/walrelay"
)

func testModel() *walrelay.Model {
	return &walrelay.Model{
		Name: "Message", Schema: "public", Table: "messages", Path: "messages",
		Hide: []string{"secret"},
		Columns: []walrelay.Column{
			{Name: "id", TypeOID: oidInt8, Type: "bigint"},
			{Name: "room_id", TypeOID: oidInt4, Type: "integer"},
			{Name: "body", TypeOID: oidText, Type: "text"},
			{Name: "code", TypeOID: oidBPChar, Type: "character(4)"},
			{Name: "score", TypeOID: oidFloat8, Type: "double precision"},
			{Name: "ratio", TypeOID: oidFloat4, Type: "real"},
			{Name: "price", TypeOID: oidNumeric, Type: "numeric(10,2)"},
			{Name: "done", TypeOID: oidBool, Type: "boolean"},
			{Name: "at", TypeOID: oidTimestamptz, Type: "timestamp with time zone"},
			{Name: "day", TypeOID: oidDate, Type: "date"},
			{Name: "uid", TypeOID: oidUUID, Type: "uuid"},
			{Name: "meta", TypeOID: oidJSONB, Type: "jsonb"},
			{Name: "tags", TypeOID: 1009, Type: "text[]"},
			{Name: "mood", TypeOID: 90001, Type: "mood"},
			{Name: "secret", TypeOID: oidText, Type: "text"},
			{Name: `we"ird`, TypeOID: oidText, Type: "text"},
		},
		PrimaryKey: "id",
	}
}

func mustParse(t *testing.T, s string) *Filter {
	t.Helper()
	f, err := ParseString(testModel(), s)
	if err != nil {
		t.Fatalf("ParseString(%q): %v", s, err)
	}
	return f
}

func TestParseRejects(t *testing.T) {
	for _, s := range []string{
		"nope=eq.1",                          // unknown column
		"secret=eq.x",                        // hidden column
		"room_id=5",                          // no operator
		"room_id=eqq.5",                      // unknown operator
		"room_id=eq.abc",                     // not an integer
		"room_id=eq.1.5",                     // not an integer
		"room_id=eq.99999999999",             // out of int4 range
		"room_id=like.1%",                    // like on a number
		"room_id=is.true",                    // is.true on a number
		"done=eq.maybe",                      // not a boolean
		"price=eq.1/3",                       // fraction syntax big.Rat would take
		"price=eq.1e999999",                  // huge exponent
		"at=gt.yesterday",                    // not a time
		"at=gt.2024-01-01T00:00:00.1234567Z", // sub-microsecond
		"uid=eq.xyz",                         // not a uuid
		"meta=eq.{}",                         // no comparison on jsonb
		"tags=eq.{a}",                        // no comparison on arrays
		"mood=lt.happy",                      // no order on unknown types
		"room_id=in.1,2",                     // list without parentheses
		`body=in.("a`,                        // unterminated quote
		"body=like.abc\\",                    // trailing escape
		"body=is.maybe",                      // bad is operand
		"order=id.asc",                       // reserved key in a subscription filter
		"room_id=not.5",                      // not without operator
		"%zz",                                // malformed query string
	} {
		if _, err := ParseString(testModel(), s); !errors.Is(err, walrelay.ErrInvalidFilter) {
			t.Errorf("ParseString(%q) = %v, want ErrInvalidFilter", s, err)
		}
	}
}

// PostgREST's or=(...) and and=(...) are refused with a message that says
// they are not supported, rather than "unknown column".
func TestParseRejectsLogicalOperators(t *testing.T) {
	for _, s := range []string{"or=(done.eq.true,room_id.eq.2)", "and=(done.eq.true)", "not.or=(done.eq.true)"} {
		_, err := ParseString(testModel(), s)
		if !errors.Is(err, walrelay.ErrInvalidFilter) || !strings.Contains(err.Error(), "is not supported") {
			t.Errorf("ParseString(%q) = %v, want ErrInvalidFilter saying it is not supported", s, err)
		}
	}
	m := testModel()
	m.Columns = append(m.Columns, walrelay.Column{Name: "or", TypeOID: oidText, Type: "text"})
	if f, err := ParseString(m, "or=eq.x"); err != nil || len(f.Conds) != 1 || f.Conds[0].Column != "or" {
		t.Errorf("a column named or: %+v, %v", f, err)
	}
}

func TestParseIgnoresReserved(t *testing.T) {
	q := url.Values{"order": {"id"}, "limit": {"5"}, "page": {"x"}, "count": {"exact"}, "select": {"*"}, "room_id": {"eq.5", "neq.6"}}
	f, err := Parse(testModel(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Conds) != 2 || f.Conds[0].Values[0] != "5" || f.Conds[1].Op != OpNeq {
		t.Fatalf("got %+v", f.Conds)
	}
}

func TestMatch(t *testing.T) {
	row := walrelay.Row{
		"id": int64(7), "room_id": int64(5), "body": "Hello, World", "code": "ab  ",
		"score": 0.1, "ratio": 0.1, "price": json.Number("12.50"), "done": true,
		"at": "2024-03-01T10:00:00Z", "day": "2024-03-01", "uid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
		"meta": map[string]any{"a": 1.0}, "tags": []any{"x"}, "mood": "happy", "secret": "s", `we"ird`: nil,
	}
	cases := map[string]bool{
		"room_id=eq.5":                      true,
		"room_id=neq.5":                     false,
		"room_id=gt.4&room_id=lt.6":         true,
		"room_id=gte.6":                     false,
		"room_id=lte.5":                     true,
		"room_id=in.(1,5,9)":                true,
		"room_id=in.()":                     false,
		"room_id=not.in.()":                 true,
		"room_id=not.in.(1,2)":              true,
		"room_id=not.eq.5":                  false,
		"body=like.Hello%25":                true,
		"body=like.Hello*":                  true,
		"body=like.hello%25":                false,
		"body=ilike.hello%25":               true,
		"body=like.H_llo,*":                 true,
		"body=like.Hello_":                  false,
		`body=in.("Hello, World",x)`:        true,
		"body=gt.Hello":                     true,
		"body=lt.hello":                     true, // bytewise: 'H' < 'h'
		"code=eq.ab":                        true,
		"code=like.ab":                      true,
		"score=eq.0.1":                      true,
		"score=eq.0.10000000000000001":      true, // same float8
		"ratio=eq.0.1":                      true,
		"price=eq.12.5":                     true,
		"price=gt.12.49":                    true,
		"price=lt.Infinity":                 true,
		"price=lt.NaN":                      true,
		"done=is.true":                      true,
		"done=is.false":                     false,
		"done=eq.t":                         true,
		"done=not.is.true":                  false,
		"at=gt.2024-03-01":                  true,
		"at=eq.2024-03-01 11:00:00%2B01":    true,
		"at=lt.2024-03-01T10:00:00.000001Z": true,
		"at=lt.infinity":                    true,
		"day=eq.2024-03-01":                 true,
		"day=gt.2024-02-29":                 true,
		"uid=eq.A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11": true,
		"uid=eq.{a0eebc999c0b4ef8bb6d6bb9bd380a11}":   true,
		"uid=gt.a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a10": true,
		"meta=is.null":      false,
		"meta=not.is.null":  true,
		"mood=eq.happy":     true,
		"we%22ird=is.null":  true,
		"we%22ird=eq.x":     false, // NULL: unknown
		"we%22ird=not.eq.x": false, // still unknown
		"":                  true,
	}
	for s, want := range cases {
		if got := mustParse(t, s).Match(row); got != want {
			t.Errorf("%q: Match = %v, want %v", s, got, want)
		}
	}
	var nilFilter *Filter
	if !nilFilter.Match(row) {
		t.Error("nil filter must match")
	}
}

func TestMatchStringValues(t *testing.T) {
	// A decoder may hand numbers, bools and big values over as strings.
	row := walrelay.Row{"id": "9007199254740993", "done": "t", "price": "NaN", "score": "Infinity"}
	for s, want := range map[string]bool{
		"id=eq.9007199254740993": true,
		"id=gt.9007199254740992": true,
		"done=is.true":           true,
		"price=eq.NaN":           true,
		"price=gt.1e300":         true,
		"score=gt.1e308":         true,
	} {
		if got := mustParse(t, s).Match(row); got != want {
			t.Errorf("%q: Match = %v, want %v", s, got, want)
		}
	}
}

func TestWhere(t *testing.T) {
	f := mustParse(t, "room_id=eq.5&body=not.like.a*&body=gt.m&code=in.(x,y)&done=is.null&price=in.()")
	args := []any{"first"}
	got := f.Where(&args)
	want := `("body" LIKE $2::text AND "body" > $3::text::text COLLATE "C" AND "code"::text IN ($4::text::text, $5::text::text) AND "done" IS NULL AND false AND "room_id" = $6::text::integer)`
	want = strings.Replace(want, `"body" LIKE $2::text`, `NOT ("body" LIKE $2::text)`, 1)
	if got != want {
		t.Fatalf("Where:\n got %s\nwant %s", got, want)
	}
	if !reflect.DeepEqual(args, []any{"first", "a%", "m", "x", "y", "5"}) {
		t.Fatalf("args = %#v", args)
	}
	var empty Filter
	if s := empty.Where(&args); s != "true" {
		t.Fatalf("empty Where = %q", s)
	}
}

func TestStringRoundTrip(t *testing.T) {
	for _, s := range []string{
		`body=in.("a,b","q\"uote",plain)&room_id=not.gte.3`,
		"body=like.50\\%25*&done=is.false",
	} {
		f := mustParse(t, s)
		g := mustParse(t, f.String())
		if f.Fingerprint() != g.Fingerprint() {
			t.Errorf("%q: round trip %q changed %s to %s", s, f.String(), f.Fingerprint(), g.Fingerprint())
		}
	}
}

func TestParseOrder(t *testing.T) {
	m := testModel()
	got, err := ParseOrder(m, "at.desc,room_id,body.asc.nullslast,id.desc.nullsfirst")
	if err != nil {
		t.Fatal(err)
	}
	want := []Order{{"at", true}, {"room_id", false}, {"body", false}, {"id", true}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v", got)
	}
	for _, s := range []string{"secret", "nope.asc", "id.up", "id.asc.nullsfirst", "id,id", "id.asc.x", `x";drop table t;--`, ","} {
		if _, err := ParseOrder(m, s); !errors.Is(err, walrelay.ErrInvalidFilter) {
			t.Errorf("ParseOrder(%q) = %v, want ErrInvalidFilter", s, err)
		}
	}
	if o, err := ParseOrder(m, ""); err != nil || o != nil {
		t.Errorf("empty order = %v, %v", o, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"room_id=eq.5", "body=like.a%25_", `body=in.("a,b",c)`, "at=gte.2024-01-01T00:00:00Z",
		"price=not.in.(1,2.5,NaN)", "done=is.true", "uid=eq.a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
		"body=eq.x'); drop table messages; --", "room_id=in.()", "x=y", "%", "body=ilike.*\\*",
	} {
		f.Add(s)
	}
	m := testModel()
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseString(m, s)
		if err != nil {
			if !errors.Is(err, walrelay.ErrInvalidFilter) {
				t.Fatalf("error %v does not wrap ErrInvalidFilter", err)
			}
			return
		}
		var args []any
		sql := flt.Where(&args)
		if strings.ContainsAny(sql, "';") {
			t.Fatalf("Where spliced a literal: %s", sql)
		}
		n := 0
		for _, c := range flt.Conds {
			if c.Op != OpIs {
				n += len(c.Values)
			}
		}
		if len(args) != n {
			t.Fatalf("%d args for %d operands", len(args), n)
		}
		flt.Match(walrelay.Row{"id": int64(1), "body": "x", "room_id": "7", "at": "garbage"})
		if _, err := ParseString(m, flt.String()); err != nil {
			t.Fatalf("String() %q does not parse: %v", flt.String(), err)
		}
	})
}
