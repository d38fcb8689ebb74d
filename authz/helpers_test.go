package authz

import (
	"math/rand/v2"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/walrelay/walrelay"
)

// testColumns is the table the rule tests use; testDDL creates it.
var testColumns = []walrelay.Column{
	{Name: "id", TypeOID: pgtype.Int8OID, Type: "bigint", NotNull: true},
	{Name: "room_id", TypeOID: pgtype.Int4OID, Type: "integer"},
	{Name: "author_id", TypeOID: pgtype.TextOID, Type: "text"},
	{Name: "body", TypeOID: pgtype.TextOID, Type: "text", NotNull: true},
	{Name: "score", TypeOID: pgtype.Float8OID, Type: "double precision"},
	{Name: "published", TypeOID: pgtype.BoolOID, Type: "boolean"},
	{Name: "created_at", TypeOID: pgtype.TimestamptzOID, Type: "timestamp with time zone"},
	{Name: "uid", TypeOID: pgtype.UUIDOID, Type: "uuid"},
	{Name: "tags", TypeOID: pgtype.TextArrayOID, Type: "text[]"},
	{Name: "meta", TypeOID: pgtype.JSONBOID, Type: "jsonb"},
}

const testDDL = `CREATE TABLE messages (
	id bigint PRIMARY KEY, room_id integer, author_id text, body text NOT NULL,
	score double precision, published boolean, created_at timestamptz, uid uuid,
	tags text[], meta jsonb)`

// testModel returns a Message model with the given rules.
func testModel(owner string, perms map[string]string) *walrelay.Model {
	return &walrelay.Model{
		Name: "Message", Schema: "public", Table: "messages", Path: "messages",
		Owner: owner, Permissions: perms, Hide: []string{"meta"},
		Columns: testColumns, PrimaryKey: "id",
	}
}

// mustPolicy compiles the rules of one model.
func mustPolicy(tb testing.TB, m *walrelay.Model) *Policy {
	tb.Helper()
	p, err := Compile(walrelay.NewSchema([]*walrelay.Model{m}))
	if err != nil {
		tb.Fatalf("compile: %v", err)
	}
	return p
}

var seed uint64

// randSource returns a deterministic, per-call different random source.
func randSource() *rand.Rand {
	seed++
	return rand.New(rand.NewPCG(seed, 42))
}

type walrelayModel = walrelay.Model

func schemaOf(m *walrelay.Model) *walrelay.Schema { return walrelay.NewSchema([]*walrelay.Model{m}) }
