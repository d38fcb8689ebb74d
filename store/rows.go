package store

import (
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay"
)

// textFormat asks for every result column in text format, the form pgjson
// decodes (and the form pgoutput carries).
var textFormat = pgx.QueryResultFormats{pgx.TextFormatCode}

// selectList returns the quoted visible columns of m, in attribute order.
func selectList(m *walrelay.Model) (list string, names []string) {
	for _, c := range m.Columns {
		if m.Hidden(c.Name) {
			continue
		}
		if list != "" {
			list += ", "
		}
		list += quoteIdent(c.Name)
		names = append(names, c.Name)
	}
	return list, names
}

func quoteIdent(name string) string { return pgx.Identifier{name}.Sanitize() }

func tableIdent(m *walrelay.Model) string { return pgx.Identifier{m.Schema, m.Table}.Sanitize() }

// decodeRow decodes the first n raw text values of the current row. A
// value the decoder rejects is kept as its text.
func (s *Store) decodeRow(rows pgx.Rows, n int) walrelay.Row {
	fds := rows.FieldDescriptions()
	raw := rows.RawValues()
	row := make(walrelay.Row, n)
	for i := 0; i < n; i++ {
		v, err := s.dec.Decode(fds[i].DataTypeOID, raw[i])
		if err != nil {
			v = string(raw[i])
		}
		row[fds[i].Name] = v
	}
	return row
}

// collect reads all rows of a text-format query whose first n columns are
// the row's columns.
func (s *Store) collect(rows pgx.Rows, n int) ([]walrelay.Row, error) {
	defer rows.Close()
	var out []walrelay.Row
	for rows.Next() {
		out = append(out, s.decodeRow(rows, n))
	}
	return out, rows.Err()
}

// fullList returns every column of m, hidden ones included, quoted, in
// attribute order: what rules see. Rows read with it must go through
// stripHidden before they leave the store.
func fullList(m *walrelay.Model) string {
	parts := make([]string, len(m.Columns))
	for i, c := range m.Columns {
		parts[i] = quoteIdent(c.Name)
	}
	return strings.Join(parts, ", ")
}

// stripHidden removes m's hidden columns from row, in place, and returns
// it.
func stripHidden(m *walrelay.Model, row walrelay.Row) walrelay.Row {
	for _, h := range m.Hide {
		delete(row, h)
	}
	return row
}
