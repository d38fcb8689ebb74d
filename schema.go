package walrelay

import (
	"sync"
	"sync/atomic"
)

// Schema is the set of configured models, indexed for lookup. The set of
// models never changes, but each model may be replaced by a new version of
// itself when its table changes (Replace). Lookups return the current
// version; all methods are safe for concurrent use.
type Schema struct {
	mu  sync.Mutex // serializes Replace
	cur atomic.Pointer[schemaIndex]
}

// schemaIndex is one immutable state of a Schema.
type schemaIndex struct {
	models []*Model
	byName map[string]*Model
	byPath map[string]*Model
	byTbl  map[string]*Model
}

func newIndex(models []*Model) *schemaIndex {
	x := &schemaIndex{models: models, byName: map[string]*Model{}, byPath: map[string]*Model{}, byTbl: map[string]*Model{}}
	for _, m := range models {
		x.byName[m.Name] = m
		x.byPath[m.Path] = m
		x.byTbl[m.QualifiedTable()] = m
	}
	return x
}

// NewSchema indexes models by name, REST path and qualified table.
func NewSchema(models []*Model) *Schema {
	s := &Schema{}
	s.cur.Store(newIndex(append([]*Model(nil), models...)))
	return s
}

// Models returns the current version of every model, in config order. The
// slice must not be modified.
func (s *Schema) Models() []*Model { return s.cur.Load().models }

// ByName returns the current version of the model named name, or nil.
func (s *Schema) ByName(name string) *Model { return s.cur.Load().byName[name] }

// ByPath returns the current version of the model served at /api/{path},
// or nil.
func (s *Schema) ByPath(path string) *Model { return s.cur.Load().byPath[path] }

// ByTable returns the current version of the model of table schema.table,
// or nil.
func (s *Schema) ByTable(schema, table string) *Model { return s.cur.Load().byTbl[schema+"."+table] }

// Realtime returns the current versions of the models that produce live
// events, in config order.
func (s *Schema) Realtime() []*Model {
	var out []*Model
	for _, m := range s.Models() {
		if m.Realtime() {
			out = append(out, m)
		}
	}
	return out
}

// Replace makes m the current version of the model with m's Name, and
// returns the version it replaces. m must have the same Name, Path and
// table as that model (only its columns, primary key and availability may
// differ); Replace reports false and changes nothing otherwise, or when no
// model has that name.
func (s *Schema) Replace(m *Model) (old *Model, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.cur.Load()
	old = x.byName[m.Name]
	if old == nil || old.Path != m.Path || old.QualifiedTable() != m.QualifiedTable() {
		return old, false
	}
	models := make([]*Model, len(x.models))
	for i, v := range x.models {
		if v.Name == m.Name {
			v = m
		}
		models[i] = v
	}
	s.cur.Store(newIndex(models))
	return old, true
}
