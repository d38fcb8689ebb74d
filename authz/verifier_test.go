package authz

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/walrelay/walrelay"
)

const testSecret = "0123456789abcdef0123456789abcdef"

func claimsIn(d time.Duration) jwt.MapClaims {
	return jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(d).Unix(), "rooms": []any{1, 2}}
}

func sign(tb testing.TB, m jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	tb.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		tb.Fatalf("sign: %v", err)
	}
	return s
}

func mustVerifier(tb testing.TB, cfg VerifierConfig) *Verifier {
	tb.Helper()
	v, err := NewVerifier(context.Background(), cfg, nil)
	if err != nil {
		tb.Fatalf("NewVerifier: %v", err)
	}
	return v
}

func wantUnauthorized(t *testing.T, v *Verifier, token, why string) {
	t.Helper()
	_, _, err := v.Verify(context.Background(), token)
	if !errors.Is(err, walrelay.ErrUnauthorized) {
		t.Fatalf("Verify = %v, want ErrUnauthorized", err)
	}
	if why != "" && !strings.Contains(err.Error(), why) {
		t.Errorf("error %q does not say %q", err, why)
	}
}

func TestVerifyHS256(t *testing.T) {
	v := mustVerifier(t, VerifierConfig{Secret: testSecret, Issuer: "me", Audience: "app"})
	c := claimsIn(time.Hour)
	c["iss"], c["aud"] = "me", "app"
	claims, exp, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", c))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if claims["sub"] != "alice" || time.Until(exp) < 59*time.Minute {
		t.Errorf("claims %v exp %v", claims, exp)
	}
	if rooms, _ := claims["rooms"].([]any); len(rooms) != 2 || rooms[0] != int64(1) {
		t.Errorf("rooms = %#v, want int64s", claims["rooms"])
	}

	t.Run("wrong key", func(t *testing.T) {
		wantUnauthorized(t, v, sign(t, jwt.SigningMethodHS256, []byte("other-secret-other-secret-other"), "", c), "signature")
	})
	t.Run("alg none", func(t *testing.T) {
		wantUnauthorized(t, v, sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", c), "")
	})
	t.Run("HS512", func(t *testing.T) {
		wantUnauthorized(t, v, sign(t, jwt.SigningMethodHS512, []byte(testSecret), "", c), "")
	})
	t.Run("expired", func(t *testing.T) {
		e := claimsIn(-time.Minute)
		e["iss"], e["aud"] = "me", "app"
		wantUnauthorized(t, v, sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", e), "expired")
	})
	t.Run("expired within leeway", func(t *testing.T) {
		e := claimsIn(-10 * time.Second)
		e["iss"], e["aud"] = "me", "app"
		_, until, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", e))
		if err != nil {
			t.Errorf("Verify: %v", err)
		}
		// Accepted until exp plus the leeway: 20 s from now, not 10 s ago.
		if left := time.Until(until); left < 15*time.Second || left > DefaultLeeway {
			t.Errorf("accepted for %v more, want about 20s", left)
		}
	})
	t.Run("nbf in future", func(t *testing.T) {
		e := claimsIn(time.Hour)
		e["iss"], e["aud"], e["nbf"] = "me", "app", time.Now().Add(5*time.Minute).Unix()
		wantUnauthorized(t, v, sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", e), "not valid yet")
	})
	t.Run("no exp", func(t *testing.T) {
		e := jwt.MapClaims{"sub": "a", "iss": "me", "aud": "app"}
		wantUnauthorized(t, v, sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", e), "exp")
	})
	t.Run("exp not a number", func(t *testing.T) {
		for _, exp := range []any{nil, "tomorrow"} {
			e := jwt.MapClaims{"sub": "a", "iss": "me", "aud": "app", "exp": exp}
			wantUnauthorized(t, v, sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", e), "wrong type (exp")
		}
	})
	t.Run("wrong iss", func(t *testing.T) {
		e := claimsIn(time.Hour)
		e["iss"], e["aud"] = "you", "app"
		wantUnauthorized(t, v, sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", e), "issuer")
	})
	t.Run("wrong aud", func(t *testing.T) {
		e := claimsIn(time.Hour)
		e["iss"], e["aud"] = "me", []string{"other"}
		wantUnauthorized(t, v, sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", e), "audience")
	})
	t.Run("missing", func(t *testing.T) { wantUnauthorized(t, v, "", "missing") })
	t.Run("garbage", func(t *testing.T) { wantUnauthorized(t, v, "a.b.c", "") })
}

func TestAnonymous(t *testing.T) {
	v := mustVerifier(t, VerifierConfig{Secret: testSecret, Anonymous: true})
	claims, _, err := v.Verify(context.Background(), "")
	if err != nil || claims != nil || !v.Anonymous() {
		t.Fatalf("Verify(\"\") = %v, %v", claims, err)
	}
	if _, err := NewVerifier(context.Background(), VerifierConfig{}, nil); err == nil {
		t.Error("no keys and not anonymous: want error")
	}
	if _, err := NewVerifier(context.Background(), VerifierConfig{Secret: "s", JWKSURL: "http://x"}, nil); err == nil {
		t.Error("both keys: want error")
	}
}

// jwksServer serves a replaceable key set and counts fetches.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	body    []byte
	fetches atomic.Int32
}

func newJWKSServer(t *testing.T) *jwksServer {
	s := &jwksServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(s.body)
	}))
	t.Cleanup(s.Close)
	return s
}

// set publishes the given keys (public parts), by kid.
func (s *jwksServer) set(t *testing.T, keys map[string]any, extra ...jwkset.JWKMarshal) {
	t.Helper()
	var set jwkset.JWKSMarshal
	for kid, k := range keys {
		var alg jwkset.ALG = jwkset.AlgRS256
		if _, ok := k.(*ecdsa.PublicKey); ok {
			alg = jwkset.AlgES256
		}
		jwk, err := jwkset.NewJWKFromKey(k, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: alg, USE: jwkset.UseSig}})
		if err != nil {
			t.Fatal(err)
		}
		set.Keys = append(set.Keys, jwk.Marshal())
	}
	set.Keys = append(set.Keys, extra...)
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.body = b
	s.mu.Unlock()
}

func TestVerifyJWKS(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv := newJWKSServer(t)
	srv.set(t, map[string]any{"r1": &rsaKey.PublicKey, "e1": &ecKey.PublicKey},
		jwkset.JWKMarshal{KTY: jwkset.KtyOct, KID: "oct", K: "c2VjcmV0", ALG: jwkset.AlgHS256})
	v := mustVerifier(t, VerifierConfig{JWKSURL: srv.URL, JWKSMinRefetch: time.Hour})
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("fetches after start = %d, want 1", n)
	}
	ctx := context.Background()
	c := claimsIn(time.Hour)
	for name, tok := range map[string]string{
		"RS256": sign(t, jwt.SigningMethodRS256, rsaKey, "r1", c),
		"ES256": sign(t, jwt.SigningMethodES256, ecKey, "e1", c),
	} {
		if claims, _, err := v.Verify(ctx, tok); err != nil || claims["sub"] != "alice" {
			t.Errorf("%s: Verify = %v, %v", name, claims, err)
		}
	}

	t.Run("HS/RS confusion", func(t *testing.T) {
		der, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		wantUnauthorized(t, v, sign(t, jwt.SigningMethodHS256, pemKey, "r1", c), "")
		wantUnauthorized(t, v, sign(t, jwt.SigningMethodHS256, der, "r1", c), "")
		wantUnauthorized(t, v, sign(t, jwt.SigningMethodHS256, []byte("secret"), "oct", c), "")
		// An RSA key's kid with an EC algorithm, and the reverse.
		wantUnauthorized(t, v, sign(t, jwt.SigningMethodES256, ecKey, "r1", c), "")
		wantUnauthorized(t, v, sign(t, jwt.SigningMethodRS256, rsaKey, "e1", c), "")
	})
	t.Run("secret verifier rejects RS256", func(t *testing.T) {
		hs := mustVerifier(t, VerifierConfig{Secret: testSecret})
		wantUnauthorized(t, hs, sign(t, jwt.SigningMethodRS256, rsaKey, "r1", c), "")
	})
	t.Run("alg none", func(t *testing.T) {
		wantUnauthorized(t, v, sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "r1", c), "")
	})

	t.Run("unknown kid refetches once, then rotation", func(t *testing.T) {
		v := mustVerifier(t, VerifierConfig{JWKSURL: srv.URL, JWKSMinRefetch: time.Hour})
		before := srv.fetches.Load()
		rotated, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		srv.set(t, map[string]any{"r2": &rotated.PublicKey})
		tok := sign(t, jwt.SigningMethodRS256, rotated, "r2", c)
		if _, _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("rotated key: %v", err)
		}
		if n := srv.fetches.Load() - before; n != 1 {
			t.Errorf("fetches for unknown kid = %d, want 1", n)
		}
		// The old key is gone from the set now.
		wantUnauthorized(t, v, sign(t, jwt.SigningMethodRS256, rsaKey, "r1", c), "unknown signing key")
		// Forged kids are rate-limited: no more fetches within JWKSMinRefetch.
		for range 5 {
			wantUnauthorized(t, v, sign(t, jwt.SigningMethodRS256, rotated, "forged", c), "unknown signing key")
		}
		if n := srv.fetches.Load() - before; n != 1 {
			t.Errorf("fetches after forged kids = %d, want still 1", n)
		}
	})
}
