package store

import (
	"regexp"

	"github.com/walrelay/walrelay"
)

var typmodRe = regexp.MustCompile(`\([0-9]+(, ?[0-9]+)?\)`)

// baseType returns the type client values are cast to for col: the
// column's type without its modifier, so that an explicit cast never
// truncates or rounds silently (varchar(5), char(4) and numeric(10,2)
// operands are cast to text and numeric, and the assignment to the column
// then checks length and precision, failing loudly). Comparisons with a
// primary key use it too, so a too-long id matches nothing.
func baseType(col *walrelay.Column) string {
	switch col.TypeOID {
	case 1042, 1043: // bpchar, varchar
		return "text"
	case 1014, 1015: // their arrays
		return "text[]"
	case 1560: // bit(n): a bare "bit" would mean bit(1)
		return col.Type
	}
	return typmodRe.ReplaceAllString(col.Type, "")
}
