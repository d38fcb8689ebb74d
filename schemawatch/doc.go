// Package schemawatch keeps walrelay's models in step with the live
// catalog while the server runs, so that ALTER TABLE needs no restart.
//
// Two paths follow a table change, each on its own evidence:
//
//   - Events: package cdc decides per pgoutput Relation message whether
//     the relation still has every pinned column (walrelay.Model.Pins) with
//     its type, and hands the hub a stopped model version otherwise.
//   - REST and WebSocket requests: the Watcher reads the catalog again and
//     replaces the models' versions in the walrelay.Schema (new columns
//     appear, dropped ones go, a version that lost a pinned column is
//     stopped and answers 503 naming the config line).
//
// The Watcher reads the catalog when told to: on a NOTIFY on the
// "walrelay_schema" channel (sent by the ddl_command_end event trigger
// that InstallTrigger creates when the role is a superuser, or by anyone,
// e.g. a migration tool), when the replication stream shows a changed
// relation (Kick), when a query fails because the table changed under it
// (Refresh, from package rest and ws), and every poll interval.
package schemawatch
