package scaffold

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Model is the suggestion for one table.
type Model struct {
	Table Table
	// Name is the model name (PascalCase, singular: room_members ->
	// RoomMember); Path the REST path (the table name, schema-prefixed
	// outside public).
	Name, Path string
	// Skip, when not empty, says why the table cannot be a model; such a
	// table is only mentioned in a comment.
	Skip string
	// Owner is the owner-like column isOwner compares with auth.sub, or "".
	// OwnerNote explains an owner-like column that was not used.
	Owner, OwnerNote string
	// Live says why the table looks live ("" when it does not).
	Live string
	// Hide lists columns whose names look secret.
	Hide []string
	// Selected and Realtime are the choices: a model at all, and with
	// live updates (subscribe: [list, item]).
	Selected, Realtime bool
}

// ownerColumns are the owner-like column names, most specific first.
var ownerColumns = []string{"owner_id", "author_id", "user_id", "owner", "created_by"}

// liveWords make a table look live when its name contains one.
var liveWords = []string{"message", "chat", "notification", "event", "comment"}

// secretRe matches column names that should never leave the server.
var secretRe = regexp.MustCompile(`(?i)(password|passwd|secret|token|api_?key|salt|ip_address)`)

// ownerTypes are the column types isOwner can match: auth.sub is a string,
// which an integer owner column compares as the integer it spells.
var ownerTypes = []string{"text", "uuid", "name", "citext", "smallint", "integer", "bigint"}

// Suggest makes one suggestion per table, every usable table selected and
// the live-looking ones realtime.
func Suggest(tables []Table) []*Model {
	var out []*Model
	names := map[string]int{}
	for _, t := range tables {
		m := &Model{Table: t, Path: t.Name}
		if t.Schema != "public" {
			m.Path = t.Schema + "_" + t.Name
		}
		m.Name = modelName(t)
		if n := names[m.Name]; n > 0 {
			names[m.Name]++
			m.Name = fmt.Sprintf("%s%d", m.Name, n+1)
		} else {
			names[m.Name] = 1
		}
		switch {
		case len(t.PrimaryKey) == 0:
			m.Skip = "it has no primary key"
		case len(t.PrimaryKey) > 1:
			m.Skip = fmt.Sprintf("its primary key has %d columns (%s); walrelay needs a single-column key", len(t.PrimaryKey), strings.Join(t.PrimaryKey, ", "))
		case !plainIdent(t.Schema) || !plainIdent(t.Name):
			m.Skip = "its name is not a plain identifier"
		case !pathRe.MatchString(m.Path):
			m.Skip = "its name cannot be a REST path"
		}
		for _, c := range ownerColumns {
			col := t.Column(c)
			if col == nil {
				continue
			}
			if !slices.Contains(ownerTypes, col.Type) && !strings.HasPrefix(col.Type, "character varying") {
				m.OwnerNote = fmt.Sprintf("%s is %s, and isOwner compares it with the token's sub, a string or an integer", c, col.Type)
				continue
			}
			m.Owner = c
			break
		}
		m.Live = liveReason(t)
		for _, c := range t.Columns {
			if secretRe.MatchString(c.Name) && plainIdent(c.Name) && !slices.Contains(t.PrimaryKey, c.Name) {
				m.Hide = append(m.Hide, c.Name)
			}
		}
		m.Selected = m.Skip == ""
		m.Realtime = m.Selected && m.Live != ""
		out = append(out, m)
	}
	return out
}

var (
	identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*$`)
	pathRe  = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

func plainIdent(s string) bool { return identRe.MatchString(s) }

func liveReason(t Table) string {
	lower := strings.ToLower(t.Name)
	for _, w := range liveWords {
		if strings.Contains(lower, w) {
			return "its name contains " + w
		}
	}
	if t.Column("created_at") != nil && t.Column("updated_at") != nil {
		return "it has created_at and updated_at"
	}
	return ""
}

// modelName is the PascalCase singular of the table name, prefixed with
// the schema outside public: room_members -> RoomMember, audit.events ->
// AuditEvent.
func modelName(t Table) string {
	words := splitWords(t.Name)
	if len(words) > 0 {
		words[len(words)-1] = singular(words[len(words)-1])
	}
	if t.Schema != "public" {
		words = append(splitWords(t.Schema), words...)
	}
	var b strings.Builder
	for _, w := range words {
		r := []rune(w)
		b.WriteString(strings.ToUpper(string(r[0])) + string(r[1:]))
	}
	name := b.String()
	if name == "" || !unicode.IsLetter([]rune(name)[0]) {
		name = "T" + name
	}
	return name
}

func splitWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

func singular(w string) string {
	lower := strings.ToLower(w)
	switch {
	case strings.HasSuffix(lower, "ies") && len(w) > 3:
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(lower, "sses"), strings.HasSuffix(lower, "xes"), strings.HasSuffix(lower, "ches"), strings.HasSuffix(lower, "shes"):
		return w[:len(w)-2]
	case strings.HasSuffix(lower, "ss"), strings.HasSuffix(lower, "us"), strings.HasSuffix(lower, "is"):
		return w
	case strings.HasSuffix(lower, "s") && len(w) > 1:
		return w[:len(w)-1]
	}
	return w
}
