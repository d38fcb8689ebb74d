package schemawatch

import (
	"slices"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/authz"
)

// Positions returns the config position ("walrelay.yaml:14") of a YAML
// path such as "$.models.Message.hide"; *config.Config's Pos is one.
type Positions func(path string) string

// Pin sets each model's Source and Pins from its resolved columns (call it
// at startup, after store.LoadModels and authz.Compile, before the models
// are shared): the primary key, the owner column, the hidden columns and
// every column a rule reads, each with the config line that names it.
func Pin(models []*walrelay.Model, policy *authz.Policy, pos Positions) {
	for _, m := range models {
		at := "$.models." + m.Name
		m.Source = pos(at + ".table")
		var pins []walrelay.Pin
		add := func(col, use, source string) {
			c := m.Column(col)
			if c == nil || slices.ContainsFunc(pins, func(p walrelay.Pin) bool { return p.Column == col && p.Use == use }) {
				return
			}
			pins = append(pins, walrelay.Pin{Column: col, TypeOID: c.TypeOID, Type: c.Type, Use: use, Source: source})
		}
		add(m.PrimaryKey, "primary key", m.Source)
		if m.Owner != "" {
			add(m.Owner, "owner", pos(at+".owner"))
		}
		for _, h := range m.Hide {
			add(h, "hide", pos(at+".hide"))
		}
		for _, a := range authz.Actions {
			rule := policy.Rule(m, a)
			for _, col := range rule.Columns() {
				add(col, string(a)+" rule", pos(at+".permissions."+string(a)))
			}
		}
		m.Pins = pins
	}
}
