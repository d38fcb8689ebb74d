package walrelay

import (
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestCursorRoundTrip(t *testing.T) {
	for name, c := range map[string]Cursor{
		"event":    {Epoch: 3, LSN: 0x16B374D848, Seq: 7},
		"snapshot": {Epoch: 1, LSN: 42, Snapshot: true, Xmin: 700, Xmax: 710, Xip: []uint64{701, 705}},
		"empty":    {Snapshot: true, Xmin: 5, Xmax: 5},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := ParseCursor(c.String())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c) {
				t.Fatalf("got %+v, want %+v", got, c)
			}
		})
	}
}

func TestParseCursorRejects(t *testing.T) {
	for _, s := range []string{"", "!!", "YWJj", "YzEuMS4y", "YzEuYS4yLjM"} {
		if _, err := ParseCursor(s); !errors.Is(err, ErrBadRequest) {
			t.Errorf("ParseCursor(%q) = %v, want ErrBadRequest", s, err)
		}
	}
}

func TestParseChannel(t *testing.T) {
	ok := map[string]Channel{
		"Message:list":      {Model: "Message", Kind: KindList},
		"Message:item:42":   {Model: "Message", Kind: KindItem, ID: "42"},
		"Message:created":   {Model: "Message", Kind: KindCreated},
		"Message:updated:a": {Model: "Message", Kind: KindUpdated, ID: "a"},
		"Message:deleted:7": {Model: "Message", Kind: KindDeleted, ID: "7"},
	}
	for s, want := range ok {
		got, err := ParseChannel(s)
		if err != nil || got != want || got.String() != s {
			t.Errorf("ParseChannel(%q) = %+v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "Message", "Message:", "Message:item", "Message:list:1", "Message:bogus", ":list"} {
		if _, err := ParseChannel(s); !errors.Is(err, ErrBadRequest) {
			t.Errorf("ParseChannel(%q) = %v, want ErrBadRequest", s, err)
		}
	}
}

// The cursor's text is exactly its documented form, base64url of
// "c1.epoch.lsn.seq" (and ".xmin.xmax.xip-xip" for snapshots), so cursors
// given out before and after a change of the encoder stay the same.
func TestCursorTextForm(t *testing.T) {
	for _, c := range []Cursor{
		{},
		{Epoch: 4294967295, LSN: 0x16B374D848, Seq: 2147483647},
		{Epoch: 7, LSN: 1, Seq: 3, Snapshot: true, Xmin: 10, Xmax: 20},
		{Epoch: 7, LSN: 1, Seq: 3, Snapshot: true, Xmin: 10, Xmax: 20, Xip: []uint64{11, 15, 19}},
	} {
		raw := fmt.Sprintf("c1.%d.%d.%d", c.Epoch, uint64(c.LSN), c.Seq)
		if c.Snapshot {
			xip := make([]string, len(c.Xip))
			for i, x := range c.Xip {
				xip[i] = fmt.Sprint(x)
			}
			raw += fmt.Sprintf(".%d.%d.%s", c.Xmin, c.Xmax, strings.Join(xip, "-"))
		}
		if got, want := c.String(), base64.RawURLEncoding.EncodeToString([]byte(raw)); got != want {
			t.Errorf("%+v: %q, want %q", c, got, want)
		}
		if back, err := ParseCursor(c.String()); err != nil || back.String() != c.String() {
			t.Errorf("%+v: round trip %+v %v", c, back, err)
		}
	}
}
