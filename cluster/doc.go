// Package cluster lets several walrelay nodes serve one database through
// NATS JetStream (docs/cluster.md).
//
// The node holding the replication slot leads: its cdc consumer hands
// transactions to a Publisher, which stores them in the change stream
// (pipelined, each part chained to the one before) and holds the slot's
// acknowledgement until JetStream acknowledged them, so the slot is
// acknowledged only for what the stream holds. Every node (the leader too)
// consumes the stream in order and hands each transaction to its own hub
// through Local, the same path a single node's cdc consumer takes; its
// replay history is rebuilt from the stream at startup, so cursors resume
// on any node. Custom-channel publishes and presence travel between nodes
// over core NATS (bus).
package cluster
