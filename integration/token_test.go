package integration

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// token signs an HS256 token with testSecret for claims, valid for ttl.
func token(t *testing.T, claims map[string]any, ttl time.Duration) string {
	t.Helper()
	mc := jwt.MapClaims{"exp": time.Now().Add(ttl).Unix(), "iat": time.Now().Unix()}
	for k, v := range claims {
		mc[k] = v
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, mc).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// wrongKeyToken is a well-formed token signed with another secret.
func wrongKeyToken(t *testing.T) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "bob", "exp": time.Now().Add(time.Hour).Unix()}).
		SignedString([]byte("not-the-secret"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
