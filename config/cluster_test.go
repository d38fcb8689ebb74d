package config

import (
	"strings"
	"testing"
	"time"
)

func TestClusterSection(t *testing.T) {
	base := "database:\n  url: postgres://x\n"
	cfg, err := Parse("w.yaml", []byte(base), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cluster != nil {
		t.Fatalf("no cluster section: Cluster = %+v, want nil (single node)", cfg.Cluster)
	}
	cfg, err = Parse("w.yaml", []byte(base+"cluster:\n  nats_url: nats://127.0.0.1:4222\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Cluster{NATSURL: "nats://127.0.0.1:4222", Name: DefaultClusterName, Replicas: 1, PresenceTimeout: DefaultPresenceTimeout}
	if *cfg.Cluster != want {
		t.Fatalf("defaults: %+v, want %+v", *cfg.Cluster, want)
	}
	cfg, err = Parse("w.yaml", []byte(base+"cluster:\n  nats_url: nats://a:1,nats://b:2\n  name: chat-prod\n  node: n1\n  replicas: 3\n  presence_timeout: 5s\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.Cluster; c.Name != "chat-prod" || c.Node != "n1" || c.Replicas != 3 || c.PresenceTimeout != 5*time.Second {
		t.Fatalf("parsed %+v", *c)
	}
}

func TestClusterErrors(t *testing.T) {
	base := "database:\n  url: postgres://x\ncluster:\n"
	for name, tc := range map[string]struct{ yaml, want string }{
		"no url":      {base + "  name: x\n", "w.yaml:4: cluster.nats_url is required"},
		"bad url":     {base + "  nats_url: \"nats://u:secret@\"\n", `cluster.nats_url "nats://u:xxxxx@": want nats://host:port`},
		"bad name":    {base + "  nats_url: nats://a:1\n  name: \"a.b\"\n", `w.yaml:5: cluster.name "a.b"`},
		"replicas":    {base + "  nats_url: nats://a:1\n  replicas: 7\n", "cluster.replicas 7: want 1 to 5"},
		"timeout":     {base + "  nats_url: nats://a:1\n  presence_timeout: 10ms\n", "cluster.presence_timeout 10ms"},
		"unknown key": {base + "  nats_url: nats://a:1\n  natsurl: x\n", `unknown field "natsurl"`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("w.yaml", []byte(tc.yaml), env(nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("error shows the password: %v", err)
			}
		})
	}
}
