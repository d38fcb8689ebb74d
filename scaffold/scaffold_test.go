package scaffold

import (
	"slices"
	"strings"
	"testing"

	"github.com/walrelay/walrelay/config"
)

func table(schema, name string, pk []string, cols ...string) Table {
	t := Table{Schema: schema, Name: name, PrimaryKey: pk}
	for _, c := range cols {
		n, typ, _ := strings.Cut(c, " ")
		if typ == "" {
			typ = "text"
		}
		t.Columns = append(t.Columns, Column{Name: n, Type: typ})
	}
	return t
}

func TestSuggest(t *testing.T) {
	ms := Suggest([]Table{
		table("public", "chat_messages", []string{"id"}, "id bigint", "author_id", "user_id", "body"),
		table("public", "activities", []string{"id"}, "id bigint", "owner_id uuid", "created_at", "updated_at"),
		table("public", "accounts", []string{"id"}, "id", "password_hash", "api_key", "last_ip_address inet"),
		table("public", "orders", []string{"id"}, "id bigint", "user_id bigint"),
		table("public", "payments", []string{"id"}, "id bigint", "owner_id jsonb"),
		table("audit", "events", []string{"id"}, "id bigint"),
		table("public", "events", []string{"id"}, "id bigint"),
		table("public", "room_members", []string{"room_id", "user_id"}, "room_id bigint", "user_id"),
		table("public", "logs", nil, "line"),
		table("public", "addresses", []string{"id"}, "id"),
		table("public", "todos", []string{"id"}, "id integer", "owner", "title"),
		table("public", "documents", []string{"id"}, "id bigint", "created_by uuid", "owner"),
		table("public", "notes", []string{"id"}, "id bigint", "user_id", "created_by"),
	})
	want := []struct {
		name, path, owner, live, skip string
		hide                          []string
	}{
		{"ChatMessage", "chat_messages", "author_id", "its name contains message", "", nil},
		{"Activity", "activities", "owner_id", "it has created_at and updated_at", "", nil},
		{"Account", "accounts", "", "", "", []string{"password_hash", "api_key", "last_ip_address"}},
		{"Order", "orders", "user_id", "", "", nil}, // integer ids: isOwner reads the sub "42" as 42
		{"Payment", "payments", "", "", "", nil},
		{"AuditEvent", "audit_events", "", "its name contains event", "", nil},
		{"Event", "events", "", "its name contains event", "", nil},
		{"RoomMember", "room_members", "user_id", "", "its primary key has 2 columns (room_id, user_id); walrelay needs a single-column key", nil},
		{"Log", "logs", "", "", "it has no primary key", nil},
		{"Address", "addresses", "", "", "", nil},
		{"Todo", "todos", "owner", "", "", nil},
		{"Document", "documents", "owner", "", "", nil},
		{"Note", "notes", "user_id", "", "", nil},
	}
	for i, w := range want {
		m := ms[i]
		if m.Name != w.name || m.Path != w.path || m.Owner != w.owner || m.Live != w.live || m.Skip != w.skip || !slices.Equal(m.Hide, w.hide) {
			t.Errorf("%s: got %+v, want %+v", m.Table.Qualified(), *m, w)
		}
		if m.Selected != (w.skip == "") || m.Realtime != (w.skip == "" && w.live != "") {
			t.Errorf("%s: selected %v realtime %v", m.Table.Qualified(), m.Selected, m.Realtime)
		}
	}
	if !strings.Contains(ms[4].OwnerNote, "owner_id is jsonb") {
		t.Errorf("payments: owner note %q: a jsonb owner_id cannot match the token's sub", ms[4].OwnerNote)
	}
}

// Whatever is chosen, the rendered config parses, denies every write and
// reads need a token.
func TestRenderParses(t *testing.T) {
	ms := Suggest([]Table{
		table("public", "chat_messages", []string{"id"}, "id bigint", "author_id", "body", "password"),
		table("audit", "events", []string{"id"}, "id bigint"),
		table("public", "room_members", []string{"room_id", "user_id"}, "room_id bigint", "user_id"),
	})
	for name, pick := range map[string]func(m *Model){
		"suggested":     func(*Model) {},
		"none realtime": func(m *Model) { m.Realtime = false },
		"nothing":       func(m *Model) { m.Selected, m.Realtime = false, false },
	} {
		for _, m := range ms {
			m.Selected, m.Realtime = m.Skip == "", m.Skip == "" && m.Live != ""
			pick(m)
		}
		text := Render(ms, RenderOptions{Database: "app"})
		cfg, err := config.Parse("walrelay.yaml", text, func(string) (string, bool) { return "x", true })
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, text)
		}
		for _, m := range cfg.BuildModels() {
			for _, a := range []string{"create", "update", "delete"} {
				if r, ok := m.Permissions[a]; ok {
					t.Errorf("%s: model %s has a %s rule %q", name, m.Name, a, r)
				}
			}
			if r := m.Permissions["read"]; r != "isOwner" && r != "authenticated" {
				t.Errorf("%s: model %s read rule %q", name, m.Name, r)
			}
		}
		if cfg.Auth.Anonymous {
			t.Errorf("%s: anonymous access on", name)
		}
		if name == "suggested" {
			m := cfg.Models["ChatMessage"]
			if m == nil || m.Owner != "author_id" || !slices.Equal(m.Hide, []string{"password"}) || !slices.Equal(m.Subscribe, []string{"list", "item"}) {
				t.Errorf("ChatMessage = %+v", m)
			}
			if cfg.Models["AuditEvent"].Path != "audit_events" {
				t.Errorf("AuditEvent path %q", cfg.Models["AuditEvent"].Path)
			}
		}
	}
}

func TestNeedsSteps(t *testing.T) {
	msgs, users := table("public", "messages", []string{"id"}), table("public", "users", []string{"id"})
	ready := func() *state {
		return &state{role: "app", database: "db", replication: true, walLevel: "logical", slots: 10, senders: 10,
			createOnDatabase: true, walrelaySchema: true, walrelayUsable: true, publication: true,
			publicationTables: []string{"public.messages"},
			schemaUsage:       map[string]bool{"public": true},
			canSelect:         map[string]bool{"public.messages": true, "public.users": true},
			owns:              map[string]bool{"public.messages": true, "public.users": true},
			identityFull:      map[string]bool{"public.messages": true},
		}
	}
	opts := NeedsOptions{Slot: "walrelay", Publication: "walrelay"}
	if s := ready().steps([]Table{msgs, users}, []Table{msgs}, opts); len(s) != 0 {
		t.Errorf("ready database: %v", s)
	}
	for name, c := range map[string]struct {
		change   func(*state)
		realtime bool
		want     string
	}{
		"wal_level":   {func(s *state) { s.walLevel = "replica" }, true, "alter system set wal_level = logical;"},
		"no rt wal":   {func(s *state) { s.walLevel = "replica" }, false, ""},
		"replication": {func(s *state) { s.replication = false }, true, `alter role "app" replication;`},
		"superuser":   {func(s *state) { s.replication, s.superuser = false, true }, true, ""},
		"usage":       {func(s *state) { s.schemaUsage["public"] = false }, false, `grant usage on schema "public" to "app";`},
		"select":      {func(s *state) { s.canSelect["public.users"] = false }, false, `grant select on "public"."users" to "app";`},
		"identity":    {func(s *state) { s.owns["public.messages"], s.identityFull["public.messages"] = false, false }, true, `alter table "public"."messages" replica identity full;`},
		"publication": {func(s *state) { s.owns["public.messages"], s.publication = false, false }, true, `create publication "walrelay" for table "public"."messages";`},
		"pub tables":  {func(s *state) { s.owns["public.messages"], s.publicationTables = false, nil }, true, `alter publication "walrelay" set table "public"."messages";`},
		"create pub":  {func(s *state) { s.publication, s.createOnDatabase = false, false }, true, `grant create on database "db" to "app";`},
		"epoch":       {func(s *state) { s.walrelaySchema, s.createOnDatabase = false, false }, true, `create schema walrelay authorization "app";`},
		"epoch grant": {func(s *state) { s.walrelayUsable = false }, true, `grant usage, create on schema walrelay to "app";`},
	} {
		st := ready()
		c.change(st)
		var rt []Table
		if c.realtime {
			rt = []Table{msgs}
		}
		got := FormatSteps(st.steps([]Table{msgs, users}, rt, opts))
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, "\n"+c.want+"\n") {
			t.Errorf("%s: got\n%s\nwant %q", name, got, c.want)
		}
	}
}
