package walrelay

import (
	"errors"
	"reflect"
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
