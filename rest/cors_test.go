package rest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/walrelay/walrelay/rest"
)

// corsDo sends a request with an Origin header (and the given extra
// headers) and returns the response, body drained.
func corsDo(t *testing.T, e *env, method, path, origin string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", origin)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// Pages on the allowed origins may call the API from a browser: their
// preflight is answered without a token, and the answers (errors too)
// carry the headers that let the page read them, the cursor included.
// Other origins get no CORS headers, so their pages cannot read anything.
func TestCORS(t *testing.T) {
	e := mustDocs(t, false, rest.Config{AllowedOrigins: []string{"app.example.com", "*.example.org", "http://localhost:5173"}})
	preflight := map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}
	for origin, allowed := range map[string]bool{
		"https://app.example.com":  true,
		"https://APP.example.com":  true,
		"https://a.example.org":    true,
		"http://localhost:5173":    true,
		"https://localhost:5173":   false, // the pattern names the scheme
		"https://example.com":      false,
		"https://app.example.com.": false,
		"https://evil.com":         false,
		"null":                     false,
	} {
		res := corsDo(t, e, "OPTIONS", "/api/docs", origin, preflight)
		got := res.Header.Get("Access-Control-Allow-Origin")
		if !allowed {
			if got != "" {
				t.Errorf("preflight from %s: Access-Control-Allow-Origin %q, want none", origin, got)
			}
			continue
		}
		if res.StatusCode != 200 || got != origin {
			t.Errorf("preflight from %s: %d, Access-Control-Allow-Origin %q, want 200 and the origin", origin, res.StatusCode, got)
		}
		if h := strings.ToLower(res.Header.Get("Access-Control-Allow-Headers")); !strings.Contains(h, "authorization") || !strings.Contains(h, "content-type") {
			t.Errorf("preflight from %s: Access-Control-Allow-Headers %q", origin, h)
		}
		if m := res.Header.Get("Access-Control-Allow-Methods"); m != "POST" {
			t.Errorf("preflight from %s: Access-Control-Allow-Methods %q", origin, m)
		}
	}
	// A method the API does not have is not offered.
	if res := corsDo(t, e, "OPTIONS", "/api/docs", "https://app.example.com", map[string]string{"Access-Control-Request-Method": "PUT"}); res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("preflight for PUT is allowed")
	}

	origin := "https://app.example.com"
	res := corsDo(t, e, "GET", "/api/docs", origin, map[string]string{"Authorization": bearer(t, jwt.MapClaims{"sub": "alice"})})
	if res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("GET from %s: %d, Access-Control-Allow-Origin %q", origin, res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
	}
	if exp := res.Header.Get("Access-Control-Expose-Headers"); !strings.Contains(exp, rest.CursorHeader) || !strings.Contains(exp, "Retry-After") {
		t.Errorf("Access-Control-Expose-Headers %q: the page cannot read the cursor or Retry-After", exp)
	}
	// A 401 is readable by the page too, so it can tell the user to sign in.
	if res := corsDo(t, e, "GET", "/api/docs", origin, nil); res.StatusCode != 401 || res.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Errorf("GET without a token from %s: %d, Access-Control-Allow-Origin %q", origin, res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
	}
	if res := corsDo(t, e, "GET", "/api/docs", "https://evil.com", map[string]string{"Authorization": bearer(t, jwt.MapClaims{"sub": "alice"})}); res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("GET from another origin carries Access-Control-Allow-Origin")
	}
	// Without allowed origins, no CORS at all: a preflight is an
	// unauthenticated request like any other.
	plain := mustDocs(t, false, rest.Config{})
	if res := corsDo(t, plain, "OPTIONS", "/api/docs", origin, preflight); res.StatusCode != 401 || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight without allowed_origins: %d, %q", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
	}
}
