package cdc

import (
	"slices"

	"github.com/jackc/pglogrepl"

	"github.com/walrelay/walrelay"
)

// relation caches a Relation message and decides which model version the
// relation's changes are decoded with (see relation). It logs when a
// model stops or resumes on the stream, and calls the SchemaChanged hook
// when the table's name or columns differ from what was known.
func (d *txnDecoder) relation(m *pglogrepl.RelationMessage) {
	prev := d.rels[m.RelationID]
	rel := &relation{name: m.Namespace + "." + m.RelationName, cols: m.Columns}
	cols := relColumns(rel)
	switch cur := d.schema.ByTable(m.Namespace, m.RelationName); {
	case cur != nil:
		rel.model = fit(cur, cols)
	case prev != nil && prev.model != nil:
		// A model's table renamed: same relation, another name.
		mm := &walrelay.Mismatch{Model: prev.model.Name}
		mm.Add(prev.model.Source, "table %s was renamed to %s", prev.name, rel.name)
		rel.model = withAvailability(prev.model, mm)
	}
	d.rels[m.RelationID] = rel
	if rel.model == nil {
		return
	}

	var known []walrelay.Column
	switch {
	case prev != nil:
		known = relColumns(prev)
	default:
		known = rel.model.Columns
	}
	renamed := prev != nil && prev.name != rel.name
	if d.changed != nil && (renamed || !sameColumns(known, cols)) {
		d.changed()
	}
	wasStopped := prev != nil && prev.model != nil && prev.model.Unavailable != nil
	switch now := rel.model.Unavailable; {
	case now != nil && (!wasStopped || !now.Equal(prev.model.Unavailable)):
		d.log.Error("cdc: the table no longer fits the config; its changes are not sent until it does, and subscribers are told to resync",
			"model", rel.model.Name, "err", now)
	case now == nil && wasStopped:
		d.log.Info("cdc: the table fits the config again; its changes are sent", "model", rel.model.Name)
	}
}

// fit returns the version of model cur that changes with columns cols are
// decoded with: cur itself when cols have every pinned column and cur is
// available; else a copy, available or stopped as cols say.
func fit(cur *walrelay.Model, cols []walrelay.Column) *walrelay.Model {
	mm := cur.CheckPins(cols, nil)
	if mm == nil && cur.Unavailable == nil {
		return cur
	}
	return withAvailability(cur, mm)
}

// withAvailability returns a copy of m with Unavailable set to mm.
func withAvailability(m *walrelay.Model, mm *walrelay.Mismatch) *walrelay.Model {
	v := *m
	v.Unavailable = mm
	return &v
}

// relColumns returns a relation's columns by name and type.
func relColumns(r *relation) []walrelay.Column {
	cols := make([]walrelay.Column, len(r.cols))
	for i, c := range r.cols {
		cols[i] = walrelay.Column{Name: c.Name, TypeOID: c.DataType}
	}
	return cols
}

// sameColumns compares two column lists by name and type, in order.
func sameColumns(a, b []walrelay.Column) bool {
	return slices.EqualFunc(a, b, func(x, y walrelay.Column) bool { return x.Name == y.Name && x.TypeOID == y.TypeOID })
}
