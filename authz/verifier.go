package authz

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/walrelay/walrelay"
)

// Defaults for VerifierConfig.
const (
	DefaultLeeway         = 30 * time.Second
	DefaultJWKSMaxAge     = time.Hour
	DefaultJWKSMinRefetch = time.Minute
	hsAlg                 = "HS256"
	maxTokenLength        = 16 << 10
)

// jwksAlgs are the algorithms accepted with a JWKS: asymmetric only.
var jwksAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}

// VerifierConfig configures token verification: either an HS256 Secret or
// a JWKSURL serving RS/PS/ES public keys, never both.
type VerifierConfig struct {
	// Secret is the HS256 key. With a Secret only HS256 tokens verify.
	Secret string
	// JWKSURL is where the public keys are fetched. With a JWKS only
	// asymmetric algorithms verify.
	JWKSURL string
	// Issuer and Audience, when set, must match the iss and aud claims.
	Issuer   string
	Audience string
	// Anonymous lets clients without a token in, with nil Claims.
	Anonymous bool
	// Leeway is the clock skew allowed on exp, nbf and iat (default
	// DefaultLeeway; negative means none).
	Leeway time.Duration
	// HTTPClient fetches the JWKS (default http.DefaultClient).
	HTTPClient *http.Client
	// JWKSMaxAge is how long a fetched key set is used before it is
	// fetched again (default DefaultJWKSMaxAge).
	JWKSMaxAge time.Duration
	// JWKSMinRefetch is the least time between two fetches caused by
	// unknown kids (default DefaultJWKSMinRefetch), so forged kids cannot
	// make the server hammer the JWKS endpoint.
	JWKSMinRefetch time.Duration
	// Now is the clock (default time.Now); for tests.
	Now func() time.Time
}

// Verifier checks JWTs. It is safe for concurrent use.
type Verifier struct {
	cfg    VerifierConfig
	parser *jwt.Parser
	jwks   *jwksCache // nil with a secret
	logger *slog.Logger
}

// NewVerifier checks cfg and, with a JWKS, fetches the key set once; a
// failing first fetch is logged, not fatal, and retried on the first token.
// ctx bounds that first fetch only.
func NewVerifier(ctx context.Context, cfg VerifierConfig, logger *slog.Logger) (*Verifier, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Secret != "" && cfg.JWKSURL != "" {
		return nil, errors.New("auth.jwt: set either secret or jwks_url, not both")
	}
	if cfg.Secret == "" && cfg.JWKSURL == "" && !cfg.Anonymous {
		return nil, errors.New("auth.jwt: set secret or jwks_url (or auth.anonymous: true)")
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = DefaultLeeway
	} else if cfg.Leeway < 0 {
		cfg.Leeway = 0
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.JWKSMaxAge <= 0 {
		cfg.JWKSMaxAge = DefaultJWKSMaxAge
	}
	if cfg.JWKSMinRefetch <= 0 {
		cfg.JWKSMinRefetch = DefaultJWKSMinRefetch
	}
	algs := []string{hsAlg}
	if cfg.JWKSURL != "" {
		algs = jwksAlgs
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(algs),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithJSONNumber(),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v := &Verifier{cfg: cfg, parser: jwt.NewParser(opts...), logger: logger}
	if cfg.JWKSURL != "" {
		v.jwks = &jwksCache{
			url: cfg.JWKSURL, client: cfg.HTTPClient, logger: logger, now: cfg.Now,
			maxAge: cfg.JWKSMaxAge, minRefetch: cfg.JWKSMinRefetch,
		}
		if err := v.jwks.refresh(ctx); err != nil {
			logger.WarnContext(ctx, "jwks: first fetch failed", "url", cfg.JWKSURL, "err", err)
		}
	}
	return v, nil
}

// Anonymous reports whether clients without a token are let in.
func (v *Verifier) Anonymous() bool { return v.cfg.Anonymous }

// Verify checks token and returns its claims and the time until which it
// is accepted: its exp plus the leeway, the same bound this check applies,
// so that a connection opened with a token is closed exactly when a new
// request with it would be refused. An empty token
// gives nil claims and a zero time when anonymous access is on. Errors wrap
// walrelay.ErrUnauthorized and say why in client-safe words. Verify may
// fetch the JWKS (see VerifierConfig); it never blocks on the rate limit.
func (v *Verifier) Verify(ctx context.Context, token string) (Claims, time.Time, error) {
	if token == "" {
		if v.cfg.Anonymous {
			return nil, time.Time{}, nil
		}
		return nil, time.Time{}, fmt.Errorf("%w: missing token", walrelay.ErrUnauthorized)
	}
	if v.cfg.Secret == "" && v.jwks == nil {
		return nil, time.Time{}, fmt.Errorf("%w: tokens are not accepted (no keys configured)", walrelay.ErrUnauthorized)
	}
	if len(token) > maxTokenLength {
		return nil, time.Time{}, fmt.Errorf("%w: token too long", walrelay.ErrUnauthorized)
	}
	mc := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(token, mc, func(t *jwt.Token) (any, error) { return v.keyFor(ctx, t) })
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: %s", walrelay.ErrUnauthorized, reason(err))
	}
	exp, err := mc.GetExpirationTime()
	if err != nil || exp == nil {
		return nil, time.Time{}, fmt.Errorf("%w: invalid exp", walrelay.ErrUnauthorized)
	}
	claims := Claims(normalizeClaims(map[string]any(mc)).(map[string]any))
	return claims, exp.Time.Add(v.cfg.Leeway), nil
}

// keyFor picks the verification key for a token whose alg the parser has
// already checked against the allowed list.
func (v *Verifier) keyFor(ctx context.Context, t *jwt.Token) (any, error) {
	if v.jwks == nil {
		return []byte(v.cfg.Secret), nil
	}
	kid, _ := t.Header["kid"].(string)
	k, err := v.jwks.key(ctx, kid)
	if err != nil {
		return nil, err
	}
	alg := t.Method.Alg()
	if k.alg != "" && k.alg != alg {
		return nil, fmt.Errorf("key %q is for %s, token uses %s", kid, k.alg, alg)
	}
	switch k.key.(type) {
	case *rsa.PublicKey:
		if alg[0] != 'R' && alg[0] != 'P' {
			return nil, fmt.Errorf("key %q is an RSA key, token uses %s", kid, alg)
		}
	case *ecdsa.PublicKey:
		if alg[0] != 'E' {
			return nil, fmt.Errorf("key %q is an EC key, token uses %s", kid, alg)
		}
	}
	return k.key, nil
}

// reason turns a jwt error into a short client-safe reason.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed token"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "token not valid yet"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token used before issued"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "token lacks a required claim (exp)"
	case errors.Is(err, jwt.ErrInvalidType):
		return "a claim has the wrong type (exp, nbf and iat are seconds since 1970; iss and sub strings; aud a string or a list)"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	case errors.Is(err, errUnknownKey):
		return "unknown signing key"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "invalid signature"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "token cannot be verified (algorithm or key not accepted)"
	}
	return "invalid token"
}
