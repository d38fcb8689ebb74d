// Package cdc is the replication side of walrelay: everything between
// Postgres and the hub. Setup makes the database ready (wal_level check,
// REPLICA IDENTITY FULL on realtime tables, the publication holding exactly
// those tables, the permanent pgoutput slot). A Consumer owns the logical
// replication connection, decodes pgoutput into walrelay.Events with typed
// values (package pgjson), gathers each transaction into a walrelay.Txn and
// hands it to a Sink in commit order. The slot's confirmed position moves
// only past transactions the Sink accepted, so a crash replays and never
// skips.
//
// The package knows nothing about WebSockets or users.
package cdc
