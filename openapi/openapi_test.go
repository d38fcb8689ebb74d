package openapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/authz"
	"github.com/walrelay/walrelay/openapi"
	"github.com/walrelay/walrelay/openapi/openapitest"
	"github.com/walrelay/walrelay/pgjson"
	"github.com/walrelay/walrelay/rest"
	"github.com/walrelay/walrelay/store"
)

// testSchema is two resolved models, as store.LoadModels leaves them.
func testSchema() *walrelay.Schema {
	return walrelay.NewSchema([]*walrelay.Model{
		{
			Name: "Message", Schema: "public", Table: "messages", Path: "messages", PrimaryKey: "id",
			Hide:        []string{"ip_address"},
			Permissions: map[string]string{"read": "public", "create": "authenticated"},
			Columns: []walrelay.Column{
				{Name: "id", TypeOID: 20, Type: "bigint", NotNull: true, HasDefault: true, Generated: true},
				{Name: "room_id", TypeOID: 23, Type: "integer", NotNull: true},
				{Name: "body", TypeOID: 25, Type: "text", NotNull: true},
				{Name: "meta", TypeOID: 3802, Type: "jsonb"},
				{Name: "tags", TypeOID: 1009, Type: "text[]"},
				{Name: "score", TypeOID: 1700, Type: "numeric(10,2)"},
				{Name: "ratio", TypeOID: 701, Type: "double precision"},
				{Name: "done", TypeOID: 16, Type: "boolean", NotNull: true, HasDefault: true},
				{Name: "created_at", TypeOID: 1184, Type: "timestamp with time zone", NotNull: true, HasDefault: true},
				{Name: "ip_address", TypeOID: 869, Type: "inet"},
			},
		},
		{
			Name: "Note", Schema: "public", Table: "notes", Path: "notes", PrimaryKey: "id",
			Columns: []walrelay.Column{{Name: "id", TypeOID: 23, Type: "integer", NotNull: true}},
		},
	})
}

func mustDoc(t *testing.T, schema *walrelay.Schema) *openapitest.Document {
	t.Helper()
	raw, err := json.Marshal(openapi.Build(schema, pgjson.NewDecoder(), openapi.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapitest.Parse(raw)
	if err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	return doc
}

// The generated document is valid OpenAPI 3.1, and hidden columns appear
// nowhere in it.
func TestDocumentIsValid31(t *testing.T) {
	doc := mustDoc(t, testSchema())
	if strings.Contains(string(doc.Raw()), "ip_address") {
		t.Error("the hidden column ip_address is in the document")
	}
	for _, p := range []string{"/api/messages", "/api/messages/{id}", "/api/notes", "/api/notes/{id}", "/api/openapi.json"} {
		if doc.Model().Paths.PathItems.GetOrZero(p) == nil {
			t.Errorf("path %s missing", p)
		}
	}
}

// The validator really checks OpenAPI 3.1: a 3.1-only construct (a type
// array) passes under 3.1 and fails when the same document claims 3.0, and
// a structural error fails under 3.1.
func TestValidatorChecks31(t *testing.T) {
	const doc = `{"openapi":"%s","info":{"title":"t","version":"1"},"paths":{"/x":{"get":{"parameters":[%s],
		"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"type":["string","null"]}}}}}}}}}`
	good := `{"name":"q","in":"query","schema":{"type":"string"}}`
	if _, err := parseVersion(doc, "3.1.0", good); err != nil {
		t.Errorf("valid 3.1 document rejected: %v", err)
	}
	if _, err := parseVersion(doc, "3.0.3", good); err == nil {
		t.Error("a 3.0 document with a type array was accepted")
	}
	if _, err := parseVersion(doc, "3.1.0", `{"name":"q","in":"body","schema":{"type":"string"}}`); err == nil {
		t.Error(`a 3.1 parameter "in": "body" was accepted`)
	}
	if _, err := parseVersion(`{"openapi":"%s","info":{"title":"t"},"paths":{}%s}`, "3.1.0", ""); err == nil {
		t.Error("a 3.1 document without info.version was accepted")
	}
}

func parseVersion(format, version, param string) (*openapitest.Document, error) {
	text := strings.Replace(strings.Replace(format, "%s", version, 1), "%s", param, 1)
	return openapitest.ParseVersion([]byte(text), "")
}

// CheckCall accepts what the server sends and catches what it must not.
func TestCheckCallCatchesMismatches(t *testing.T) {
	doc := mustDoc(t, testSchema())
	row := `{"id":1,"room_id":5,"body":"hi","meta":{"a":[1]},"tags":["a",null],"score":"12345678901234567.50","ratio":"NaN","done":false,"created_at":"2026-11-25T17:00:00Z"}`
	list := `{"items":[` + row + `],"next_page":null,"cursor":"c1"}`
	errBody := `{"error":{"code":"invalid_filter","message":"bad"}}`
	for name, c := range map[string]struct {
		method, path string
		status       int
		body         string
		ok           bool
	}{
		"row":                 {"GET", "/api/messages/1", 200, row, true},
		"list":                {"GET", "/api/messages", 200, list, true},
		"created":             {"POST", "/api/messages", 201, row, true},
		"deleted":             {"DELETE", "/api/messages/1", 204, "", true},
		"error":               {"GET", "/api/messages", 400, errBody, true},
		"unknown route 404":   {"GET", "/api/nope", 404, `{"error":{"code":"not_found","message":"x"}}`, true},
		"hidden column sent":  {"GET", "/api/messages/1", 200, strings.Replace(row, `"id":1`, `"id":1,"ip_address":"1.2.3.4"`, 1), false},
		"column missing":      {"GET", "/api/messages/1", 200, strings.Replace(row, `"body":"hi",`, "", 1), false},
		"wrong type":          {"GET", "/api/messages/1", 200, strings.Replace(row, `"room_id":5`, `"room_id":"5"`, 1), false},
		"null in not null":    {"GET", "/api/messages/1", 200, strings.Replace(row, `"done":false`, `"done":null`, 1), false},
		"bad error body":      {"GET", "/api/messages", 400, `{"message":"bad"}`, false},
		"undocumented status": {"GET", "/api/messages/1", 418, errBody, false},
		"undocumented route":  {"GET", "/api/nope", 200, `{}`, false},
		"list without cursor": {"GET", "/api/messages", 200, `{"items":[],"next_page":null}`, false},
	} {
		req := httptest.NewRequest(c.method, c.path, nil)
		res := &http.Response{StatusCode: c.status, Header: http.Header{}, Request: req}
		if c.body != "" {
			res.Header.Set("Content-Type", "application/json; charset=utf-8")
		}
		if c.status == 200 && c.method == "GET" {
			res.Header.Set("Walrelay-Cursor", "c1")
		}
		err := doc.CheckCall(req, res, []byte(c.body))
		if c.ok && err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if err != nil && !c.ok {
			t.Logf("%s: %v", name, err)
		}
		if !c.ok && err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Every route the REST router has under /api is documented for every
// model, and every documented operation is a route of the router.
func TestEveryRouteIsDocumented(t *testing.T) {
	schema := testSchema()
	policy, err := authz.Compile(schema)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := authz.NewVerifier(context.Background(), authz.VerifierConfig{Secret: strings.Repeat("s", 32), Anonymous: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dec := pgjson.NewDecoder()
	h := rest.New(schema, store.New(nil, schema, dec), verifier, policy, rest.Config{
		OpenAPI: openapi.Handler(func() *walrelay.Schema { return schema }, dec, openapi.Options{}, nil),
	}, nil)
	doc := mustDoc(t, schema)
	routes, ok := h.(chi.Routes)
	if !ok {
		t.Fatalf("rest.New returned %T, not a chi router", h)
	}
	routed := map[string]bool{}
	err = chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		paths := []string{route}
		if strings.Contains(route, "{path}") {
			paths = nil
			for _, m := range schema.Models() {
				paths = append(paths, strings.ReplaceAll(route, "{path}", m.Path))
			}
		}
		for _, p := range paths {
			p = "/api" + strings.ReplaceAll(p, "{id}", "1")
			if _, ok := doc.Documented(method, p); !ok {
				t.Errorf("route %s %s (%s) is not documented", method, p, route)
			}
			routed[method+" "+p] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(routed) < 11 {
		t.Fatalf("walked only %d routes: %v", len(routed), routed)
	}
	for path, item := range doc.Model().Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			p := strings.ReplaceAll(path, "{id}", "1")
			if !routed[strings.ToUpper(method)+" "+p] {
				t.Errorf("documented %s %s is not a route", strings.ToUpper(method), path)
			}
		}
	}
	// And the router serves the document itself.
	srv := httptest.NewServer(http.StripPrefix("/api", h))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET /api/openapi.json: %d %s", res.StatusCode, body)
	}
	if _, err := openapitest.Parse(body); err != nil {
		t.Fatal(err)
	}
}
