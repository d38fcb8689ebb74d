package hub

import "github.com/walrelay/walrelay"

// Access is what a subscription may read: the model's read rule, resolved
// for the subscriber's claims by the caller (package ws, with authz). The
// hub never evaluates claims itself; it only compares keys or calls Allow.
//
// For a model with a read index (see Hub.SetReadIndex) the hub routes by
// Key: the subscription reads exactly the rows whose index key equals Key.
// For other models it calls Allow on each row. In both cases All reads every
// row and None reads no row, whatever the other fields say (None wins).
//
// The zero Access reads nothing: a missing rule denies.
type Access struct {
	// Key is the row key the subscriber reads, for indexed models.
	Key string
	// All: the subscriber reads every row (e.g. an isAdmin term holds).
	All bool
	// None: the subscriber reads no row (e.g. its token lacks the claim).
	None bool
	// Allow reports whether the subscriber may read row, for models
	// without a read index. It is called from the Deliver goroutine, must
	// not block, and must be safe to call concurrently with anything the
	// caller does. Nil denies.
	Allow func(row walrelay.Row) bool
}

// ReadAll is the Access of a subscriber that may read every row.
var ReadAll = Access{All: true}

// RowKeyFunc returns a row's key under a model's read index: the value
// that an indexed subscriber's Access.Key must equal for it to read the
// row. *authz.Rule's RowKey method is one.
type RowKeyFunc func(row walrelay.Row) string

// reads reports whether a subscription with access a may read row, whose
// key under the model's index is key (ignored when indexed is false). A nil
// row (the old row of an update without REPLICA IDENTITY FULL) is not
// readable.
func (a *Access) reads(row walrelay.Row, key string, indexed bool) bool {
	switch {
	case row == nil || a.None:
		return false
	case a.All:
		return true
	case indexed:
		return a.Key == key
	}
	return a.Allow != nil && a.Allow(row)
}
