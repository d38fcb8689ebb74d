package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/walrelay/walrelay/config"
)

const tokenUsage = `usage: walrelay token [--config walrelay.yaml] [--sub alice] [--claims JSON] [--ttl 1h]

Prints a JWT signed with the config's auth.jwt.secret (HS256), with the
config's issuer and audience, for trying the API with curl or a WebSocket
client. In production your identity provider issues the tokens.

  walrelay token --sub alice
  walrelay token --sub alice --claims '{"roles":["admin"],"rooms":[1,2]}' --ttl 10m
`

// mintToken runs `walrelay token`: it signs a token the server started with
// the same config accepts.
func mintToken(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() { fmt.Fprint(stdout, tokenUsage) }
	path := configFlag(fs)
	sub := fs.String("sub", "", "the sub claim: the user, as isOwner compares it")
	extra := fs.String("claims", "", "more claims, as a JSON object")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("token: unexpected argument %q", fs.Arg(0))
	}
	if *ttl <= 0 {
		return fmt.Errorf("token: --ttl must be positive, not %s", *ttl)
	}
	claims := jwt.MapClaims{}
	if *extra != "" {
		dec := json.NewDecoder(bytes.NewReader([]byte(*extra)))
		dec.UseNumber()
		if err := dec.Decode(&claims); err != nil {
			return fmt.Errorf("token: --claims must be a JSON object: %w", err)
		}
		if dec.More() {
			return errors.New("token: --claims must be one JSON object")
		}
	}
	if *sub != "" {
		claims["sub"] = *sub
	}
	if _, ok := claims["sub"]; !ok {
		return errors.New("token: pass --sub (or a sub in --claims): the user the token is for")
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	jc := cfg.Auth.JWT
	if jc.Secret == "" {
		return fmt.Errorf("token: %s: auth.jwt has no secret; with jwks_url, tokens come from your identity provider", cfg.Pos("$.auth.jwt"))
	}
	now := time.Now()
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(*ttl).Unix()
	if jc.Issuer != "" {
		claims["iss"] = jc.Issuer
	}
	if jc.Audience != "" {
		claims["aud"] = jc.Audience
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(jc.Secret))
	if err != nil {
		return fmt.Errorf("token: sign: %w", err)
	}
	_, err = fmt.Fprintln(stdout, signed)
	return err
}
