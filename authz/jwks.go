package authz

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"golang.org/x/sync/singleflight"
)

// errUnknownKey is returned for a kid the key set does not hold, even
// after a refetch (or when a refetch was rate-limited).
var errUnknownKey = errors.New("unknown signing key")

// publicKey is one usable verification key of a JWKS.
type publicKey struct {
	key any    // *rsa.PublicKey or *ecdsa.PublicKey
	alg string // the JWK's "alg", empty when unset
}

// jwksCache holds a remote JWK set. It refetches the set when it is older
// than maxAge, and on an unknown kid at most once per minRefetch. Fetches
// are coalesced: concurrent callers wait for one request. All methods are
// safe for concurrent use.
type jwksCache struct {
	url        string
	client     *http.Client
	logger     *slog.Logger
	maxAge     time.Duration
	minRefetch time.Duration
	now        func() time.Time
	group      singleflight.Group

	mu          sync.Mutex
	keys        map[string]publicKey // by kid; "" holds the only key when there is one
	fetchedAt   time.Time            // last successful fetch
	refetchedAt time.Time            // last fetch caused by key (unknown kid or stale set)
}

// key returns the verification key for kid, fetching the set when needed.
func (c *jwksCache) key(ctx context.Context, kid string) (publicKey, error) {
	c.mu.Lock()
	k, ok := c.keys[kid]
	now := c.now()
	stale := now.Sub(c.fetchedAt) > c.maxAge
	mayFetch := now.Sub(c.refetchedAt) >= c.minRefetch
	if mayFetch {
		c.refetchedAt = now
	}
	c.mu.Unlock()
	if ok && !stale {
		return k, nil
	}
	if !mayFetch {
		if ok {
			return k, nil // stale, but a fetch was just tried
		}
		return publicKey{}, fmt.Errorf("%w %q", errUnknownKey, kid)
	}
	if err := c.refresh(ctx); err != nil {
		c.logger.WarnContext(ctx, "jwks refresh failed", "url", c.url, "err", err)
		if ok {
			return k, nil // keep serving the cached key
		}
		return publicKey{}, fmt.Errorf("%w %q", errUnknownKey, kid)
	}
	c.mu.Lock()
	k, ok = c.keys[kid]
	c.mu.Unlock()
	if !ok {
		return publicKey{}, fmt.Errorf("%w %q", errUnknownKey, kid)
	}
	return k, nil
}

// refresh fetches the key set once, shared by concurrent callers.
func (c *jwksCache) refresh(ctx context.Context) error {
	_, err, _ := c.group.Do("fetch", func() (any, error) {
		// A caller giving up must not fail the fetch for everyone waiting.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		keys, err := c.fetch(fctx)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.keys, c.fetchedAt = keys, c.now()
		c.mu.Unlock()
		return nil, nil
	})
	return err
}

// fetch downloads and parses the key set. Only RSA and EC public keys meant
// for signatures are kept; symmetric keys are never used, so a token cannot
// be verified with an HMAC over a public key.
func (c *jwksCache) fetch(ctx context.Context) (map[string]publicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks request: %w", err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks get: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks get: status %d", resp.StatusCode)
	}
	var set jwkset.JWKSMarshal
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("jwks decode: %w", err)
	}
	keys := map[string]publicKey{}
	for _, m := range set.Keys {
		if m.USE != "" && m.USE != jwkset.UseSig {
			continue
		}
		jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			c.logger.Warn("jwks: skipping key", "kid", m.KID, "err", err)
			continue
		}
		var pub any
		switch k := jwk.Key().(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey:
			pub = k
		case *rsa.PrivateKey:
			pub = &k.PublicKey
		case *ecdsa.PrivateKey:
			pub = &k.PublicKey
		default:
			continue // oct, OKP: not accepted
		}
		keys[m.KID] = publicKey{key: pub, alg: string(m.ALG)}
	}
	if len(keys) == 1 {
		for _, k := range keys {
			keys[""] = k // tokens without a kid may use the only key
		}
	}
	return keys, nil
}
