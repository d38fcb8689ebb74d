package authz

import "github.com/walrelay/walrelay"

// Strip returns row without m's hidden columns. It returns row itself when
// m hides nothing or row holds no hidden column, else a copy; row is never
// modified.
func Strip(m *walrelay.Model, row walrelay.Row) walrelay.Row {
	if row == nil || len(m.Hide) == 0 {
		return row
	}
	found := false
	for _, h := range m.Hide {
		if _, ok := row[h]; ok {
			found = true
			break
		}
	}
	if !found {
		return row
	}
	out := make(walrelay.Row, len(row))
	for k, v := range row {
		if !m.Hidden(k) {
			out[k] = v
		}
	}
	return out
}
