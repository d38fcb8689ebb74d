package authz

import "fmt"

// RuleError is a problem with one rule: the model (or custom channel
// pattern) and action it guards, and the position in the rule's text.
// Compile and CompileChannels return them (joined), so callers can point
// at the config line of the rule.
type RuleError struct {
	// Model is the model name; empty for a channel rule.
	Model string
	// Channel is the custom channel pattern; empty for a model rule.
	Channel string
	Action  Action
	// Line and Column are 1-based, within the rule's text.
	Line, Column int
	Msg          string
}

func (e *RuleError) Error() string {
	if e.Channel != "" {
		return fmt.Sprintf("channel %q: rule %q: %d:%d: %s", e.Channel, e.Action, e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("model %s: rule %q: %d:%d: %s", e.Model, e.Action, e.Line, e.Column, e.Msg)
}
