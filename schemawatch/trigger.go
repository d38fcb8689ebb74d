package schemawatch

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Channel is the NOTIFY channel the Watcher listens on. Anyone may notify
// it (`NOTIFY walrelay_schema`) to make walrelay read the catalog again.
const Channel = "walrelay_schema"

// installSQL creates the event trigger and its function unless the trigger
// exists. The function lands in the first schema of the search path.
const installSQL = `
do $$
begin
  if not exists (select 1 from pg_event_trigger where evtname = 'walrelay_schema') then
    create or replace function walrelay_schema_notify() returns event_trigger
      language plpgsql as $f$ begin perform pg_notify('walrelay_schema', tg_tag); end $f$;
    create event trigger walrelay_schema on ddl_command_end execute function walrelay_schema_notify();
  end if;
exception when duplicate_object or unique_violation then
  null; -- another walrelay created it at the same time
end $$`

// InstallTrigger makes sure the database has the ddl_command_end event
// trigger that NOTIFYs Channel after every DDL command, so the Watcher
// reads the catalog the moment a table changes. Creating an event trigger
// needs a superuser: for other roles (managed databases) it does nothing
// and reports false, and the Watcher relies on the replication stream,
// failed queries and its poll instead. Idempotent.
func InstallTrigger(ctx context.Context, conn *pgx.Conn) (bool, error) {
	var super bool
	if err := conn.QueryRow(ctx, "select rolsuper from pg_roles where rolname = current_user").Scan(&super); err != nil {
		return false, fmt.Errorf("check superuser: %w", err)
	}
	if !super {
		return false, nil
	}
	if _, err := conn.Exec(ctx, installSQL); err != nil {
		return false, fmt.Errorf("create event trigger walrelay_schema: %w", err)
	}
	return true, nil
}
