package tsgen

import (
	"bytes"
	"os"
	"testing"
)

// The chat demo app commits the demo schema's generated types; they must
// stay what the generator writes today (testdata/demo.ts, itself checked
// against the live catalog by TestGenerateGolden), apart from the header
// naming the config file.
func TestChatAppTypesAreCurrent(t *testing.T) {
	app, err := os.ReadFile("../examples/chat/src/walrelay.gen.ts")
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile("testdata/demo.ts")
	if err != nil {
		t.Fatal(err)
	}
	body := func(b []byte) []byte { _, rest, _ := bytes.Cut(b, []byte("\n")); return rest }
	if !bytes.Equal(body(app), body(golden)) {
		t.Fatal("examples/chat/src/walrelay.gen.ts is stale: regenerate it with `go run ./cmd/server gen ts --config sql/demo.yaml --out examples/chat/src/walrelay.gen.ts` (with DATABASE_URL from `go run ./cmd/server postgres`)")
	}
}
