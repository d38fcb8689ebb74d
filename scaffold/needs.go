package scaffold

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Step is one thing the database still needs: why, and the SQL that does
// it (run by a superuser or the tables' owner, as Why says).
type Step struct {
	Why string
	SQL string
}

// NeedsOptions name what walrelay will use.
type NeedsOptions struct {
	Slot, Publication string
}

// state is what Needs reads from the database, as the role walrelay
// connects with.
type state struct {
	role, database         string
	superuser, replication bool
	walLevel               string
	slots, senders         int
	createOnDatabase       bool
	walrelaySchema         bool // schema walrelay exists
	walrelayUsable         bool // ... and the role may create tables in it
	schemaUsage            map[string]bool
	canSelect              map[string]bool // qualified table
	owns                   map[string]bool // the role owns (or is a member of the owner of) the table
	identityFull           map[string]bool
	publication            bool
	publicationTables      []string // sorted, qualified
}

// Needs returns the steps the database still needs before walrelay,
// connected as q's role, can serve the tables (exposed) and stream the
// realtime ones: wal_level, replication slots and senders, the REPLICATION
// attribute, USAGE and SELECT grants, and for realtime tables the role
// does not own, REPLICA IDENTITY FULL and the publication made by their
// owner. No steps means nothing is missing.
func Needs(ctx context.Context, q Querier, exposed, realtime []Table, opts NeedsOptions) ([]Step, error) {
	st, err := readState(ctx, q, append(slices.Clone(exposed), realtime...), opts)
	if err != nil {
		return nil, err
	}
	return st.steps(exposed, realtime, opts), nil
}

func (st *state) steps(exposed, realtime []Table, opts NeedsOptions) []Step {
	var out []Step
	add := func(why, sql string, args ...any) { out = append(out, Step{Why: why, SQL: fmt.Sprintf(sql, args...)}) }
	role := pgx.Identifier{st.role}.Sanitize()
	if len(realtime) > 0 {
		if st.walLevel != "logical" {
			add(fmt.Sprintf("wal_level is %s; live updates need logical (as a superuser, then restart Postgres)", st.walLevel),
				"alter system set wal_level = logical;")
		}
		if st.slots < 1 {
			add("max_replication_slots is 0 (as a superuser, then restart Postgres)", "alter system set max_replication_slots = 10;")
		}
		if st.senders < 1 {
			add("max_wal_senders is 0 (as a superuser, then restart Postgres)", "alter system set max_wal_senders = 10;")
		}
		if !st.superuser && !st.replication {
			add(fmt.Sprintf("role %s may not replicate (as a superuser)", st.role), "alter role %s replication;", role)
		}
	}
	var schemas, tables []string
	for _, t := range exposed {
		if !st.schemaUsage[t.Schema] && !slices.Contains(schemas, t.Schema) {
			schemas = append(schemas, t.Schema)
		}
		if !st.canSelect[t.Qualified()] {
			tables = append(tables, quoted(t))
		}
	}
	for _, s := range schemas {
		add(fmt.Sprintf("role %s may not use schema %s (as its owner)", st.role, s), "grant usage on schema %s to %s;", pgx.Identifier{s}.Sanitize(), role)
	}
	if len(tables) > 0 {
		add(fmt.Sprintf("role %s may not read these tables (as their owner; when you add create, update or delete rules, grant insert, update, delete too)", st.role),
			"grant select on %s to %s;", strings.Join(tables, ", "), role)
	}
	if len(realtime) == 0 {
		return out
	}
	var notOwned, want []string
	for _, t := range realtime {
		want = append(want, t.Qualified())
		if st.superuser || st.owns[t.Qualified()] {
			continue
		}
		notOwned = append(notOwned, quoted(t))
		if !st.identityFull[t.Qualified()] {
			add(fmt.Sprintf("%s needs REPLICA IDENTITY FULL so deletes can be authorized, and role %s does not own it (as its owner)", t.Qualified(), st.role),
				"alter table %s replica identity full;", quoted(t))
		}
	}
	slices.Sort(want)
	pub := pgx.Identifier{opts.Publication}.Sanitize()
	switch {
	case len(notOwned) > 0 && !st.publication:
		add(fmt.Sprintf("role %s does not own every realtime table, so it cannot put them in publication %s (as their owner)", st.role, opts.Publication),
			"create publication %s for table %s;", pub, strings.Join(quotedAll(realtime), ", "))
	case len(notOwned) > 0 && !slices.Equal(st.publicationTables, want):
		add(fmt.Sprintf("publication %s must hold exactly the realtime tables, and role %s does not own them all (as their owner)", opts.Publication, st.role),
			"alter publication %s set table %s;", pub, strings.Join(quotedAll(realtime), ", "))
	case !st.publication && !st.superuser && !st.createOnDatabase:
		add(fmt.Sprintf("role %s may not create publication %s (as a superuser or the database owner)", st.role, opts.Publication),
			"grant create on database %s to %s;", pgx.Identifier{st.database}.Sanitize(), role)
	}
	switch {
	case st.superuser:
	case !st.walrelaySchema && !st.createOnDatabase:
		add(fmt.Sprintf("walrelay keeps its slot's epoch in schema walrelay, and role %s may not create it (as a superuser)", st.role),
			"create schema walrelay authorization %s;", role)
	case st.walrelaySchema && !st.walrelayUsable:
		add(fmt.Sprintf("role %s may not create its epoch table in schema walrelay (as its owner)", st.role),
			"grant usage, create on schema walrelay to %s;", role)
	}
	return out
}

func quoted(t Table) string { return pgx.Identifier{t.Schema, t.Name}.Sanitize() }

func quotedAll(ts []Table) []string {
	var out []string
	for _, t := range ts {
		if q := quoted(t); !slices.Contains(out, q) {
			out = append(out, q)
		}
	}
	return out
}

func readState(ctx context.Context, q Querier, tables []Table, opts NeedsOptions) (*state, error) {
	st := &state{schemaUsage: map[string]bool{}, canSelect: map[string]bool{}, owns: map[string]bool{}, identityFull: map[string]bool{}}
	err := q.QueryRow(ctx, `select current_user, current_database(), r.rolsuper, r.rolreplication,
			current_setting('wal_level'), current_setting('max_replication_slots')::int, current_setting('max_wal_senders')::int,
			has_database_privilege(current_database(), 'CREATE'),
			exists (select 1 from pg_namespace where nspname = 'walrelay'),
			coalesce((select has_schema_privilege(oid, 'USAGE') and has_schema_privilege(oid, 'CREATE') from pg_namespace where nspname = 'walrelay'), false),
			exists (select 1 from pg_publication where pubname = $1),
			coalesce((select array_agg(schemaname || '.' || tablename order by 1) from pg_publication_tables where pubname = $1), '{}')
		from pg_roles r where r.rolname = current_user`, opts.Publication).Scan(
		&st.role, &st.database, &st.superuser, &st.replication, &st.walLevel, &st.slots, &st.senders,
		&st.createOnDatabase, &st.walrelaySchema, &st.walrelayUsable, &st.publication, &st.publicationTables)
	if err != nil {
		return nil, fmt.Errorf("read the role's rights: %w", err)
	}
	slices.Sort(st.publicationTables)
	for _, t := range tables {
		var usage, sel, owns, full bool
		err := q.QueryRow(ctx, `select has_schema_privilege(n.oid, 'USAGE'), has_table_privilege(c.oid, 'SELECT'),
				pg_has_role(c.relowner, 'USAGE'), c.relreplident = 'f'
			from pg_class c join pg_namespace n on n.oid = c.relnamespace
			where n.nspname = $1 and c.relname = $2`, t.Schema, t.Name).Scan(&usage, &sel, &owns, &full)
		if err != nil {
			return nil, fmt.Errorf("read rights on %s: %w", t.Qualified(), err)
		}
		st.schemaUsage[t.Schema] = usage
		st.canSelect[t.Qualified()], st.owns[t.Qualified()], st.identityFull[t.Qualified()] = sel, owns, full
	}
	return st, nil
}

// FormatSteps renders steps as a SQL script with a comment per step.
func FormatSteps(steps []Step) string {
	var b strings.Builder
	for _, s := range steps {
		fmt.Fprintf(&b, "-- %s\n%s\n", s.Why, s.SQL)
	}
	return b.String()
}
