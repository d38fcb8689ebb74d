// Package inspector serves walrelay's inspector at /_/ (server.inspector:
// true; off by default): a page, embedded in the binary and built without
// any step, that shows the models and whether each is served, the slot and
// its lag, the open connections and their subscriptions, recent warnings
// and errors, and the live event stream of any channel as clients receive
// it (hidden columns removed).
//
// The page itself holds nothing; everything it shows comes from
// /_/api/overview and /_/api/stream, which require a token whose claims
// are an admin's ("admin" in roles, or role "admin"): 401 without a token,
// 403 for any other. The token goes in the Authorization header, never in
// a URL.
package inspector
