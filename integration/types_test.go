package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"testing"

	"github.com/walrelay/walrelay/pgembed/pgtest"
)

const matrixSchema = `
create type mood as enum ('sad', 'happy');
create domain posint as integer check (value > 0);
create table matrix (
  id int primary key,
  i2 smallint, i4 integer, i8 bigint, big8 bigint,
  num numeric, numnan numeric, numbig numeric,
  f4 real, f8 double precision, f8inf double precision, f8nan double precision,
  b boolean, t text, vc varchar(10), ch char(4), u uuid, j json, jb jsonb,
  ai int[], at text[], a2 int[][],
  ts timestamp, tstz timestamptz, d date, tm time, iv interval,
  by bytea, m mood, ip inet, net cidr, dom posint,
  gen int generated always as (i4 * 2) stored
);
create table blobs (id int primary key, title text, payload text);
alter table blobs alter column payload set storage external;`

const matrixConfig = `
database:
  url: ${DATABASE_URL}
server:
  listen: "127.0.0.1:0"
auth:
  anonymous: true
models:
  Matrix:
    table: matrix
    subscribe: [list]
    permissions: {subscribe: public, read: public}
  Blob:
    table: blobs
    subscribe: [list]
    permissions: {subscribe: public, read: public}
`

// matrixRows are the inserted rows (SQL literals by column) and the JSON
// docs/types.md promises for each.
var matrixRows = []struct {
	sql  map[string]string
	want map[string]string
}{
	{
		sql: map[string]string{
			"i2": "7", "i4": "-42", "i8": "9007199254740991", "big8": "9007199254740993",
			"num": "12.50", "numnan": "'NaN'", "numbig": "123456789012345678901234567890.5",
			"f4": "0.1", "f8": "3.25", "f8inf": "'Infinity'", "f8nan": "'NaN'",
			"b": "true", "t": `'héllo "q" \ ok'`, "vc": "'abc'", "ch": "'ab'", "u": "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'",
			"j": `'{"b": 1, "a": [1, 2]}'`, "jb": `'{"b": 1, "a": [1, 2]}'`,
			"ai": "'{1,NULL,3}'", "at": `'{"a b",NULL,c}'`, "a2": "'{{1,2},{3,4}}'",
			"ts": "'2026-11-25 17:00:00.123'", "tstz": "'2026-11-25 19:00:00.5+02'", "d": "'2026-11-25'",
			"tm": "'17:00:00.123'", "iv": "'1 year 2 mons 3 days 04:05:06.5'",
			"by": `'\x00ff10'`, "m": "'happy'", "ip": "'192.168.0.1/24'", "net": "'10.0.0.0/8'", "dom": "5",
		},
		want: map[string]string{
			"i2": "7", "i4": "-42", "i8": "9007199254740991", "big8": `"9007199254740993"`,
			"num": "12.50", "numnan": `"NaN"`, "numbig": `"123456789012345678901234567890.5"`,
			"f4": "0.1", "f8": "3.25", "f8inf": `"Infinity"`, "f8nan": `"NaN"`,
			"b": "true", "t": `"héllo \"q\" \\ ok"`, "vc": `"abc"`, "ch": `"ab  "`, "u": `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`,
			"j": `{"b": 1, "a": [1, 2]}`, "jb": `{"a": [1, 2], "b": 1}`,
			"ai": "[1,null,3]", "at": `["a b",null,"c"]`, "a2": "[[1,2],[3,4]]",
			"ts": `"2026-11-25T17:00:00.123"`, "tstz": `"2026-11-25T17:00:00.5Z"`, "d": `"2026-11-25"`,
			"tm": `"17:00:00.123"`, "iv": `"P1Y2M3DT4H5M6.5S"`,
			"by": `"AP8Q"`, "m": `"happy"`, "ip": `"192.168.0.1/24"`, "net": `"10.0.0.0/8"`, "dom": "5", "gen": "-84",
		},
	},
	{
		sql: map[string]string{
			"i8": "-9007199254740993", "num": "1234567890123456", "f4": "'-Infinity'", "f8": "-0.5",
			"ts": "'infinity'", "tstz": "'-infinity'", "d": "'infinity'", "iv": "'-1 year -2 mons +3 days -04:00:00'",
			"at": "'{}'", "ch": "'abcd'", "jb": "'null'", "j": "'[]'", "b": "false", "numnan": "0", "tm": "'00:00:00'",
		},
		want: map[string]string{
			"i8": `"-9007199254740993"`, "num": `"1234567890123456"`, "f4": `"-Infinity"`, "f8": "-0.5",
			"ts": `"infinity"`, "tstz": `"-infinity"`, "d": `"infinity"`, "iv": `"P-1Y-2M3DT-4H"`,
			"at": "[]", "ch": `"abcd"`, "jb": "null", "j": "[]", "b": "false", "numnan": "0", "tm": `"00:00:00"`,
		},
	},
}

var matrixColumns = []string{"i2", "i4", "i8", "big8", "num", "numnan", "numbig", "f4", "f8", "f8inf", "f8nan",
	"b", "t", "vc", "ch", "u", "j", "jb", "ai", "at", "a2", "ts", "tstz", "d", "tm", "iv", "by", "m", "ip", "net", "dom", "gen"}

// jsonEqual compares two JSON texts as values (key order and spacing
// ignored, numbers compared by their exact text).
func jsonEqual(a, b []byte) bool {
	var va, vb any
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	if da.Decode(&va) != nil || db.Decode(&vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// One row per type value: the REST JSON, the WebSocket JSON and the
// documented expectation are all equal.
func TestTypeMatrix(t *testing.T) {
	url := pgtest.MustDatabase(t)
	pgtest.MustExec(t, url, matrixSchema)
	ts := startServerWith(t, url, matrixConfig)
	c := dial(t, ts.URL)
	c.subscribe("1", "Matrix:list", "")
	conn := db(t, url)
	for i, row := range matrixRows {
		cols, vals := "id", fmt.Sprint(i+1)
		for col, v := range row.sql {
			cols += ", " + col
			vals += ", " + v
		}
		exec(t, conn, fmt.Sprintf("insert into matrix (%s) values (%s)", cols, vals))
	}
	// Raw event frames: decode data as raw JSON per column.
	events := map[int]map[string]json.RawMessage{}
	for len(events) < len(matrixRows) {
		m := c.nextOf("event")
		id := int(num(m["id"]))
		events[id] = rawColumns(t, m)
	}
	for i, row := range matrixRows {
		id := i + 1
		req, err := http.NewRequest("GET", fmt.Sprintf("%s/api/matrix/%d", ts.URL, id), nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		checkAPI(t, req, res, body) // every type's JSON matches the OpenAPI document's schema
		var rest map[string]json.RawMessage
		if err := json.Unmarshal(body, &rest); err != nil {
			t.Fatalf("GET matrix/%d: %s", id, body)
		}
		for _, col := range matrixColumns {
			want := row.want[col]
			if want == "" {
				want = "null"
			}
			if !jsonEqual(rest[col], []byte(want)) {
				t.Errorf("row %d %s: REST %s, want %s", id, col, rest[col], want)
			}
			if !jsonEqual(events[id][col], []byte(want)) {
				t.Errorf("row %d %s: WebSocket %s, want %s", id, col, events[id][col], want)
			}
		}
	}
}

// rawColumns returns an event's data as raw JSON per column (the client
// decodes numbers as json.Number, so their exact text survives).
func rawColumns(t *testing.T, m msg) map[string]json.RawMessage {
	t.Helper()
	out := map[string]json.RawMessage{}
	for k, v := range m.obj("data") {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = b
	}
	return out
}

// An update that leaves a 1 MB TOASTed column unchanged still carries it:
// the event's data is the full row.
func TestToastedValueInUpdate(t *testing.T) {
	url := pgtest.MustDatabase(t)
	pgtest.MustExec(t, url, matrixSchema)
	conn := db(t, url)
	raw := make([]byte, 768<<10)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	payload := base64.StdEncoding.EncodeToString(raw) // 1 MiB of incompressible text
	exec(t, conn, "insert into blobs values (1, 'first', $1)", payload)
	ts := startServerWith(t, url, matrixConfig) // the insert predates the slot
	c := dial(t, ts.URL)
	c.subscribe("1", "Blob:list", "")
	exec(t, conn, "update blobs set title = 'second' where id = 1")
	ev := c.nextOf("event")
	if ev.str("event") != "updated" || ev.obj("data").str("title") != "second" {
		t.Fatalf("event = %.200v", ev)
	}
	if got := ev.obj("data").str("payload"); got != payload {
		t.Fatalf("payload in data: %d bytes, want the unchanged %d bytes", len(got), len(payload))
	}
	if got := ev.obj("old").str("payload"); got != payload {
		t.Fatalf("payload in old: %d bytes, want %d", len(got), len(payload))
	}
	var stored int
	if err := conn.QueryRow(context.Background(), "select pg_column_size(payload) from blobs where id = 1").Scan(&stored); err != nil || stored < 1<<20 {
		t.Fatalf("payload not stored out of line as expected: %d bytes, %v", stored, err)
	}
}
