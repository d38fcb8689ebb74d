package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walrelay/walrelay/authz"
	"github.com/walrelay/walrelay/config"
)

// mustTokenConfig writes a config with the given auth section and returns
// its path. walrelay token reads only the auth section; the database is
// never contacted.
func mustTokenConfig(t *testing.T, auth string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "walrelay.yaml")
	text := "database:\n  url: postgres://nobody@127.0.0.1:1/none\nauth:\n" + auth + "models:\n  Message:\n    table: messages\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The token `walrelay token` prints verifies with the verifier the server
// builds from the same config (issuer and audience included), and carries
// the sub, the extra claims and the expiry asked for.
func TestTokenVerifiesWithTheConfig(t *testing.T) {
	path := mustTokenConfig(t, "  jwt:\n    secret: ${TOKEN_TEST_SECRET}\n    issuer: https://id.example\n    audience: blog\n")
	t.Setenv("TOKEN_TEST_SECRET", initSecret)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"token", "--config", path, "--sub", "alice", "--claims", `{"roles":["admin"],"rooms":[1,2]}`, "--ttl", "10m"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSuffix(out.String(), "\n")
	if strings.ContainsAny(tok, " \n") || strings.Count(tok, ".") != 2 {
		t.Fatalf("output %q: want one JWT and a newline", out.String())
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	j := cfg.Auth.JWT
	// No leeway: Verify then answers the token's own exp.
	v, err := authz.NewVerifier(context.Background(), authz.VerifierConfig{Secret: j.Secret, Issuer: j.Issuer, Audience: j.Audience, Leeway: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	claims, exp, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("the server's verifier rejects the token: %v", err)
	}
	if claims["sub"] != "alice" || claims["iss"] != "https://id.example" {
		t.Errorf("claims = %v", claims)
	}
	if rooms, ok := claims["rooms"].([]any); !ok || len(rooms) != 2 || rooms[0] != int64(1) {
		t.Errorf("rooms = %#v, want the integers 1, 2", claims["rooms"])
	}
	if left := time.Until(exp); left < 9*time.Minute || left > 10*time.Minute+time.Second {
		t.Errorf("expires in %s, want 10m", left)
	}
	// Another secret's verifier refuses it: the token is signed with this one.
	other, err := authz.NewVerifier(context.Background(), authz.VerifierConfig{Secret: initSecret + "x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.Verify(context.Background(), tok); err == nil {
		t.Error("a verifier with another secret accepts the token")
	}
}

// Bad flags and a config without a secret are errors that say what to do,
// and print no token.
func TestTokenErrors(t *testing.T) {
	secret := mustTokenConfig(t, "  jwt:\n    secret: "+initSecret+"\n")
	jwks := mustTokenConfig(t, "  jwt:\n    jwks_url: https://id.example/.well-known/jwks.json\n")
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"no sub":         {[]string{"--config", secret}, "pass --sub"},
		"claims not obj": {[]string{"--config", secret, "--sub", "a", "--claims", "[1]"}, "--claims must be a JSON object"},
		"claims junk":    {[]string{"--config", secret, "--sub", "a", "--claims", `{"a":1} x`}, "one JSON object"},
		"ttl":            {[]string{"--config", secret, "--sub", "a", "--ttl", "-1h"}, "--ttl must be positive"},
		"jwks":           {[]string{"--config", jwks, "--sub", "a"}, "identity provider"},
		"no config":      {[]string{"--config", filepath.Join(t.TempDir(), "none.yaml"), "--sub", "a"}, "read config"},
	} {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"token"}, c.args...), &out, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, c.want)
		}
		if out.Len() != 0 {
			t.Errorf("%s: printed %q", name, out.String())
		}
	}
}
