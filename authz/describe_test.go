package authz

import "testing"

func TestDescribe(t *testing.T) {
	for src, want := range map[string]string{
		"":              "nobody (no rule)",
		"public":        "anyone, also without a token",
		"true":          "anyone, also without a token",
		"false":         "nobody",
		"authenticated": "any caller with a valid token",
		"isOwner":       "the row's owner (row.author_id is the token's sub)",
		"isOwner || isAdmin || row.room_id in auth.rooms": "the row's owner (row.author_id is the token's sub) or " +
			`an admin (the token's roles include "admin" or its role is "admin") or ` + "`row.room_id` is in the token's rooms",
		"authenticated && row.author_id == auth.sub && row.room_id in auth.rooms": "any caller with a valid token and " +
			"`row.author_id` is the token's sub and `row.room_id` is in the token's rooms",
		"isAdmin || (authenticated && row.public)": `an admin (the token's roles include "admin" or its role is "admin") or ` +
			"(any caller with a valid token and `row.public`)",
		"!row.archived":           "not `row.archived`",
		"row.user_id != auth.sub": "`row.user_id` is not the token's sub",
		"size(row.body) < 10":     "`size(row.body)` is less than `10`",
		"row.x.startsWith('a')":   "`row.x.startsWith(\"a\")`",
		"not valid (":             "not valid (",
	} {
		if got := Describe(src, "author_id"); got != want {
			t.Errorf("Describe(%q)\n got %s\nwant %s", src, got, want)
		}
	}
}
