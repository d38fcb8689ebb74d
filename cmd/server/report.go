package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/authz"
	"github.com/walrelay/walrelay/config"
)

// writeReport prints what a checked config exposes, per model: its REST
// routes, its channels with the events they carry, and its rules in words;
// then the custom channels.
func writeReport(w io.Writer, cfg *config.Config, schema *walrelay.Schema) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintf(tw, "%s: %d models (%d realtime), %d custom channels\n", cfg.File(), len(schema.Models()), len(schema.Realtime()), len(cfg.Channels))
	fmt.Fprintf(tw, "Also served: GET /api/openapi.json (this API as OpenAPI 3.1), /healthz, /readyz, /metrics")
	if len(schema.Realtime()) > 0 || len(cfg.Channels) > 0 {
		fmt.Fprint(tw, ", /ws (WebSocket)")
	}
	fmt.Fprintln(tw)
	for _, m := range schema.Models() {
		fmt.Fprintf(tw, "\n%s\t%s, primary key %s (%s)\n", m.Name, m.QualifiedTable(), m.PrimaryKey, cfg.Pos("$.models."+m.Name))
		writeRoutes(tw, m)
		writeChannels(tw, m)
		fmt.Fprintln(tw, "  rules")
		for _, a := range authz.Actions {
			if a == authz.ActionSubscribe && !m.Realtime() {
				continue
			}
			fmt.Fprintf(tw, "    %s\t%s\n", a, authz.Describe(m.Permissions[string(a)], m.Owner))
		}
		if len(m.Hide) > 0 {
			fmt.Fprintf(tw, "  hidden\t%s (never sent, not filterable)\n", strings.Join(m.Hide, ", "))
		}
	}
	for _, ch := range cfg.BuildChannels() {
		fmt.Fprintf(tw, "\n%s\tcustom channel (%s)\n", ch.Pattern, cfg.Pos("$.channels.'"+ch.Pattern+"'"))
		what := "events " + strings.Join(ch.Events, ", ")
		if ch.Presence {
			what += "; presence"
		}
		if ch.Self {
			what += "; publishers get their own events"
		}
		fmt.Fprintf(tw, "  %s\n  rules\n", what)
		sub := authz.Describe(ch.Permissions["subscribe"], "")
		if ch.SubscribeSQL != "" {
			sub += ", and subscribe_sql returns a row"
		}
		fmt.Fprintf(tw, "    subscribe\t%s\n", sub)
		fmt.Fprintf(tw, "    publish\t%s\n", authz.Describe(ch.Permissions["publish"], ""))
	}
}

func writeRoutes(w io.Writer, m *walrelay.Model) {
	fmt.Fprintln(w, "  REST")
	base := "/api/" + m.Path
	for _, r := range []struct{ method, path, what, rule string }{
		{"GET", base, "list (filters, order, pages)", "read"},
		{"GET", base + "/{id}", "get one", "read"},
		{"POST", base, "create", "create"},
		{"PATCH", base + "/{id}", "update", "update"},
		{"DELETE", base + "/{id}", "delete", "delete"},
	} {
		note := r.what
		if _, ok := m.Permissions[r.rule]; !ok {
			note += "; refused: no " + r.rule + " rule"
		}
		fmt.Fprintf(w, "    %s %s\t%s\n", r.method, r.path, note)
	}
}

// writeChannels lists the model channels clients may subscribe to and
// the events each carries (the model's broadcast list narrows them).
func writeChannels(w io.Writer, m *walrelay.Model) {
	if !m.Realtime() {
		fmt.Fprintln(w, "  channels\tnone (not realtime: no subscribe)")
		return
	}
	fmt.Fprintln(w, "  channels")
	for _, c := range []struct {
		kind  walrelay.ChannelKind
		name  string
		ops   []walrelay.Op
		scope string
	}{
		{walrelay.KindList, m.Name + ":list", []walrelay.Op{walrelay.OpCreated, walrelay.OpUpdated, walrelay.OpDeleted, walrelay.OpTruncated}, "of every row the caller may read"},
		{walrelay.KindItem, m.Name + ":item:{id}", []walrelay.Op{walrelay.OpUpdated, walrelay.OpDeleted}, "of one row"},
		{walrelay.KindCreated, m.Name + ":created", []walrelay.Op{walrelay.OpCreated}, "rows the caller may read"},
		{walrelay.KindUpdated, m.Name + ":updated:{id}", []walrelay.Op{walrelay.OpUpdated}, "of one row"},
		{walrelay.KindDeleted, m.Name + ":deleted:{id}", []walrelay.Op{walrelay.OpDeleted}, "of one row"},
	} {
		if !m.AllowsKind(c.kind) {
			continue
		}
		var ops []string
		for _, op := range c.ops {
			if m.Broadcasts(op) {
				ops = append(ops, string(op))
			}
		}
		if len(ops) == 0 {
			ops = []string{"nothing (broadcast has none of its events)"}
		}
		fmt.Fprintf(w, "    %s\t%s %s\n", c.name, strings.Join(ops, ", "), c.scope)
	}
}
