package server

import (
	"errors"
	"fmt"
	"strings"

	"github.com/walrelay/walrelay"

	"github.com/walrelay/walrelay/authz"
	"github.com/walrelay/walrelay/config"
)

// atConfig prefixes each of err's joined errors with the config position
// it concerns: the line of the rule for an authz.RuleError, else the line
// of fallback (a YAML path such as "$.channels").
func atConfig(cfg *config.Config, err error, fallback string) error {
	var out []error
	for _, e := range leaves(err) {
		pos := cfg.Pos(fallback)
		var re *authz.RuleError
		if errors.As(e, &re) {
			if re.Channel != "" {
				pos = cfg.Pos("$.channels.'" + re.Channel + "'.permissions." + string(re.Action))
			} else {
				pos = cfg.Pos("$.models." + re.Model + ".permissions." + string(re.Action))
			}
		}
		out = append(out, fmt.Errorf("%s: %w", pos, e))
	}
	return errors.Join(out...)
}

// leaves flattens errors.Join trees.
func leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// ModelPos returns the config position of a problem err (from
// store.LoadModels) with model m: the line of its owner or of its hide list
// when err is about that column, else the line of its table.
func ModelPos(cfg *config.Config, m *walrelay.Model, err error) string {
	at := "$.models." + m.Name
	msg := err.Error()
	if m.Owner != "" && strings.Contains(msg, fmt.Sprintf("owner column %q", m.Owner)) {
		return cfg.Pos(at + ".owner")
	}
	for _, h := range m.Hide {
		if strings.Contains(msg, fmt.Sprintf("hidden column %q", h)) {
			return cfg.Pos(at + ".hide")
		}
	}
	return cfg.Pos(at + ".table")
}
