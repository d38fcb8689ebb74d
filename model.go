package walrelay

import "slices"

// Model is one table exposed by walrelay, as configured in walrelay.yaml and
// resolved against the live database. A Model is immutable once shared and
// may be used by all goroutines; when the table changes (ALTER TABLE) the
// Schema holds a new version of it with the same Name (see Schema.Replace),
// and whoever holds an older version keeps a consistent one.
type Model struct {
	// Name is the model name used in channels and by the SDK, e.g. "Message".
	Name string
	// Schema and Table name the Postgres table, e.g. "public", "messages".
	Schema string
	Table  string
	// Path is the REST path segment: /api/{Path}.
	Path string
	// Subscribe lists the channel kinds clients may subscribe to.
	Subscribe []ChannelKind
	// Broadcast lists the change events emitted (created, updated, deleted).
	Broadcast []Op
	// Owner is the column compared with auth.sub by the isOwner shorthand.
	Owner string
	// Permissions holds the raw rule text per action (subscribe, read,
	// create, update, delete), compiled by authz.
	Permissions map[string]string
	// Hide lists columns never sent to clients.
	Hide []string

	// Columns are the table's columns in attribute order, from the catalog.
	Columns []Column
	// PrimaryKey is the name of the single primary key column.
	PrimaryKey string

	// Source is the config position of the model's table setting
	// ("walrelay.yaml:12"), for messages; may be empty.
	Source string
	// Pins are the columns the config depends on (primary key, owner,
	// hide, and the columns the rules read), as resolved at startup. A
	// version of the table that lacks one of them by name and type stops
	// the model (see CheckPins).
	Pins []Pin
	// Unavailable is set on a version whose table no longer matches the
	// config: the model is stopped, REST answers 503 and no event of it is
	// sent. Nil on a working model.
	Unavailable *Mismatch
}

// Column is one column of a model's table, read from the catalog.
type Column struct {
	Name string
	// TypeOID is the column's type OID; for domains, the domain's OID.
	TypeOID uint32
	// Type is the SQL type as format_type prints it, e.g. "timestamp with
	// time zone"; safe to splice into SQL since it comes from the catalog.
	Type string
	// NotNull, HasDefault and Generated describe the column's constraints.
	NotNull    bool
	HasDefault bool
	Generated  bool
}

// QualifiedTable returns the table as schema.table, unquoted.
func (m *Model) QualifiedTable() string { return m.Schema + "." + m.Table }

// Realtime reports whether the model produces live events, that is whether
// clients may subscribe to it and it broadcasts at least one event kind.
func (m *Model) Realtime() bool { return len(m.Subscribe) > 0 && len(m.Broadcast) > 0 }

// Column returns the named column, or nil when the table has none.
func (m *Model) Column(name string) *Column {
	for i := range m.Columns {
		if m.Columns[i].Name == name {
			return &m.Columns[i]
		}
	}
	return nil
}

// Hidden reports whether column name must never leave the server.
func (m *Model) Hidden(name string) bool { return slices.Contains(m.Hide, name) }

// Visible returns the column unless it is missing or hidden: the test every
// client-supplied column name (filters, order, JSON keys) goes through.
func (m *Model) Visible(name string) *Column {
	if m.Hidden(name) {
		return nil
	}
	return m.Column(name)
}

// AllowsKind reports whether clients may subscribe to channels of kind k.
// The created, updated and deleted kinds are allowed by "list" or "item"
// as well as by their own name.
func (m *Model) AllowsKind(k ChannelKind) bool {
	if slices.Contains(m.Subscribe, k) {
		return true
	}
	switch k {
	case KindCreated:
		return slices.Contains(m.Subscribe, KindList)
	case KindUpdated, KindDeleted:
		return slices.Contains(m.Subscribe, KindItem) || slices.Contains(m.Subscribe, KindList)
	}
	return false
}

// Broadcasts reports whether the model emits events of op.
func (m *Model) Broadcasts(op Op) bool { return slices.Contains(m.Broadcast, op) }
