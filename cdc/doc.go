// Package cdc is the replication side of walrelay: everything between
// Postgres and the hub. Setup makes the database ready (wal_level check,
// REPLICA IDENTITY FULL on realtime tables, the publication holding exactly
// those tables, the permanent pgoutput slot and its epoch in
// walrelay.slots). A Consumer owns the logical replication connection,
// decodes pgoutput into walrelay.Events with typed values (package
// pgjson), gathers each transaction into a walrelay.Txn (in chunks, with a
// spill file, when it is large) and hands it to a Sink in commit order.
//
// The slot's confirmed position moves only past transactions the Sink
// accepted, and never past the Sink's oldest retained transaction, so a
// crash replays and never skips, and a restart can rebuild the Sink's
// history. A slot that lost its WAL is recreated under a new epoch and the
// Sink is Reset. See docs/operations.md.
//
// The package knows nothing about WebSockets or users.
package cdc
