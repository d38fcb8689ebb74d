package ws

import (
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestConnectionsPerUser(t *testing.T) {
	env := mustEnvAuth(t, Config{Limits: Limits{MaxConnectionsPerUser: 2}}, authSchema(), nil, true, nil)
	alice := token(t, jwt.MapClaims{"sub": "alice"}, hour())
	a1 := env.dialToken(alice)
	a2, _, err := env.tryDial("", http.Header{"Authorization": {"Bearer " + alice}})
	if err != nil {
		t.Fatal(err)
	}
	// Token in the URL: 429 before the upgrade.
	if _, resp, err := env.tryDial("token="+alice, nil); err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third connection: %v, %v; want HTTP 429", resp, err)
	}
	// Token in an auth message: close 4429.
	a3, _, err := env.tryDial("", nil) // anonymous: not counted
	if err != nil {
		t.Fatal(err)
	}
	a3.send(map[string]any{"type": "auth", "token": alice})
	if st := a3.closeStatus(5 * time.Second); st != closeRateLimited {
		t.Fatalf("close status %v, want 4429", st)
	}
	// Other users and anonymous clients are not affected.
	env.dialToken(token(t, jwt.MapClaims{"sub": "bob"}, hour())).subscribe("Notification:list", "")
	env.dial().subscribe("Post:list", "")
	// A refresh as someone else frees alice's slot.
	a2.auth(token(t, jwt.MapClaims{"sub": "carol"}, hour()))
	a4 := env.dialToken(alice)
	a4.subscribe("Notification:list", "")
	// Closing frees a slot too.
	_ = a1.ws.CloseNow()
	waitFor(t, "a slot for alice", func() bool {
		c, _, err := env.tryDial("token="+alice, nil)
		if err == nil {
			_ = c.ws.CloseNow()
		}
		return err == nil
	})
}

func TestConnectionsPerIP(t *testing.T) {
	env := mustEnvAuth(t, Config{Limits: Limits{MaxConnectionsPerIP: 2}}, authSchema(), nil, true, nil)
	first := env.dial()
	env.dial()
	if _, resp, err := env.tryDial("", nil); err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third connection: %v, %v; want HTTP 429", resp, err)
	}
	_ = first.ws.CloseNow()
	waitFor(t, "a slot for the address", func() bool {
		c, _, err := env.tryDial("", nil)
		if err == nil {
			_ = c.ws.CloseNow()
		}
		return err == nil
	})
}

func TestClientIP(t *testing.T) {
	for name, tc := range map[string]struct {
		remote string
		xff    []string
		trust  bool
		want   string
	}{
		"peer":             {remote: "10.0.0.1:5555", want: "10.0.0.1"},
		"xff untrusted":    {remote: "10.0.0.1:5555", xff: []string{"1.2.3.4"}, want: "10.0.0.1"},
		"xff trusted":      {remote: "10.0.0.1:5555", xff: []string{"6.6.6.6, 1.2.3.4"}, trust: true, want: "1.2.3.4"},
		"xff repeated":     {remote: "10.0.0.1:5555", xff: []string{"6.6.6.6", "1.2.3.4"}, trust: true, want: "1.2.3.4"},
		"xff garbage":      {remote: "10.0.0.1:5555", xff: []string{"nope"}, trust: true, want: "10.0.0.1"},
		"ipv6 peer":        {remote: "[::1]:80", want: "::1"},
		"trusted, no xff":  {remote: "10.0.0.2:1", trust: true, want: "10.0.0.2"},
		"unparsable peer":  {remote: "pipe", want: "pipe"},
		"xff ipv6 trusted": {remote: "10.0.0.1:5555", xff: []string{"2001:db8::1"}, trust: true, want: "2001:db8::1"},
	} {
		r, _ := http.NewRequest("GET", "/ws", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := clientIP(r, tc.trust); got != tc.want {
			t.Errorf("%s: got %q, want %q", name, got, tc.want)
		}
	}
}
