// Package walrelay holds the domain words every part of walrelay shares:
// models and their columns, change events decoded from the WAL, channels,
// cursors and the sentinel errors that the REST and WebSocket layers map to
// status and error codes.
//
// It imports no other package of the project. The flow is
//
//	cdc (WAL -> Txn of Events) -> hub (routing) -> ws (per-connection queues)
//	rest, ws requests -> store (SQL, parameters only)
package walrelay
