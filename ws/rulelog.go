package ws

import (
	"log/slog"
	"sync"
	"time"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/authz"
	"github.com/walrelay/walrelay/hub"
)

// ruleLogInterval is the least time between two log lines about the same
// model's failing rule.
const ruleLogInterval = time.Minute

// noKey is the index key of a row whose index column is missing: no
// subscriber's key equals it (authz.Rule.SubscriberKey never returns it),
// so the row reaches only subscribers who read every row.
const noKey = "\x00missing"

// ruleLog logs read rules that fail to evaluate on an event's row (e.g. a
// column they read was dropped while streaming), at most one line per
// model and rule per ruleLogInterval, counting the failures in between.
// The event is denied either way (fail closed). Safe for concurrent use.
type ruleLog struct {
	logger *slog.Logger
	now    func() time.Time
	mu     sync.Mutex
	last   map[string]time.Time // by model + rule text
	missed map[string]int       // failures not logged since last
}

func newRuleLog(logger *slog.Logger) *ruleLog {
	return &ruleLog{logger: logger, now: time.Now, last: map[string]time.Time{}, missed: map[string]int{}}
}

// report logs err for m's read rule, unless it was logged less than
// ruleLogInterval ago.
func (l *ruleLog) report(m *walrelay.Model, rule *authz.Rule, err error) {
	key := m.Name + "\x00" + rule.Source()
	now := l.now()
	l.mu.Lock()
	if t, ok := l.last[key]; ok && now.Sub(t) < ruleLogInterval {
		l.missed[key]++
		l.mu.Unlock()
		return
	}
	l.last[key] = now
	missed := l.missed[key]
	delete(l.missed, key)
	l.mu.Unlock()
	l.logger.Error("read rule failed on an event's row; event denied", "model", m.Name, "rule", rule.Source(),
		"err", err, "suppressed", missed)
}

// allowFunc returns the per-row read check of a subscriber with claims
// under rule: the rule's result, false (and a rate-limited log line) when
// it cannot be evaluated.
func (s *Server) allowFunc(m *walrelay.Model, rule *authz.Rule, claims authz.Claims) func(walrelay.Row) bool {
	return func(row walrelay.Row) bool {
		ok, err := rule.Check(claims, row)
		if err != nil {
			s.ruleLog.report(m, rule, err)
			return false
		}
		return ok
	}
}

// rowKeyFunc returns m's index key function for an indexable read rule: a
// row missing the index column yields noKey (nothing delivered but to
// subscribers who read every row) and a rate-limited log line.
func (s *Server) rowKeyFunc(m *walrelay.Model, rule *authz.Rule) hub.RowKeyFunc {
	col, _ := rule.Index()
	return func(row walrelay.Row) string {
		if _, ok := row[col]; !ok {
			s.ruleLog.report(m, rule, errMissingColumn{model: m.Name, column: col})
			return noKey
		}
		return rule.RowKey(row)
	}
}

// errMissingColumn is the index column missing from an event's row.
type errMissingColumn struct{ model, column string }

func (e errMissingColumn) Error() string {
	return "model " + e.model + ": read rule index column \"" + e.column + "\" is missing from the row"
}
