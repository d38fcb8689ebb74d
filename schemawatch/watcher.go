package schemawatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/store"
)

// DefaultPoll is how often the catalog is read without a signal.
const DefaultPoll = 30 * time.Second

// refreshTimeout bounds one reading of the catalog.
const refreshTimeout = 15 * time.Second

// Querier runs catalog queries; *pgxpool.Pool implements it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Config configures a Watcher.
type Config struct {
	// URL is the database URL of the LISTEN connection; empty: no
	// listening (signals then come from Kick, Refresh and the poll).
	URL string
	// Poll is the interval of reading the catalog without a signal;
	// 0: DefaultPoll; negative: never.
	Poll time.Duration
	// Register, when set, is given the type OIDs of every new version's
	// columns before the version is served.
	Register func(ctx context.Context, oids []uint32) error
	// Logger receives changes and problems; nil: discarded.
	Logger *slog.Logger
}

// Change is one model's new version, handed to the OnChange hooks.
type Change struct {
	Old, New *walrelay.Model
}

// Watcher replaces the schema's model versions when the catalog shows
// their tables changed. Refresh and Kick may be called from any goroutine;
// Run runs once.
type Watcher struct {
	cfg     Config
	schema  *walrelay.Schema
	q       Querier
	log     *slog.Logger
	startup map[string]*walrelay.Model // the pinned versions, by name
	hooks   []func(Change)
	kick    chan struct{}

	requested atomic.Uint64 // refreshes asked for
	mu        sync.Mutex    // held while reading the catalog
	started   uint64        // requests the last refresh started after
	lastErr   error
}

// New returns a Watcher of schema's models, which must have their Pins set
// (see Pin): those versions are what later ones are checked against. q
// runs the catalog queries.
func New(schema *walrelay.Schema, q Querier, cfg Config) *Watcher {
	if cfg.Poll == 0 {
		cfg.Poll = DefaultPoll
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{cfg: cfg, schema: schema, q: q, log: log, startup: map[string]*walrelay.Model{}, kick: make(chan struct{}, 1)}
	for _, m := range schema.Models() {
		w.startup[m.Name] = m
	}
	return w
}

// OnChange adds fn, called after each model version is replaced (from the
// goroutine that read the catalog, in order). Call it before Run.
func (w *Watcher) OnChange(fn func(Change)) { w.hooks = append(w.hooks, fn) }

// Kick asks for the catalog to be read soon, without waiting; it never
// blocks (the replication goroutine calls it). Run serves it.
func (w *Watcher) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Refresh reads the catalog and replaces the versions of the models whose
// tables changed, before it returns. Concurrent calls share a reading that
// starts after all of them were made. It returns an error only when the
// catalog could not be read (the versions then stay as they are).
func (w *Watcher) Refresh(ctx context.Context) error {
	want := w.requested.Add(1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started >= want {
		return w.lastErr // a reading that started after this call is done
	}
	w.started = w.requested.Load()
	// Others may wait for this reading: it must not end with this
	// caller's request.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
	defer cancel()
	w.lastErr = w.refresh(ctx)
	return w.lastErr
}

// Run serves Kick, listens for NOTIFY on Channel (Config.URL) and polls,
// until ctx ends. It returns nil then; problems are logged and retried.
func (w *Watcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	if w.cfg.URL != "" {
		wg.Go(func() { w.listen(ctx) })
	}
	var tick <-chan time.Time
	if w.cfg.Poll > 0 {
		t := time.NewTicker(w.cfg.Poll)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.kick:
		case <-tick:
		}
		if err := w.Refresh(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("schema: read the catalog", "err", err)
		}
	}
}

// listen keeps a connection LISTENing on Channel and kicks on every
// notification, and after every (re)connect, since notices sent while it
// was away are lost.
func (w *Watcher) listen(ctx context.Context) {
	backoff := 200 * time.Millisecond
	for ctx.Err() == nil {
		err := w.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		w.log.Warn("schema: LISTEN connection lost; reconnecting", "err", err, "in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, 15*time.Second)
	}
}

func (w *Watcher) listenOnce(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, w.cfg.URL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "listen "+Channel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	w.Kick()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		w.Kick()
	}
}

// refresh reads every model's table and replaces the versions that
// changed. Called with mu held.
func (w *Watcher) refresh(ctx context.Context) error {
	var errs []error
	for _, cur := range w.schema.Models() {
		next, err := w.version(ctx, cur)
		if err != nil {
			errs = append(errs, fmt.Errorf("model %s: %w", cur.Name, err))
			continue
		}
		if same(cur, next) {
			continue
		}
		if next.Unavailable == nil && w.cfg.Register != nil {
			oids := make([]uint32, len(next.Columns))
			for i, c := range next.Columns {
				oids[i] = c.TypeOID
			}
			if err := w.cfg.Register(ctx, oids); err != nil {
				errs = append(errs, fmt.Errorf("model %s: load column types: %w", cur.Name, err))
				continue
			}
		}
		if _, ok := w.schema.Replace(next); !ok {
			errs = append(errs, fmt.Errorf("model %s: replace version: not the same model", cur.Name))
			continue
		}
		w.logChange(cur, next)
		for _, fn := range w.hooks {
			fn(Change{Old: cur, New: next})
		}
	}
	return errors.Join(errs...)
}

// version reads model cur's table and returns its version now: the
// pinned startup version with today's columns, or stopped (with the last
// columns served) when a pinned column, the table or its primary key no
// longer fits.
func (w *Watcher) version(ctx context.Context, cur *walrelay.Model) (*walrelay.Model, error) {
	pinned := w.startup[cur.Name]
	cols, pk, err := store.ReadTable(ctx, w.q, pinned.Schema, pinned.Table)
	if err != nil && !errors.Is(err, store.ErrTableMismatch) {
		return nil, err
	}
	next := *pinned
	if err != nil {
		// Keep the last columns: the stopped version runs no query.
		next.Columns, next.PrimaryKey = cur.Columns, cur.PrimaryKey
		next.Unavailable = &walrelay.Mismatch{Model: pinned.Name}
		next.Unavailable.Add(pinned.Source, "%v", err)
		return &next, nil
	}
	next.Columns, next.PrimaryKey = cols, pk
	mm := next.CheckPins(cols, nil)
	if pk != pinned.PrimaryKey {
		if mm == nil {
			mm = &walrelay.Mismatch{Model: pinned.Name}
		}
		mm.Add(pinned.Source, "the primary key of %s is now %q instead of %q", pinned.QualifiedTable(), pk, pinned.PrimaryKey)
	}
	if mm != nil {
		// A stopped version runs no query and shows (OpenAPI, inspector)
		// the last columns served: today's may name a hidden column
		// renamed.
		next.Columns, next.PrimaryKey = cur.Columns, cur.PrimaryKey
	}
	next.Unavailable = mm
	return &next, nil
}

// same reports whether two versions serve alike.
func same(a, b *walrelay.Model) bool {
	return a.PrimaryKey == b.PrimaryKey && slices.Equal(a.Columns, b.Columns) && a.Unavailable.Equal(b.Unavailable)
}

func (w *Watcher) logChange(old, now *walrelay.Model) {
	switch {
	case now.Unavailable != nil:
		w.log.Error("schema: the table no longer fits the config; the model is stopped (REST answers 503) until it does",
			"model", now.Name, "err", now.Unavailable)
	case old.Unavailable != nil:
		w.log.Info("schema: the table fits the config again; the model is served", "model", now.Name, "columns", len(now.Columns))
	default:
		w.log.Info("schema: the table changed; serving its new columns", "model", now.Name, "columns", columnNames(now))
	}
}

func columnNames(m *walrelay.Model) []string {
	out := make([]string, 0, len(m.Columns))
	for _, c := range m.Columns {
		if !m.Hidden(c.Name) {
			out = append(out, c.Name)
		}
	}
	return out
}
