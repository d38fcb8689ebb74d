package pgjson

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay/pgembed/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// mustConn connects to a fresh database with the session settings the
// mapping documents as default, pinning the time zone away from UTC so that
// the conversion to UTC is tested.
func mustConn(t *testing.T) (*pgx.Conn, string) {
	t.Helper()
	url := pgtest.MustDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, "set timezone = 'America/New_York'"); err != nil {
		t.Fatal(err)
	}
	return conn, url
}

// selectText runs "select <expr>" with text results and returns the
// column's type OID and raw text (nil for NULL).
func selectText(t *testing.T, conn *pgx.Conn, expr string) (uint32, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := conn.Query(ctx, "select "+expr, pgx.QueryResultFormats{pgx.TextFormatCode})
	if err != nil {
		t.Fatalf("select %s: %v", expr, err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("select %s: no row: %v", expr, rows.Err())
	}
	oid := rows.FieldDescriptions()[0].DataTypeOID
	raw := rows.RawValues()[0]
	var text []byte
	if raw != nil {
		text = append([]byte{}, raw...)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatalf("select %s: %v", expr, err)
	}
	return oid, text
}

func selectJSON(t *testing.T, d *Decoder, conn *pgx.Conn, expr string) string {
	t.Helper()
	oid, text := selectText(t, conn, expr)
	v, err := d.Decode(oid, text)
	if err != nil {
		t.Fatalf("Decode(%d, %q): %v", oid, text, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %#v: %v", v, err)
	}
	return string(b)
}

func TestDecodeBuiltins(t *testing.T) {
	conn, _ := mustConn(t)
	d := NewDecoder()
	tests := map[string]string{
		"null::int4":                   `null`,
		"42::int2":                     `42`,
		"-7::int4":                     `-7`,
		"12345::oid":                   `12345`,
		"9007199254740991::int8":       `9007199254740991`,
		"-9007199254740991::int8":      `-9007199254740991`,
		"9007199254740992::int8":       `"9007199254740992"`,
		"'-9223372036854775808'::int8": `"-9223372036854775808"`,
		"12.50::numeric":               `12.50`,
		"-0.000001::numeric":           `-0.000001`,
		"123456789012345::numeric":     `123456789012345`,
		"1234567890123456::numeric":    `"1234567890123456"`,
		"0.1234567890123456::numeric":  `"0.1234567890123456"`,
		"1e20::numeric":                `"100000000000000000000"`,
		"'NaN'::numeric":               `"NaN"`,
		"'Infinity'::numeric":          `"Infinity"`,
		"'-Infinity'::numeric":         `"-Infinity"`,
		"1.5::float8":                  `1.5`,
		"0.1::float4":                  `0.1`,
		"'NaN'::float8":                `"NaN"`,
		"'Infinity'::float4":           `"Infinity"`,
		"'-Infinity'::float8":          `"-Infinity"`,
		"true":                         `true`,
		"false":                        `false`,
		"'hi \"there\"'::text":         `"hi \"there\""`,
		"'ab'::varchar(5)":             `"ab"`,
		"'ab'::char(3)":                `"ab "`,
		"'x'::\"char\"":                `"x"`,
		"'relname'::name":              `"relname"`,
		"'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid":    `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`,
		"'192.168.0.1/24'::inet":                          `"192.168.0.1/24"`,
		"'10.0.0.0/8'::cidr":                              `"10.0.0.0/8"`,
		"'08:00:2b:01:02:03'::macaddr":                    `"08:00:2b:01:02:03"`,
		`'{"a": [1, 2.5, null]}'::json`:                   `{"a":[1,2.5,null]}`,
		`'{"b": {"c": "d"}}'::jsonb`:                      `{"b":{"c":"d"}}`,
		`'"str"'::jsonb`:                                  `"str"`,
		"'2026-11-25 17:00:00.123+00'::timestamptz":       `"2026-11-25T17:00:00.123Z"`,
		"'2026-11-25 12:00:00-05'::timestamptz":           `"2026-11-25T17:00:00Z"`,
		"'2026-11-25 17:00:00.123456+05:30'::timestamptz": `"2026-11-25T11:30:00.123456Z"`,
		"'infinity'::timestamptz":                         `"infinity"`,
		"'-infinity'::timestamptz":                        `"-infinity"`,
		"'2026-11-25 17:00:00.123'::timestamp":            `"2026-11-25T17:00:00.123"`,
		"'2026-11-25 17:00:00'::timestamp":                `"2026-11-25T17:00:00"`,
		"'infinity'::timestamp":                           `"infinity"`,
		"'2026-11-25'::date":                              `"2026-11-25"`,
		"'-infinity'::date":                               `"-infinity"`,
		"'0044-03-15 BC'::date":                           `"0044-03-15 BC"`,
		"'17:00:00.123'::time":                            `"17:00:00.123"`,
		"'17:00:00+02'::timetz":                           `"17:00:00+02"`,
		"'1 year 2 mons 3 days 04:05:06.5'::interval":     `"P1Y2M3DT4H5M6.5S"`,
		"'0'::interval":                                   `"PT0S"`,
		"'\\x00ff10'::bytea":                              `"AP8Q"`,
		"''::bytea":                                       `""`,
		"array[1, null, 3]::int4[]":                       `[1,null,3]`,
		"array[[1,2],[3,4]]::int8[]":                      `[[1,2],[3,4]]`,
		"'{}'::text[]":                                    `[]`,
		`array['a', 'b,c', 'd"e', 'NULL', null, ' f ']`:   `["a","b,c","d\"e","NULL",null," f "]`,
		`array['{"x":1}'::jsonb, '[2]']`:                  `[{"x":1},[2]]`,
		"array['2026-11-25 17:00:00+00'::timestamptz]":    `["2026-11-25T17:00:00Z"]`,
		"array[1.5, 'NaN']::float8[]":                     `[1.5,"NaN"]`,
		"array['\\x01'::bytea]":                           `["AQ=="]`,
		"'[0:1]={7,8}'::int4[]":                           `[7,8]`,
		"array[box '((0,0),(1,1))', box '((2,2),(3,3))']": `["(1,1),(0,0)","(3,3),(2,2)"]`,
		"array[true, false]":                              `[true,false]`,
		"'(1,2)'::point":                                  `"(1,2)"`,
		"'[1,5)'::int4range":                              `"[1,5)"`,
		"'1'::xid":                                        `"1"`,
	}
	for expr, want := range tests {
		t.Run(expr, func(t *testing.T) {
			if got := selectJSON(t, d, conn, expr); got != want {
				t.Errorf("select %s: got %s, want %s", expr, got, want)
			}
		})
	}
}

// TestDecodeIntervalMatchesPostgres checks the ISO 8601 durations against
// Postgres's own IntervalStyle iso_8601 output.
func TestDecodeIntervalMatchesPostgres(t *testing.T) {
	conn, _ := mustConn(t)
	d := NewDecoder()
	ctx := context.Background()
	for _, iv := range []string{
		"1 year 2 mons 3 days 04:05:06.5", "0", "-1 year -2 mons +3 days -04:05:06",
		"1 day", "36 hours", "-0.25 seconds", "1 mon -1 day", "100 years", "00:00:00.000001",
		"-1 day +02:03:00", "27 mons", "1 minute 0.5 seconds",
	} {
		expr := "'" + iv + "'::interval"
		got := selectJSON(t, d, conn, expr)
		var want string
		if _, err := conn.Exec(ctx, "set intervalstyle = iso_8601"); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, "select ("+expr+")::text").Scan(&want); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "set intervalstyle = postgres"); err != nil {
			t.Fatal(err)
		}
		if got != `"`+want+`"` {
			t.Errorf("%s: got %s, want %q", iv, got, want)
		}
		// Text already in ISO 8601 passes through.
		if v, _ := d.Decode(1186, []byte(want)); v != want {
			t.Errorf("iso text %q decoded to %v", want, v)
		}
	}
}

func TestRegister(t *testing.T) {
	conn, url := mustConn(t)
	pgtest.MustExec(t, url, `
		create type mood as enum ('sad', 'ok', 'happy');
		create domain posint as int4 check (value > 0);
		create domain moods as mood[];
		create domain posints as posint[];
		create type pair as (a int, b text);`)
	d := NewDecoder()
	oidOf := func(name string) uint32 {
		var oid uint32
		if err := conn.QueryRow(context.Background(), "select $1::regtype::oid", name).Scan(&oid); err != nil {
			t.Fatal(err)
		}
		return oid
	}
	oids := []uint32{oidOf("posint"), oidOf("mood"), oidOf("moods"), oidOf("_mood"), oidOf("_posint"), oidOf("pair"), oidOf("posints")}
	// Query results report a domain's base type; pgoutput reports the
	// domain itself, so these decode with the named type's OID.
	decodeAs := func(typ, expr string) string {
		t.Helper()
		_, text := selectText(t, conn, expr)
		v, err := d.Decode(oidOf(typ), text)
		if err != nil {
			t.Fatalf("Decode %s: %v", expr, err)
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	if got := decodeAs("posint", "5::posint"); got != `"5"` {
		t.Fatalf("before Register: got %s, want the text as string", got)
	}
	if d.Known(oids[0]) {
		t.Fatal("posint known before Register")
	}
	if err := d.Register(context.Background(), conn, oids); err != nil {
		t.Fatal(err)
	}
	if !d.Known(oids[0]) || !d.Known(oids[5]) {
		t.Fatal("registered types not known")
	}
	tests := []struct{ typ, expr, want string }{
		{"posint", "5::posint", `5`},
		{"mood", "'happy'::mood", `"happy"`},
		{"_mood", "array['ok', null, 'sad']::mood[]", `["ok",null,"sad"]`},
		{"moods", "array['ok']::moods", `["ok"]`},
		{"_posint", "array[1, 2]::posint[]", `[1,2]`},
		{"posints", "array[3]::posints", `[3]`},
		{"pair", "row(1, 'x')::pair", `"(1,x)"`},
		{"posint", "null::posint", `null`},
	}
	for _, tc := range tests {
		if got := decodeAs(tc.typ, tc.expr); got != tc.want {
			t.Errorf("select %s as %s: got %s, want %s", tc.expr, tc.typ, got, tc.want)
		}
	}
}

// TestConcurrentDecode runs Decode from many goroutines while Register
// swaps the type table; run with -race.
func TestConcurrentDecode(t *testing.T) {
	conn, url := mustConn(t)
	pgtest.MustExec(t, url, `create domain d1 as int8`)
	var oid uint32
	if err := conn.QueryRow(context.Background(), "select 'd1'::regtype::oid").Scan(&oid); err != nil {
		t.Fatal(err)
	}
	d := NewDecoder()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 2000 {
				v, err := d.Decode(oid, []byte("7"))
				if err != nil || (v != "7" && v != int64(7)) {
					t.Errorf("Decode = %#v, %v", v, err)
					return
				}
			}
		})
	}
	if err := d.Register(context.Background(), conn, []uint32{oid}); err != nil {
		t.Error(err)
	}
	wg.Wait()
	if v, _ := d.Decode(oid, []byte("7")); v != int64(7) {
		t.Fatalf("after Register: %#v", v)
	}
}
