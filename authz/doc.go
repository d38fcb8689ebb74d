// Package authz decides who may do what: it verifies JWTs (Verifier),
// compiles each model's permission rules (CEL) once at startup and
// type-checks them against the table's columns (Compile), evaluates them on
// rows (Policy.Allow), translates read rules into parameterized SQL WHERE
// clauses for REST reads (Policy.ReadSQL), and exposes the shape of read
// rules of the form row.col == auth.claim so that a router can index
// subscribers by claim value (Rule.Index, Rule.SubscriberKey).
//
// Everything here is safe for concurrent use once built. Nothing on the
// evaluation paths (Allow, ReadSQL, SubscriberKey) does I/O; only Verify may
// fetch a JWKS, and only when a key is unknown or stale.
//
// docs/authorization.md documents rules and tokens for users.
package authz
