package scaffold

import (
	"fmt"
	"strings"
)

// RenderOptions tune Render.
type RenderOptions struct {
	// Database names the database in the header comment.
	Database string
}

// Render returns walrelay.yaml for the selected models, with comments
// that say what each line does and why it was suggested. The rules are
// the safe defaults: reads need a token (and only the owner's rows where
// the table has an owner column), realtime subscriptions need a token, and
// nothing can be written until a create, update or delete rule is added.
// The database URL and the JWT secret come from the environment.
func Render(models []*Model, opts RenderOptions) []byte {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# walrelay.yaml, written by `walrelay init` from database %s.", opts.Database)
	w("#")
	w("# Safe defaults: every request needs a valid token; a model with an owner")
	w("# column shows each caller only their own rows; nothing can be created,")
	w("# updated or deleted until you add a rule for it (commented out below).")
	w("# Rules are CEL over `auth` (the token's claims) and `row`: docs/authorization.md.")
	w("# Next: `walrelay check` prints what this exposes; `walrelay serve` serves it.")
	w("")
	w("database:")
	w("  url: ${DATABASE_URL}                 # libpq URL; replication uses the same URL and role")
	w("server:")
	w("  listen: \"${WALRELAY_LISTEN:-:8080}\"")
	w("auth:")
	w("  jwt:")
	w("    secret: ${JWT_SECRET}              # HS256 key, 32+ random bytes; or jwks_url: for RS256/ES256")
	w("  anonymous: false                     # true lets requests without a token in, with auth == null")
	var realtime int
	for _, m := range models {
		if m.Selected && m.Realtime {
			realtime++
		}
	}
	if realtime > 0 {
		w("realtime:")
		w("  slot: walrelay                       # permanent logical replication slot, created at first start")
		w("  publication: walrelay                # kept equal to the realtime tables by walrelay")
		w("  manage_replica_identity: true        # walrelay sets REPLICA IDENTITY FULL on realtime tables")
	}
	w("models:")
	var skipped []string
	for _, m := range models {
		if !m.Selected {
			reason := m.Skip
			if reason == "" {
				reason = "not chosen"
			}
			skipped = append(skipped, fmt.Sprintf("  # %s is not exposed: %s.", m.Table.Qualified(), reason))
			continue
		}
		renderModel(w, m)
	}
	if len(models) == 0 || len(skipped) == len(models) {
		w("  {}                                   # no model yet: add one per table to expose")
	}
	for _, s := range skipped {
		w("%s", s)
	}
	return []byte(b.String())
}

func renderModel(w func(string, ...any), m *Model) {
	w("  %s:", m.Name)
	w("    table: %s", m.Table.Qualified())
	if m.Path != m.Table.Name {
		w("    path: %s                # REST: /api/%s", m.Path, m.Path)
	} else {
		w("    # REST: /api/%s and /api/%s/{id}", m.Path, m.Path)
	}
	if m.Realtime {
		why := m.Live
		if why == "" {
			why = "chosen"
		}
		w("%s", commented("    subscribe: [list, item]", fmt.Sprintf("live: %s:list and %s:item:{id} (%s)", m.Name, m.Name, why)))
	}
	if m.Owner != "" {
		w("%s", commented("    owner: "+m.Owner, fmt.Sprintf("isOwner: row.%s is the token's sub", m.Owner)))
	} else if m.OwnerNote != "" {
		w("    # no owner: %s", m.OwnerNote)
	}
	w("    permissions:")
	if m.Realtime {
		w("      subscribe: authenticated")
	}
	if m.Owner != "" {
		w("      read: isOwner                    # e.g. \"isOwner || isAdmin\"")
	} else {
		w("      read: authenticated              # any valid token; narrow it, e.g. \"row.org_id == auth.org\"")
	}
	create := "authenticated"
	if m.Owner != "" {
		create = fmt.Sprintf("\"authenticated && row.%s == auth.sub\"", m.Owner)
	}
	change := "isAdmin"
	if m.Owner != "" {
		change = "\"isOwner || isAdmin\""
	}
	w("      # create: %s", create)
	w("      # update: %s", change)
	w("      # delete: %s", change)
	if len(m.Hide) > 0 {
		w("%s", commented("    hide: ["+strings.Join(m.Hide, ", ")+"]", "never sent to clients, not filterable"))
	}
}

// commented returns line with comment lined up in the config's comment
// column.
func commented(line, comment string) string {
	return line + strings.Repeat(" ", max(39-len(line), 1)) + "# " + comment
}
