package tsgen

import "testing"

func TestPropertyName(t *testing.T) {
	for in, want := range map[string]string{
		"id":           "id",
		"camelCase":    "camelCase",
		"_x$":          "_x$",
		"default":      "default", // keywords are fine as property names
		"display name": `"display name"`,
		"1st":          `"1st"`,
		"a-b":          `"a-b"`,
		`q"uote`:       `"q\"uote"`,
		"<tag>&":       `"<tag>&"`,
		"ünïcode":      `"ünïcode"`,
	} {
		if got := propertyName(in); got != want {
			t.Errorf("propertyName(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestPascalCase(t *testing.T) {
	for in, want := range map[string]string{
		"mood":         "Mood",
		"user_status":  "UserStatus",
		"Already":      "Already",
		"two  words":   "TwoWords",
		"x9_y":         "X9Y",
		"ünï":          "N",
		"":             "",
		"__leading__":  "Leading",
		"with-hyphens": "WithHyphens",
	} {
		if got := pascalCase(in); got != want {
			t.Errorf("pascalCase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNamerTake(t *testing.T) {
	n := newNamer("Json")
	for _, c := range []struct{ in, want string }{
		{"Message", "Message"},
		{"Message", "Message2"},
		{"Message", "Message3"},
		{"Json", "Json2"},
		{"9lives", "T9lives"},
		{"", "T"},
		{"string", "string_"},
		{"default", "default_"},
	} {
		if got := n.take(c.in); got != c.want {
			t.Errorf("take(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
