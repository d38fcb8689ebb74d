// Package openapitest checks walrelay's OpenAPI document with a real
// OpenAPI validator (pb33f/libopenapi-validator): the document against the
// OpenAPI 3.1 specification's schema, and recorded REST calls against the
// document (the route and method are documented, the response status,
// headers and body match it). Tests import it; the server does not.
package openapitest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	vpaths "github.com/pb33f/libopenapi-validator/paths"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// Document is a parsed OpenAPI document with its validator. It is safe for
// concurrent use.
type Document struct {
	raw   []byte
	model *v3.Document
	mu    sync.Mutex // the validator's caches are not documented as concurrent-safe
	v     validator.Validator
}

// Parse parses an OpenAPI 3.1 document (JSON) and validates it against
// the specification's schema. The error lists every problem found.
func Parse(doc []byte) (*Document, error) { return ParseVersion(doc, "3.1") }

// ParseVersion is Parse for documents whose openapi version starts with
// version ("" for any version the validator knows: 3.0, 3.1, 3.2).
func ParseVersion(doc []byte, version string) (*Document, error) {
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		return nil, fmt.Errorf("parse openapi document: %w", err)
	}
	if v := d.GetVersion(); !strings.HasPrefix(v, version) {
		return nil, fmt.Errorf("openapi version %q, want %s", v, version)
	}
	v, errs := validator.NewValidator(d, config.WithoutSecurityValidation())
	if len(errs) > 0 {
		return nil, fmt.Errorf("build openapi model: %w", errors.Join(errs...))
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		return nil, fmt.Errorf("openapi document is invalid: %s", joinValidation(verrs))
	}
	m, err := d.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("build openapi model: %w", err)
	}
	return &Document{raw: doc, model: &m.Model, v: v}, nil
}

// Raw returns the document's text.
func (d *Document) Raw() []byte { return d.raw }

// Model returns the document's high-level model.
func (d *Document) Model() *v3.Document { return d.model }

// Documented reports whether the document has an operation for method on
// a path matching urlPath (e.g. "/api/messages/5"), and returns the
// document's path template.
func (d *Document) Documented(method, urlPath string) (template string, ok bool) {
	req := &http.Request{Method: method, URL: &url.URL{Scheme: "http", Host: "walrelay.test", Path: urlPath}, Header: http.Header{}}
	item, verrs, tmpl := vpaths.FindPath(req, d.model, nil)
	return tmpl, item != nil && len(verrs) == 0
}

// CheckCall checks one REST call that a test made: when the route is not
// documented, the server must have answered 404 or 405 with the JSON
// error body (it is not a route), or 401 or 429 (authentication and rate
// limits come before routing); otherwise the response must match the
// document: a documented status with its headers and body schema.
// reqBody and resBody are the bodies as sent and received.
func (d *Document) CheckCall(req *http.Request, resp *http.Response, resBody []byte) error {
	if _, ok := d.Documented(req.Method, req.URL.Path); !ok {
		switch resp.StatusCode {
		case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusUnauthorized, http.StatusTooManyRequests:
			if !bytes.Contains(resBody, []byte(`"error"`)) {
				return fmt.Errorf("%s %s: %d without a JSON error body: %q", req.Method, req.URL.Path, resp.StatusCode, resBody)
			}
			return nil
		}
		return fmt.Errorf("%s %s answered %d but is not in the OpenAPI document", req.Method, req.URL.Path, resp.StatusCode)
	}
	r2 := req.Clone(req.Context())
	r2.Body = http.NoBody
	resp2 := *resp
	resp2.Body = io.NopCloser(bytes.NewReader(resBody))
	d.mu.Lock()
	ok, verrs := d.v.ValidateHttpResponse(r2, &resp2)
	d.mu.Unlock()
	if !ok {
		return fmt.Errorf("%s %s -> %d %s: response does not match the OpenAPI document: %s",
			req.Method, req.URL.Path, resp.StatusCode, truncate(resBody), joinValidation(verrs))
	}
	return nil
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}
