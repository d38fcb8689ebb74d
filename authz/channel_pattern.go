package authz

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// A custom channel pattern such as "chat:room:{roomId}" names channels
// ("chat:room:7"): its ':'-separated segments are literals, or {param}s
// that match one non-empty segment each.

// patternSeg is one ':'-separated segment of a pattern: a literal, or a
// {param} matching one non-empty segment.
type patternSeg struct {
	lit   string
	param string
}

var paramNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// parsePattern splits a pattern such as "chat:room:{roomId}".
func parsePattern(pattern string) ([]patternSeg, error) {
	if pattern == "" {
		return nil, errors.New("channel \"\": empty pattern")
	}
	var segs []patternSeg
	seen := map[string]bool{}
	for i, s := range strings.Split(pattern, ":") {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			name := s[1 : len(s)-1]
			if !paramNameRe.MatchString(name) {
				return nil, fmt.Errorf("channel %q: segment %d: parameter name %q is not an identifier", pattern, i+1, name)
			}
			if seen[name] {
				return nil, fmt.Errorf("channel %q: parameter %q appears twice", pattern, name)
			}
			seen[name] = true
			segs = append(segs, patternSeg{param: name})
			continue
		}
		if s == "" || strings.ContainsAny(s, "{}") {
			return nil, fmt.Errorf("channel %q: segment %d: want a non-empty literal or a whole {param}", pattern, i+1)
		}
		segs = append(segs, patternSeg{lit: s})
	}
	return segs, nil
}

// shape is the pattern with parameter names erased: two patterns of one
// shape match the same names.
func (r *ChannelRules) shape() string {
	parts := make([]string, len(r.segs))
	for i, s := range r.segs {
		parts[i] = s.lit
		if s.param != "" {
			parts[i] = "{}"
		}
	}
	return strings.Join(parts, ":")
}

// Match returns the channel whose pattern matches name, and the values of
// its parameters; nil when none does. When several patterns match, the
// most specific wins: the one with a literal segment where the others
// have a parameter, leftmost first (chat:lobby beats chat:{room}).
func (p *ChannelPolicy) Match(name string) (*ChannelRules, map[string]string) {
	if p == nil || name == "" {
		return nil, nil
	}
	parts := strings.Split(name, ":")
	var best *ChannelRules
	var bestParams map[string]string
	for _, r := range p.channels {
		params, ok := r.match(parts)
		if ok && (best == nil || r.moreSpecific(best)) {
			best, bestParams = r, params
		}
	}
	return best, bestParams
}

func (r *ChannelRules) match(parts []string) (map[string]string, bool) {
	if len(parts) != len(r.segs) {
		return nil, false
	}
	params := map[string]string{}
	for i, s := range r.segs {
		switch {
		case s.param != "":
			if parts[i] == "" {
				return nil, false
			}
			params[s.param] = parts[i]
		case parts[i] != s.lit:
			return nil, false
		}
	}
	return params, true
}

// moreSpecific reports whether r has a literal at the first segment where
// r and o differ in kind (both match the same name, so same length).
func (r *ChannelRules) moreSpecific(o *ChannelRules) bool {
	for i := range r.segs {
		rl, ol := r.segs[i].param == "", o.segs[i].param == ""
		if rl != ol {
			return rl
		}
	}
	return false
}

// Params returns the pattern's parameter names, in order.
func (r *ChannelRules) Params() []string {
	var out []string
	for _, s := range r.segs {
		if s.param != "" {
			out = append(out, s.param)
		}
	}
	return out
}
