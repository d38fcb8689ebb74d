package rest

import (
	"fmt"
	"testing"
	"time"
)

func TestLimitersRefillAndEvict(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLimiters(2, 4, func() time.Time { return now }) // refills in 2 s
	for i := 0; i < 4; i++ {
		if _, ok := l.allow("a"); !ok {
			t.Fatalf("request %d denied within the burst", i)
		}
	}
	wait, ok := l.allow("a")
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("over the burst: ok %v wait %v", ok, wait)
	}
	if _, ok := l.allow("b"); !ok {
		t.Fatal("another key shares the bucket")
	}
	now = now.Add(500 * time.Millisecond)
	if _, ok := l.allow("a"); !ok {
		t.Fatal("no refill after 0.5 s at 2/s")
	}
	// Many one-off callers: once idle for a full refill period, their
	// buckets are dropped.
	for i := 0; i < 1000; i++ {
		l.allow(fmt.Sprint("ip:", i))
	}
	if n := l.size(); n < 1000 {
		t.Fatalf("%d buckets, want all active ones kept", n)
	}
	now = now.Add(l.idle)
	l.allow("c")
	if n := l.size(); n != 1 {
		t.Fatalf("%d buckets after the idle period, want 1", n)
	}
	if newLimiters(-1, 0, time.Now) != nil {
		t.Fatal("negative rate does not disable the limit")
	}
	var off *limiters
	if _, ok := off.allow("x"); !ok {
		t.Fatal("disabled limiter denies")
	}
}
