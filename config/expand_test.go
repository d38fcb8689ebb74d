package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
)

// Whatever a variable holds, the scalar it stands in reads as that text,
// in every kind of scalar: secrets with YAML indicators, " #", ": ",
// quotes and backslashes survive whole.
func TestExpandKeepsValuesWhole(t *testing.T) {
	values := []string{
		"plain", "postgres://u:p@h:5432/db?sslmode=disable", "!tag-looking", "*alias", "&anchor",
		"@at", "`tick", "%pct", "|pipe", ">gt", "a #not a comment", "key: value", "ends with:",
		`say "hi"`, `back\slash`, "it's", "[1, 2]", "{a: b}", "- dash", "-1x", "? q", "#hash", " padded ",
		"comma, here", "tab\there", "line\nbreak", "ünïcödé ✓",
	}
	contexts := map[string]struct{ line, want string }{
		"plain":          {"k: ${V}", "%s"},
		"plain, comment": {"k: ${V}   # note", "%s"},
		"double":         {`k: "${V}"`, "%s"},
		"double, more":   {`k: "x ${V} y" # c`, "x %s y"},
		"single":         {`k: '${V}'`, "%s"},
		"single, more":   {`k: 'x ${V} y'`, "x %s y"},
		"plain, more":    {"k: x-${V}-y", "x-%s-y"},
		"flow":           {"k: [${V}, z]", "%s"},
		"list item":      {"k:\n  - ${V}", "%s"},
	}
	for name, c := range contexts {
		for _, v := range values {
			out, err := expandVars("t.yaml", []byte(c.line+"\n"), env(map[string]string{"V": v}))
			if err != nil {
				t.Fatalf("%s %q: %v", name, v, err)
			}
			var doc map[string]any
			if err := yaml.Unmarshal(out, &doc); err != nil {
				t.Errorf("%s %q: %q does not parse: %v", name, v, out, err)
				continue
			}
			got := doc["k"]
			if l, ok := got.([]any); ok && len(l) > 0 {
				got = l[0]
			}
			want := strings.Replace(c.want, "%s", v, 1)
			if got != want {
				t.Errorf("%s %q: expanded to %q, read back %#v", name, v, out, got)
			}
		}
	}
}

// Variables in comments are not expanded, so they need not be set; a
// variable in a value still must be.
func TestExpandSkipsComments(t *testing.T) {
	in := "# url: ${OLD_URL}\ndatabase:\n  url: ${DATABASE_URL}   # e.g. ${EXAMPLE_URL}\n  # ${ALSO_NOT}\n"
	out, err := expandVars("t.yaml", []byte(in), env(map[string]string{"DATABASE_URL": "postgres://x"}))
	if err != nil {
		t.Fatal(err)
	}
	if want := "# url: ${OLD_URL}\ndatabase:\n  url: postgres://x   # e.g. ${EXAMPLE_URL}\n  # ${ALSO_NOT}\n"; string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	_, err = expandVars("t.yaml", []byte("a: 1\nb: ${NOPE} # ${FINE}\n"), env(nil))
	if err == nil || err.Error() != "t.yaml:2: environment variable NOPE is not set" {
		t.Errorf("unset variable: %v", err)
	}
}

// Numbers and booleans from variables keep their type; block scalars take
// the text as it is; a quoted scalar over several lines is escaped on each.
func TestExpandTypesAndBlocks(t *testing.T) {
	in := "n: ${N}\nb: ${B:-true}\nneg: ${NEG}\nsql: |\n  select '${S}' # kept\nnext: \"a\n  ${Q}\"\nempty: ${E:-}\n"
	out, err := expandVars("t.yaml", []byte(in), env(map[string]string{"N": "50000", "NEG": "-1", "S": "x #y", "Q": `q"q`}))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if doc["n"] != uint64(50000) || doc["b"] != true || doc["neg"] != int64(-1) {
		t.Errorf("types: %#v %#v %#v", doc["n"], doc["b"], doc["neg"])
	}
	if doc["sql"] != "select 'x #y' # kept\n" {
		t.Errorf("block scalar: %q", doc["sql"])
	}
	if doc["next"] != `a q"q` {
		t.Errorf("multi-line quoted: %q", doc["next"])
	}
	if doc["empty"] != nil {
		t.Errorf("empty default: %#v", doc["empty"])
	}
}

// The project's own configs expand exactly as plain text substitution
// did, with ordinary values: nothing changes for them.
func TestExpandProjectConfigsUnchanged(t *testing.T) {
	vals := map[string]string{"DATABASE_URL": "postgres://app@db:5432/app?sslmode=disable", "JWT_SECRET": "s3cret-0123456789abcdef0123456789",
		"LISTEN": ":8080", "WALRELAY_SLOT": "walrelay_1", "NATS_URL": "nats://nats:4222", "NODE_NAME": "n1", "WALRELAY_LISTEN": "127.0.0.1:0"}
	files, _ := filepath.Glob("../sql/*.yaml")
	more, _ := filepath.Glob("../deploy/*.yaml")
	files = append(files, more...)
	if len(files) == 0 {
		t.Fatal("no config files found")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := expandVars(f, data, env(vals))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		want := varRe.ReplaceAllStringFunc(string(data), func(m string) string {
			sub := varRe.FindStringSubmatch(m)
			if v, ok := vals[sub[1]]; ok {
				return v
			}
			return sub[3]
		})
		if string(got) != want {
			t.Errorf("%s expands differently from text substitution:\n%s", f, got)
		}
	}
}

// Each unset variable is reported once, with its line, in every kind of
// scalar.
func TestExpandReportsEachUnsetOnce(t *testing.T) {
	in := "a: ${A}\nb: \"${B}\"\nc: '${C}'\nd: [x, ${D}]\n"
	_, err := expandVars("t.yaml", []byte(in), env(nil))
	want := "t.yaml:1: environment variable A is not set\nt.yaml:2: environment variable B is not set\nt.yaml:3: environment variable C is not set\nt.yaml:4: environment variable D is not set"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// A JWT secret or database URL taken from the environment is used exactly
// as set, even when YAML would read it otherwise as bare text (a comment
// after " #", a tag after "!").
func TestParseTakesEnvironmentValuesAsSet(t *testing.T) {
	text := "database:\n  url: ${DATABASE_URL}  # from ${WHEREVER}\nauth:\n  jwt:\n    secret: ${JWT_SECRET}\nmodels:\n  Message:\n    table: messages\n"
	for _, secret := range []string{"ab12 #cd34-the-rest-of-a-long-secret", "!Qx9%-starts-with-a-yaml-tag-char", "*star-and-more-characters-000000"} {
		url := "host=db user=app password='p #w' dbname=app"
		c, err := Parse("walrelay.yaml", []byte(text), env(map[string]string{"DATABASE_URL": url, "JWT_SECRET": secret}))
		if err != nil {
			t.Fatalf("secret %q: %v", secret, err)
		}
		if c.Auth.JWT.Secret != secret || c.Database.URL != url {
			t.Errorf("secret %q, url %q: read as %q, %q", secret, url, c.Auth.JWT.Secret, c.Database.URL)
		}
	}
}

// Expansion never panics, and text without variables is left unchanged.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{"a: ${V}\n", "k: '${V}' # ${W}\n", "s: |\n  ${V}\nn: 1", "x: \"a\\\"${V}\n  b\"", "[${V}, {a: ${V}}]", "- ${V:-d}", "'''${V}'", "${", "${V"} {
		f.Add(s, "v")
	}
	f.Fuzz(func(t *testing.T, text, v string) {
		out, err := expandVars("f.yaml", []byte(text), env(map[string]string{"V": v}))
		if !strings.Contains(text, "${") && (err != nil || string(out) != text) {
			t.Fatalf("text without variables changed: %q -> %q, %v", text, out, err)
		}
	})
}

// Whatever a variable holds, "k: ${V}" and its quoted forms read back as
// exactly that text.
func FuzzExpandValue(f *testing.F) {
	for _, v := range []string{"x", "!a #b", "a: b", "'q'", `"d"`, "- x", "1", "[a]"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if v == "" || !utf8.ValidString(v) || strings.ContainsAny(v, "\x00\ufeff") || strings.IndexFunc(v, func(r rune) bool {
			return r < 0x20 && r != '\n' && r != '\t' && r != '\r' || r == 0x7f || r >= 0x80 && r < 0xa0
		}) >= 0 {
			return // YAML allows no other control characters in a document
		}
		for _, line := range []string{"k: ${V}", `k: "${V}"`, "k: '${V}'", "k: [${V}]"} {
			out, err := expandVars("f.yaml", []byte(line+"\n"), env(map[string]string{"V": v}))
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := yaml.Unmarshal(out, &doc); err != nil {
				t.Fatalf("%q with %q: %q does not parse: %v", line, v, out, err)
			}
			got := doc["k"]
			if l, ok := got.([]any); ok && len(l) == 1 {
				got = l[0]
			}
			if s, ok := got.(string); ok && s == v {
				continue
			}
			if line == "k: ${V}" || line == "k: [${V}]" {
				// A plain value may read as a number, a boolean or null.
				if _, isString := got.(string); !isString && plainSafe(v) {
					continue
				}
			}
			t.Fatalf("%q with %q: %q reads back %#v", line, v, out, got)
		}
	})
}
