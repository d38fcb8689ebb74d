package ws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/filter"
	"github.com/walrelay/walrelay/hub"
)

// Supabase change types.
const (
	pgInsert = "INSERT"
	pgUpdate = "UPDATE"
	pgDelete = "DELETE"
	pgAll    = "*"
)

// pgBinding is one postgres_changes binding of a topic on one model. It is
// the Matcher of the binding's hub subscription (its filter), so that a
// delivery names the binding it is for. Immutable.
type pgBinding struct {
	id      int    // the binding's id in the join reply and in events' ids
	topic   string // "realtime:..."
	sub     string // the topic without its prefix
	joinRef json.RawMessage
	event   string // pgAll, pgInsert, pgUpdate or pgDelete
	model   *walrelay.Model
	filter  *filter.Filter // nil: every row
	// errored is the topic's: set once it was told to rejoin.
	errored *atomic.Bool
}

// Match implements hub.Matcher: the binding's filter.
func (b *pgBinding) Match(row walrelay.Row) bool { return b.filter == nil || b.filter.Match(row) }

// EqualityKey and ValueKey implement hub.KeyedMatcher with the binding's
// filter, so the hub indexes a binding with an eq filter by its value, as
// it does walrelay's own subscriptions.
func (b *pgBinding) EqualityKey() (col, key string, ok bool) { return b.filter.EqualityKey() }

// ValueKey implements hub.KeyedMatcher (see EqualityKey).
func (b *pgBinding) ValueKey(v any) (string, bool) { return b.filter.ValueKey(v) }

// wants reports whether the binding listens to changes of type typ.
func (b *pgBinding) wants(typ string) bool { return b.event == pgAll || b.event == typ }

// pgParams is one entry of config.postgres_changes.
type pgParams struct {
	Event  *string   `json:"event"`
	Schema *string   `json:"schema"`
	Table  *string   `json:"table"`
	Filter *string   `json:"filter"`
	Select *[]string `json:"select"`
}

// bindings resolves a join's postgres_changes entries. Each names a
// realtime model by schema and table (schema defaults to public; a table
// of "*" or none means every realtime model of the schema, a schema of
// "*" every schema, skipping the models the caller may not subscribe
// to), the change types (event: *, INSERT, UPDATE or DELETE) and
// optionally a filter. It returns one binding per entry and model, and
// the entries as the join reply echoes them, each with its id. A table
// that is not a realtime model, one the subscribe rule forbids, and a
// filter that does not parse are errors.
func (w *phoenixWire) bindings(t *phxTopic, entries []json.RawMessage) ([]*pgBinding, []map[string]json.RawMessage, error) {
	var binds []*pgBinding
	echo := make([]map[string]json.RawMessage, 0, len(entries))
	for i, raw := range entries {
		var p pgParams
		var fields map[string]json.RawMessage
		if json.Unmarshal(raw, &p) != nil || json.Unmarshal(raw, &fields) != nil || fields == nil {
			return nil, nil, fmt.Errorf("%w: postgres_changes[%d]: want an object {event, schema, table, filter}", walrelay.ErrBadRequest, i)
		}
		id := i + 1
		event, err := pgEvent(p.Event)
		if err != nil {
			return nil, nil, fmt.Errorf("postgres_changes[%d]: %w", i, err)
		}
		if p.Select != nil {
			return nil, nil, fmt.Errorf("%w: postgres_changes[%d]: select is not supported; every visible column is sent", walrelay.ErrBadRequest, i)
		}
		models, err := w.bindingModels(p)
		if err != nil {
			return nil, nil, fmt.Errorf("postgres_changes[%d]: %w", i, err)
		}
		for _, m := range models {
			b := &pgBinding{id: id, topic: t.name, sub: t.sub, joinRef: t.joinRef, event: event, model: m, errored: t.errored}
			if p.Filter != nil && strings.TrimSpace(*p.Filter) != "" {
				if b.filter, err = parseSupabaseFilter(m, *p.Filter); err != nil {
					return nil, nil, fmt.Errorf("postgres_changes[%d]: %w", i, err)
				}
			}
			binds = append(binds, b)
		}
		fields["id"] = json.RawMessage(strconv.Itoa(id))
		echo = append(echo, fields)
	}
	return binds, echo, nil
}

// pgEvent normalizes a binding's event; absent is *.
func pgEvent(e *string) (string, error) {
	if e == nil {
		return pgAll, nil
	}
	switch v := strings.ToUpper(*e); v {
	case pgAll, pgInsert, pgUpdate, pgDelete:
		return v, nil
	}
	return "", fmt.Errorf("%w: event %q: want *, INSERT, UPDATE or DELETE", walrelay.ErrBadRequest, *e)
}

// bindingModels returns the models a binding names (see bindings).
func (w *phoenixWire) bindingModels(p pgParams) ([]*walrelay.Model, error) {
	schema := "public"
	if p.Schema != nil {
		schema = *p.Schema
	}
	table := "*"
	if p.Table != nil {
		table = *p.Table
	}
	if table != "*" && schema != "*" {
		m := w.c.s.schema.ByTable(schema, table)
		if m == nil || !m.Realtime() {
			return nil, fmt.Errorf("%w: table %s.%s is not a realtime model", walrelay.ErrNotFound, schema, table)
		}
		if err := m.Available(); err != nil {
			return nil, err // stopped: its table no longer matches the config
		}
		if !m.AllowsKind(walrelay.KindList) {
			return nil, fmt.Errorf("%w: model %s does not allow list subscriptions", walrelay.ErrForbidden, m.Name)
		}
		if !w.callerAllows(m) {
			return nil, fmt.Errorf("%w: not allowed to subscribe to %s.%s", walrelay.ErrForbidden, schema, table)
		}
		return []*walrelay.Model{m}, nil
	}
	if p.Filter != nil && strings.TrimSpace(*p.Filter) != "" {
		return nil, fmt.Errorf("%w: a filter needs a schema and a table", walrelay.ErrBadRequest)
	}
	var out []*walrelay.Model
	for _, m := range w.c.s.schema.Realtime() {
		if (schema == "*" || m.Schema == schema) && (table == "*" || m.Table == table) &&
			m.AllowsKind(walrelay.KindList) && w.callerAllows(m) {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no realtime model in schema %q that this client may subscribe to", walrelay.ErrNotFound, schema)
	}
	return out, nil
}

// parseSupabaseFilter parses a postgres_changes filter: conditions
// "col=[not.]op.value" joined by commas (AND), a value in double quotes
// when it holds a comma or parenthesis. They are walrelay filters
// (docs/filters.md), checked against the model's visible columns and
// types exactly as a subscription filter on /ws.
func parseSupabaseFilter(m *walrelay.Model, s string) (*filter.Filter, error) {
	q := url.Values{}
	for _, seg := range splitTopLevel(strings.TrimSpace(s)) {
		seg = strings.TrimSpace(seg)
		col, expr, ok := strings.Cut(seg, "=")
		if seg == "" || !ok || col == "" {
			return nil, fmt.Errorf("%w: %q: want column=operator.value", walrelay.ErrInvalidFilter, seg)
		}
		neg, rest := "", expr
		if r, ok := strings.CutPrefix(rest, "not."); ok {
			neg, rest = "not.", r
		}
		op, val, _ := strings.Cut(rest, ".")
		if op != "in" {
			val = unquote(val)
		}
		q.Add(col, neg+op+"."+val)
	}
	return filter.Parse(m, q)
}

// splitTopLevel splits s on the commas outside double quotes and
// parentheses.
func splitTopLevel(s string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case quoted && ch == '\\':
			i++
		case ch == '"':
			quoted = !quoted
		case quoted:
		case ch == '(':
			depth++
		case ch == ')' && depth > 0:
			depth--
		case ch == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unquote removes the double quotes around a whole value, with backslash
// escapes; anything else is returned as is.
func unquote(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	var b strings.Builder
	for i := 1; i < len(v)-1; i++ {
		if v[i] == '\\' && i+1 < len(v)-1 {
			i++
		} else if v[i] == '"' {
			return v
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// changeType returns the Supabase type of a row event as a :list
// subscription sees it, or "" for none. The type is what happened to the
// row in the database; the hub has already judged the subscriber's view
// (read rule and filter, on the old row for deletes):
//
//   - created: INSERT; deleted: DELETE;
//   - updated in view before and after: UPDATE;
//   - an update that brings the row into view: UPDATE, whose old_record
//     holds only the primary key (the old row was not the subscriber's
//     to see);
//   - an update that takes the row out of view: nothing, as Supabase
//     sends nothing for an update its filter or policy does not match
//     (the new row is not the subscriber's to see);
//   - truncates: nothing (Supabase does not send them).
func changeType(m *hub.Message) string {
	ev := m.Event
	if ev == nil {
		return ""
	}
	switch ev.Op {
	case walrelay.OpCreated:
		return pgInsert
	case walrelay.OpDeleted:
		return pgDelete
	case walrelay.OpUpdated:
		if m.Op == walrelay.OpDeleted {
			return ""
		}
		return pgUpdate
	}
	return ""
}

// pgColumn is one entry of a change's columns.
type pgColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// pgChange is the data of a postgres_changes event, as Supabase sends it.
type pgChange struct {
	Schema          string       `json:"schema"`
	Table           string       `json:"table"`
	CommitTimestamp string       `json:"commit_timestamp"`
	Type            string       `json:"type"`
	Columns         []pgColumn   `json:"columns"`
	Record          walrelay.Row `json:"record,omitempty"`
	OldRecord       walrelay.Row `json:"old_record,omitempty"`
	Errors          []string     `json:"errors"`
}

// encodeChange encodes a row event's data (shared by every binding and
// connection it goes to): record is the new row for INSERT and UPDATE,
// old_record the old row for UPDATE and DELETE, both in walrelay's JSON
// types (docs/types.md) without hidden columns; columns names the visible
// columns and their types (see pgColumns).
func encodeChange(m *hub.Message) ([]byte, error) {
	ev := m.Event
	typ := changeType(m)
	if typ == "" {
		return nil, fmt.Errorf("encode change on %s: %s is not sent", m.Channel, m.Op)
	}
	out := pgChange{
		Schema: ev.Model.Schema, Table: ev.Model.Table, Type: typ,
		CommitTimestamp: ev.CommitTime.UTC().Format(commitTSLayout),
	}
	if typ != pgDelete {
		out.Record = visibleRow(ev.Model, ev.New)
	}
	switch {
	case typ == pgDelete || typ == pgUpdate && m.Op == walrelay.OpUpdated:
		out.OldRecord = visibleRow(ev.Model, ev.Old)
	case typ == pgUpdate: // came into view
		pk := ev.Model.PrimaryKey
		out.OldRecord = walrelay.Row{pk: ev.New[pk]}
	}
	out.Columns = pgColumns(ev.Model, out.Record, out.OldRecord)
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode change on %s: %w", m.Channel, err)
	}
	return b, nil
}

// changesPayload is a postgres_changes push's payload: the ids of the
// bindings the change matched, and its data.
func changesPayload(ids []int, data []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(data) + 24)
	b.WriteString(`{"ids":[`)
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(id))
	}
	b.WriteString(`],"data":`)
	b.Write(data)
	b.WriteByte('}')
	return b.Bytes()
}

// pgColumns lists a model's visible columns with their Postgres type
// names. realtime-js converts a record's string values by these types
// (parseFloat for int8 and numeric, JSON.parse for json and jsonb). The
// values walrelay sends are already typed, and a string in such a column
// is one that would not survive that conversion (an int8 beyond 2^53, a
// numeric with more digits than a double, a JSON string): a column holding
// one is left out of the list for that event, so it arrives exact.
func pgColumns(m *walrelay.Model, rows ...walrelay.Row) []pgColumn {
	out := make([]pgColumn, 0, len(m.Columns))
	for _, col := range m.Columns {
		if m.Hidden(col.Name) {
			continue
		}
		name := pgTypeName(col)
		if convertedType[strings.TrimPrefix(name, "_")] && holdsString(col.Name, rows) {
			continue
		}
		out = append(out, pgColumn{Name: col.Name, Type: name})
	}
	return out
}

// convertedType are the types whose string values realtime-js converts.
var convertedType = map[string]bool{
	"bool": true, "int2": true, "int4": true, "int8": true, "float4": true, "float8": true,
	"numeric": true, "oid": true, "json": true, "jsonb": true, "timestamp": true,
}

// holdsString reports whether a row's value of column name is a string.
func holdsString(name string, rows []walrelay.Row) bool {
	for _, r := range rows {
		if _, ok := r[name].(string); ok {
			return true
		}
	}
	return false
}

// pgTypeNames are the pg_type names of common types, by OID.
var pgTypeNames = map[uint32]string{
	16: "bool", 17: "bytea", 18: "char", 19: "name", 20: "int8", 21: "int2", 23: "int4", 25: "text",
	26: "oid", 114: "json", 142: "xml", 650: "cidr", 700: "float4", 701: "float8", 790: "money",
	829: "macaddr", 869: "inet", 1042: "bpchar", 1043: "varchar", 1082: "date", 1083: "time",
	1114: "timestamp", 1184: "timestamptz", 1186: "interval", 1266: "timetz", 1700: "numeric",
	2950: "uuid", 3802: "jsonb",
	1000: "_bool", 1001: "_bytea", 1005: "_int2", 1007: "_int4", 1009: "_text", 1015: "_varchar",
	1016: "_int8", 1021: "_float4", 1022: "_float8", 1115: "_timestamp", 1182: "_date",
	1185: "_timestamptz", 1231: "_numeric", 199: "_json", 2951: "_uuid", 3807: "_jsonb",
}

// pgTypeName is a column's type as pg_type names it, for the common types;
// others (enums, domains, extension types) by their SQL name.
func pgTypeName(c walrelay.Column) string {
	if n, ok := pgTypeNames[c.TypeOID]; ok {
		return n
	}
	return c.Type
}
