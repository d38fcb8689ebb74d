package cluster

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/walrelay/walrelay"
)

// Names: the stream WALRELAY_<name> holds walrelay.<name>.tx.>; custom
// channels and presence use core NATS subjects beside it.
type names struct {
	stream   string
	prefix   string // walrelay.<name>
	channels string // walrelay.<name>.ch
	presence string // walrelay.<name>.presence
}

func newNames(cluster string) names {
	p := "walrelay." + cluster
	return names{stream: "WALRELAY_" + cluster, prefix: p, channels: p + ".ch", presence: p + ".presence"}
}

func (n names) streamSubjects() string { return n.prefix + ".tx.>" }

// modelSubject carries a model's events; messageSubject emitted messages
// (and the empty last chunk of a large transaction); resetSubject the
// epoch change markers.
func (n names) modelSubject(model string) string { return n.prefix + ".tx.model." + model }
func (n names) messageSubject() string           { return n.prefix + ".tx.message" }
func (n names) resetSubject() string             { return n.prefix + ".tx.reset" }

// syncSubject is where node answers requests for its presence.
func (n names) syncSubject(node string) string { return n.presence + ".sync." + node }

// Header names.
const (
	hdrTxn   = "Walrelay-Txn"
	hdrEpoch = "Walrelay-Epoch"
)

// maxPart bounds the body of one stream message (NATS's default
// max_payload is 1 MiB); partSize lowers it for a server with a smaller
// max_payload, leaving room for the headers.
const maxPart = 256 << 10

// partSize returns the part size for a server whose max_payload is
// maxPayload (0: unknown).
func partSize(maxPayload int64) int {
	const headroom = 8 << 10
	if maxPayload <= 0 || maxPayload-headroom >= maxPart {
		return maxPart
	}
	return int(max(maxPayload-headroom, 1<<10))
}

// part is one stream message of a transaction chunk.
type part struct {
	subject string
	data    []byte
}

// splitTxn encodes a transaction chunk as parts: the events of each model
// (and the emitted messages) in a part of their own, split further to at
// most size bytes. A chunk without events is one empty part. The split
// depends only on the events and size (the same for every node on one
// NATS), so a leader that publishes the chunk again makes the same parts
// with the same message ids.
func splitTxn(txn *walrelay.Txn, n names, size int) []part {
	var order []string
	groups := map[string][]byte{}
	for _, ev := range txn.Events {
		key := ""
		if ev.Model != nil {
			key = ev.Model.Name
		}
		b, ok := groups[key]
		if !ok {
			order = append(order, key)
		}
		groups[key] = appendEvent(b, ev)
	}
	if len(order) == 0 {
		return []part{{subject: n.messageSubject()}}
	}
	var parts []part
	for _, key := range order {
		subject := n.messageSubject()
		if key != "" {
			subject = n.modelSubject(key)
		}
		data := groups[key]
		for len(data) > size {
			parts = append(parts, part{subject: subject, data: data[:size:size]})
			data = data[size:]
		}
		parts = append(parts, part{subject: subject, data: data})
	}
	return parts
}

// format renders h for the Walrelay-Txn header.
func (h txnHeader) format() string {
	more := 0
	if h.More {
		more = 1
	}
	return fmt.Sprintf("%d.%d.%d.%d.%d.%d.%d.%d.%d", h.Epoch, h.XID, uint64(h.CommitLSN), uint64(h.EndLSN), h.CommitTime,
		more, h.FirstSeq, h.Part, h.Parts)
}

// msgID is the part's JetStream message id: the same part published again
// (by a new leader re-streaming) is stored once.
func (h txnHeader) msgID() string {
	return fmt.Sprintf("%d.%d.%d.%d.%d", h.Epoch, uint64(h.CommitLSN), h.FirstSeq, h.Part, h.Parts)
}

// chunkKey names the chunk a part belongs to.
type chunkKey struct {
	epoch    uint32
	commit   walrelay.LSN
	firstSeq int
	parts    int
}

func (h txnHeader) key() chunkKey {
	return chunkKey{epoch: h.Epoch, commit: h.CommitLSN, firstSeq: h.FirstSeq, parts: h.Parts}
}

// parseTxnHeader parses a Walrelay-Txn header.
func parseTxnHeader(s string) (txnHeader, error) {
	f := strings.Split(s, ".")
	if len(f) != 9 {
		return txnHeader{}, fmt.Errorf("%w: bad %s header %q", errCorrupt, hdrTxn, s)
	}
	var n [9]uint64
	for i, x := range f {
		v, err := strconv.ParseUint(x, 10, 64)
		if err != nil {
			return txnHeader{}, fmt.Errorf("%w: bad %s header %q", errCorrupt, hdrTxn, s)
		}
		n[i] = v
	}
	h := txnHeader{
		Epoch: uint32(n[0]), XID: uint32(n[1]), CommitLSN: walrelay.LSN(n[2]), EndLSN: walrelay.LSN(n[3]),
		CommitTime: int64(n[4]), More: n[5] == 1, FirstSeq: int(n[6]), Part: int(n[7]), Parts: int(n[8]),
	}
	if n[0] > 1<<32-1 || n[1] > 1<<32-1 || n[5] > 1 || n[6] > 1<<31-1 || h.Parts < 1 || h.Parts > 1<<20 || h.Part >= h.Parts {
		return txnHeader{}, fmt.Errorf("%w: bad %s header %q", errCorrupt, hdrTxn, s)
	}
	return h, nil
}

// nanosOf and timeFromNanos carry a commit time; 0 is the zero time.
func nanosOf(t time.Time) int64 {
	if t.IsZero() || t.Before(time.Unix(0, 1)) {
		return 0
	}
	return t.UnixNano()
}

func timeFromNanos(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
