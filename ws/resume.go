package ws

import (
	"slices"

	"github.com/walrelay/walrelay"
)

// resumePoint is the cursor a subscription was asked to resume after.
//
// There is no replay history yet: a subscription receives what the hub
// delivers from the moment it is made. When the cursor is at or after that
// moment, events the client already has (at or before an event cursor, or
// in the snapshot of a REST cursor) are dropped; when it is before, changes
// may have been missed and the client is sent resync.
type resumePoint struct{ c walrelay.Cursor }

// covers reports whether the client already has ev.
func (r resumePoint) covers(ev *walrelay.Event) bool {
	if r.c.Snapshot {
		return visibleIn(r.c, ev.XID)
	}
	return ev.LSN < r.c.LSN || (ev.LSN == r.c.LSN && ev.Seq <= r.c.Seq)
}

// canResume reports whether a subscription made at pos can deliver every
// change after since: since must not precede pos.
func canResume(since, pos walrelay.Cursor) bool {
	if since.Epoch != pos.Epoch {
		return false
	}
	if since.Snapshot {
		return since.LSN >= pos.LSN
	}
	return since.LSN > pos.LSN || (since.LSN == pos.LSN && since.Seq >= pos.Seq)
}

// visibleIn reports whether transaction xid (32 bits, as pgoutput gives
// it) is visible in the cursor's snapshot (64-bit xid8 values), assuming
// xid is within 2^31 of the snapshot's xmax.
func visibleIn(c walrelay.Cursor, xid uint32) bool {
	full := int64(c.Xmax) + int64(int32(xid-uint32(c.Xmax)))
	switch {
	case full < int64(c.Xmin):
		return true
	case full >= int64(c.Xmax):
		return false
	}
	return !slices.Contains(c.Xip, uint64(full))
}
