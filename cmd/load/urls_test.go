package main

import (
	"reflect"
	"testing"
)

// --url takes one server or the nodes of a cluster.
func TestServerURLs(t *testing.T) {
	for in, want := range map[string][]string{
		"http://a:1":                       {"http://a:1"},
		"http://a:1/, http://b:2,":         {"http://a:1", "http://b:2"},
		"http://a:1,http://b:2,http://c:3": {"http://a:1", "http://b:2", "http://c:3"},
	} {
		if got := serverURLs(in); !reflect.DeepEqual(got, want) {
			t.Errorf("serverURLs(%q) = %q, want %q", in, got, want)
		}
	}
}
