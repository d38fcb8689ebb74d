package cdc

import (
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"time"
)

// Defaults for Config fields left zero.
const (
	DefaultSlot           = "walrelay"
	DefaultPublication    = "walrelay"
	DefaultStandbyTimeout = 10 * time.Second
	DefaultMinBackoff     = 200 * time.Millisecond
	DefaultMaxBackoff     = 15 * time.Second
	// DefaultBusyRetry is how often a consumer whose slot another consumer
	// streams tries again.
	DefaultBusyRetry = time.Second
	// DefaultChunkEvents is the most events of one transaction held in
	// memory, and the size of the chunks a large transaction is handed on in.
	DefaultChunkEvents = 10000
	// DefaultRetainedCheckInterval is how often the WAL the slot retains is
	// measured.
	DefaultRetainedCheckInterval = 30 * time.Second
	// DefaultMaxRetainedWALBytes is the retained-WAL size above which a
	// warning is logged (1 GiB).
	DefaultMaxRetainedWALBytes int64 = 1 << 30
)

// Config configures Setup and the Consumer. The zero value of every field
// but URL has a default.
type Config struct {
	// URL is a libpq URL of the database; the replication connection adds
	// replication=database to it.
	URL string
	// Slot and Publication name the replication slot and the publication;
	// lower-case letters, digits and underscores. Default "walrelay".
	Slot        string
	Publication string
	// ManageReplicaIdentity lets Setup set REPLICA IDENTITY FULL on
	// realtime tables; when false, Setup refuses to proceed if a realtime
	// table lacks it, naming the table and the command to run.
	ManageReplicaIdentity bool
	// StandbyTimeout is the interval between status updates to the server
	// (default 10s); keep it below the server's wal_sender_timeout.
	StandbyTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before reconnecting after a
	// lost connection (defaults 200ms and 15s); the wait doubles per
	// failure and is jittered.
	MinBackoff, MaxBackoff time.Duration
	// BusyRetry is the wait, jittered, before trying again when the slot
	// is streamed by another consumer (default 1s): in a cluster the
	// other nodes stand by this way until the leader's connection ends.
	BusyRetry time.Duration
	// ChunkEvents bounds the events of one open transaction kept in memory
	// (default 10000); further changes are spilled to a temporary file, and
	// at commit the transaction is handed on in chunks of at most
	// ChunkEvents events (walrelay.Txn.More).
	ChunkEvents int
	// SpillDir is the directory of the spill files (default os.TempDir()).
	// Files are unlinked right after creation where the OS allows, so a
	// crash leaves nothing behind.
	SpillDir string
	// RetainedCheckInterval is how often the WAL retained by the slot is
	// measured (default 30s); see Consumer.RetainedWALBytes.
	RetainedCheckInterval time.Duration
	// MaxRetainedWALBytes is the retained WAL above which a warning is
	// logged, at most once per check. 0 means the default (1 GiB); a
	// negative value disables the warning.
	MaxRetainedWALBytes int64
	// Logger receives connection and decoding problems; default
	// slog.Default().
	Logger *slog.Logger
	// SchemaChanged, when set, is called when a Relation message shows
	// that a model's table changed (ALTER TABLE): a signal to read the
	// catalog again for REST. It is called from the replication goroutine
	// and must not block.
	SchemaChanged func()
}

var validName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// ValidName reports whether name may be used as the slot or the
// publication: 1 to 63 lower-case letters, digits and underscores, not
// starting with a digit. Both end up in replication commands and plugin
// options, so config checks names with this same rule.
func ValidName(name string) bool { return validName.MatchString(name) }

// NameRule says, in words, what ValidName accepts.
const NameRule = "use 1-63 lower-case letters, digits and underscores, not starting with a digit"

// withDefaults returns c with defaults filled in and checks the names, which
// end up in replication commands and plugin options.
func (c Config) withDefaults() (Config, error) {
	if c.Slot == "" {
		c.Slot = DefaultSlot
	}
	if c.Publication == "" {
		c.Publication = DefaultPublication
	}
	if c.StandbyTimeout <= 0 {
		c.StandbyTimeout = DefaultStandbyTimeout
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	if c.BusyRetry <= 0 {
		c.BusyRetry = DefaultBusyRetry
	}
	if c.ChunkEvents <= 0 {
		c.ChunkEvents = DefaultChunkEvents
	}
	if c.SpillDir == "" {
		c.SpillDir = os.TempDir()
	}
	if c.RetainedCheckInterval <= 0 {
		c.RetainedCheckInterval = DefaultRetainedCheckInterval
	}
	if c.MaxRetainedWALBytes == 0 {
		c.MaxRetainedWALBytes = DefaultMaxRetainedWALBytes
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if !ValidName(c.Slot) {
		return c, fmt.Errorf("invalid slot name %q: %s", c.Slot, NameRule)
	}
	if !ValidName(c.Publication) {
		return c, fmt.Errorf("invalid publication name %q: %s", c.Publication, NameRule)
	}
	return c, nil
}
