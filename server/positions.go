package server

import (
	"errors"
	"fmt"

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
