package hub

import (
	"sync"
	"sync/atomic"
	"testing"
)

// Encoded computes a Message's encoding once and shares it: every caller,
// concurrent or later, gets the same bytes, and encode runs at most once
// per caller that found it missing.
func TestEncodedShared(t *testing.T) {
	m := &Message{Channel: "Message:list"}
	var calls atomic.Int64
	encode := func(m *Message) ([]byte, error) {
		calls.Add(1)
		return []byte(m.Channel), nil
	}
	var wg sync.WaitGroup
	got := make([][]byte, 64)
	for i := range got {
		wg.Go(func() { got[i], _ = m.Encoded(encode) })
	}
	wg.Wait()
	for _, b := range got {
		if &b[0] != &got[0][0] {
			t.Fatal("callers got different encodings")
		}
	}
	before := calls.Load()
	if b, _ := m.Encoded(encode); &b[0] != &got[0][0] || calls.Load() != before {
		t.Fatal("a later call encoded again")
	}
	if b, _ := m.EncodedAs(1, func(*Message) ([]byte, error) { return []byte("other"), nil }); string(b) != "other" {
		t.Fatalf("second encoding = %q", b)
	}
}
