package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// writePlan is an open-loop write schedule: row k (from 0) is due at
// start + k/rate, for rows due before end, and goes to key k mod keys
// (room k mod keys + 1, user "user-<k mod keys>"). Writers are separate
// pgx connections, as another application's would be; each row is one
// single-statement transaction.
type writePlan struct {
	writers    int
	rate       float64
	keys       int
	start, end time.Time
	// Rows due within [winFrom, winTo) count as the window's changes.
	winFrom, winTo time.Time
}

// writeResult is what the writers committed.
type writeResult struct {
	perKey   []int64 // committed rows per key
	total    int64
	inWindow int64
	maxLag   time.Duration // the most a row went out after its due time
}

func keyRoom(i int) int64  { return int64(i) + 1 }
func keyUser(i int) string { return "user-" + strconv.Itoa(i) }
func (p *writePlan) due(k int64) time.Time {
	return p.start.Add(time.Duration(float64(k) / p.rate * float64(time.Second)))
}

// runWriters connects the writers and runs the plan; it returns what was
// committed, or the first error (a failed insert ends the run: its rows'
// fate would be unknown).
func runWriters(ctx context.Context, dbURL string, p *writePlan) (*writeResult, error) {
	conns := make([]*pgx.Conn, p.writers)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close(context.WithoutCancel(ctx))
			}
		}
	}()
	for i := range conns {
		c, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			return nil, fmt.Errorf("writer %d: connect: %w", i, err)
		}
		if _, err := c.Prepare(ctx, "insert", insertSQL); err != nil {
			return nil, fmt.Errorf("writer %d: prepare: %w", i, err)
		}
		conns[i] = c
	}
	var next atomic.Int64
	results := make([]writeResult, p.writers)
	errs := make([]error, p.writers)
	var wg sync.WaitGroup
	for i, c := range conns {
		r := &results[i]
		r.perKey = make([]int64, p.keys)
		wg.Go(func() {
			timer := time.NewTimer(time.Hour)
			defer timer.Stop()
			for {
				k := next.Add(1) - 1
				due := p.due(k)
				if !due.Before(p.end) {
					return
				}
				if wait := time.Until(due); wait > 0 {
					timer.Reset(wait)
					select {
					case <-ctx.Done():
						return
					case <-timer.C:
					}
				} else {
					r.maxLag = max(r.maxLag, -wait)
				}
				ki := int(k % int64(p.keys))
				if _, err := c.Exec(ctx, "insert", keyRoom(ki), keyUser(ki), body); err != nil {
					errs[i] = fmt.Errorf("writer %d: insert: %w", i, err)
					return
				}
				r.perKey[ki]++
				r.total++
				if !due.Before(p.winFrom) && due.Before(p.winTo) {
					r.inWindow++
				}
			}
		})
	}
	wg.Wait()
	sum := &writeResult{perKey: make([]int64, p.keys)}
	for i, r := range results {
		if errs[i] != nil {
			return nil, errs[i]
		}
		for k, n := range r.perKey {
			sum.perKey[k] += n
		}
		sum.total += r.total
		sum.inWindow += r.inWindow
		sum.maxLag = max(sum.maxLag, r.maxLag)
	}
	return sum, ctx.Err()
}
