package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// options are the flags of a run; zero sizes take the scenario's default.
type options struct {
	url, dbURL, secret, slot string
	syncCommit               string // the started Postgres's synchronous_commit
	serverPID                int

	clients, rooms, writers int
	rate                    float64
	duration, warmup        time.Duration
	rows                    int
	dialParallel            int
	drainIdle, drainMax     time.Duration

	jsonPath                             string
	cpuProfile, memProfile, mutexProfile string
	toolProfile                          string
}

// scenario is one of the tool's load shapes.
type scenario struct {
	name, about string
	// readRule is the Message model's read rule in the server config.
	readRule string
	defaults options
	run      func(ctx context.Context, o *options, sc *scenario, out *report) error
	// spec makes client i's identity and subscription.
	spec func(o *options, i int) *clientSpec
	// keys is how many keys the writers spread rows over.
	keys func(o *options) int
}

var scenarios = []*scenario{
	{
		name:     "chat",
		about:    "1,000 clients in 100 rooms, each on Message:list with room_id=eq.N (rule: row.room_id in auth.rooms); 1,000 inserts/s",
		readRule: "row.room_id in auth.rooms",
		defaults: options{clients: 1000, rooms: 100, rate: 1000, writers: 4, duration: 60 * time.Second, warmup: 5 * time.Second},
		run:      runStream,
		spec: func(o *options, i int) *clientSpec {
			k := i % o.rooms
			return &clientSpec{claims: claims(i, jwt.MapClaims{"rooms": []int64{keyRoom(k)}}),
				filter: "room_id=eq." + strconv.FormatInt(keyRoom(k), 10), room: keyRoom(k), keyIdx: k}
		},
		keys: func(o *options) int { return o.rooms },
	},
	{
		name:     "fanout",
		about:    "10,000 clients on one list channel (rule: authenticated); 25 inserts/s = 250,000 deliveries/s",
		readRule: "authenticated",
		defaults: options{clients: 10000, rate: 25, writers: 1, duration: 60 * time.Second, warmup: 5 * time.Second},
		run:      runStream,
		spec:     func(o *options, i int) *clientSpec { return &clientSpec{claims: claims(i, nil)} },
		keys:     func(*options) int { return 1 },
	},
	{
		name:     "per-user",
		about:    "10,000 clients with distinct sub (rule: row.user_id == auth.sub); 5,000 inserts/s over the users",
		readRule: "row.user_id == auth.sub",
		defaults: options{clients: 10000, rate: 5000, writers: 8, duration: 60 * time.Second, warmup: 5 * time.Second},
		run:      runStream,
		spec: func(o *options, i int) *clientSpec {
			return &clientSpec{claims: jwt.MapClaims{"sub": keyUser(i), "exp": time.Now().Add(24 * time.Hour).Unix()},
				user: keyUser(i), keyIdx: i}
		},
		keys: func(o *options) int { return o.clients },
	},
	{
		name:     "ingest",
		about:    "one subscriber, one 200,000-row COPY; time to the last event, against pg_recvlogical on the same rows",
		readRule: "authenticated",
		defaults: options{clients: 1, rows: 200000},
		run:      runIngest,
		spec:     func(o *options, i int) *clientSpec { return &clientSpec{claims: claims(i, nil)} },
	},
	{
		name:     "idle",
		about:    "10,000 idle subscribed connections; server memory per connection",
		readRule: "authenticated",
		defaults: options{clients: 10000, duration: 10 * time.Second},
		run:      runIdle,
		spec:     func(o *options, i int) *clientSpec { return &clientSpec{claims: claims(i, nil)} },
	},
}

func scenarioByName(name string) *scenario {
	for _, sc := range scenarios {
		if sc.name == name {
			return sc
		}
	}
	return nil
}

// claims are client i's token claims: its own sub, valid for a day.
func claims(i int, extra jwt.MapClaims) jwt.MapClaims {
	c := jwt.MapClaims{"sub": "load-" + strconv.Itoa(i), "exp": time.Now().Add(24 * time.Hour).Unix()}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// withDefaults fills the sizes left zero from the scenario.
func (o options) withDefaults(d options) options {
	set := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	set(&o.clients, d.clients)
	set(&o.rooms, d.rooms)
	set(&o.writers, d.writers)
	set(&o.rows, d.rows)
	if o.rate == 0 {
		o.rate = d.rate
	}
	if o.duration == 0 {
		o.duration = d.duration
	}
	if o.warmup < 0 {
		o.warmup = d.warmup
	}
	return o
}

func (o *options) params() map[string]any {
	return map[string]any{"synchronous_commit": o.syncCommit, "clients": o.clients, "rooms": o.rooms, "writers": o.writers, "rate": o.rate,
		"duration_s": o.duration.Seconds(), "warmup_s": o.warmup.Seconds(), "rows": o.rows}
}

func (o *options) specs(sc *scenario) []*clientSpec {
	specs := make([]*clientSpec, o.clients)
	for i := range specs {
		specs[i] = sc.spec(o, i)
	}
	return specs
}

// runStream runs chat, fanout and per-user: connect and subscribe every
// client, write at the rate for warmup + duration, measure the window
// after the warmup, then wait for the last deliveries and check them.
func runStream(ctx context.Context, o *options, sc *scenario, r *report) error {
	e, err := startEnv(ctx, o, sc.readRule)
	if err != nil {
		return err
	}
	defer e.close()
	f, err := connect(ctx, e, o, sc)
	if err != nil {
		return err
	}
	defer f.close()

	start := time.Now().Add(100 * time.Millisecond)
	plan := &writePlan{writers: o.writers, rate: o.rate, keys: sc.keys(o), start: start,
		end: start.Add(o.warmup + o.duration), winFrom: start.Add(o.warmup), winTo: start.Add(o.warmup + o.duration)}
	f.winFrom.Store(plan.winFrom.UnixMicro())
	f.winTo.Store(plan.winTo.UnixMicro())

	// The window's CPU and profiles: snapshots at its start and end.
	snaps := make(chan cpuSnap, 2)
	go func() {
		for i, at := range []time.Time{plan.winFrom, plan.winTo} {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(at)):
			}
			if i == 0 {
				e.signal(sysProfileStart)
			} else {
				e.signal(sysProfileStop)
			}
			snaps <- e.cpuSnap()
		}
	}()
	w, err := runWriters(ctx, e.dbURL, plan)
	if err != nil {
		return err
	}
	from, to := <-snaps, <-snaps
	want := func(c *client) int64 { return w.perKey[c.spec.keyIdx] }
	f.drain(ctx, want, o.drainIdle, o.drainMax)
	r.SlotLag = slotLag(ctx, e.dbURL, e.slot)
	f.close()

	var last int64
	for _, c := range f.clients {
		last = max(last, c.lastRecvUS)
	}
	r.LastAfterS = max(0, time.UnixMicro(last).Sub(plan.end).Seconds())
	r.Clients = len(f.clients)
	r.Checks = f.tally(want)
	r.Window = to.at.Sub(from.at).Seconds()
	r.Changes = w.total
	r.ChangesPerSec = float64(w.inWindow) / o.duration.Seconds()
	r.DeliveriesPerSec = float64(f.inWindow.Load()) / o.duration.Seconds()
	r.Latency = f.lat.Summary()
	r.WriterLagMaxMS = float64(w.maxLag) / float64(time.Millisecond)
	r.CPU = cpuBetween(from, to, e.serverPID != 0, r.Machine.CPUs)
	r.Frames = framesBetween(from, to)
	r.finishServer(e)
	r.OK = r.Checks.ok() && r.Checks.Delivered > 0
	return e.stopServer()
}

// connect dials the scenario's clients and waits until each is answered
// subscribed. The caller closes the fleet.
func connect(ctx context.Context, e *env, o *options, sc *scenario) (*fleet, error) {
	f, err := dialFleet(ctx, e.serverURL, o.secret, o.specs(sc), o.dialParallel)
	if err != nil {
		return nil, err
	}
	if err := f.waitSubscribed(ctx, time.Minute+time.Duration(o.clients)*5*time.Millisecond); err != nil {
		f.close()
		return nil, err
	}
	return f, nil
}

// finishServer records the server's memory and the profiles written.
func (r *report) finishServer(e *env) {
	if e.serverPID != 0 {
		r.ServerRSS, r.ServerPeakRSS, _ = procMem(e.serverPID)
	}
}

// profiles lists the profile files a run was asked for.
func (o *options) profiles() []string {
	var out []string
	for _, p := range []string{o.cpuProfile, o.memProfile, o.mutexProfile} {
		if p != "" {
			out = append(out, p)
		}
	}
	if o.memProfile != "" {
		out = append(out, o.memProfile+".start")
	}
	return out
}

// checkFlags rejects sizes that cannot run.
func (o *options) check() error {
	switch {
	case o.clients < 1:
		return fmt.Errorf("--clients must be positive")
	case o.rate < 0 || o.duration < 0 || o.warmup < 0:
		return fmt.Errorf("--rate, --duration and --warmup must not be negative")
	case o.writers < 0 || o.rooms < 0 || o.rows < 0:
		return fmt.Errorf("--writers, --rooms and --rows must not be negative")
	case o.syncCommit != "on" && o.syncCommit != "off":
		return fmt.Errorf("--synchronous-commit must be on or off")
	case o.url != "" && o.dbURL == "":
		return fmt.Errorf("--url needs --database-url (the writers write there)")
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		return fmt.Errorf("the load tool reads CPU and memory from /proc (Linux only): %w", err)
	}
	return nil
}
