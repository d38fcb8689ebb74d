// Package openapi describes walrelay's REST API (CONTRACT §2) as an
// OpenAPI 3.1 document, built from the configured models as resolved
// against the live catalog: one path per model with its list filters
// (the operators each column's type accepts), order, pages and counts;
// the row, create and update schemas with each column's JSON type
// (docs/types.md); and the error body with every status the API answers.
// Hidden columns appear nowhere.
//
// The document is plain data (maps, slices, strings) so that it marshals
// to JSON deterministically; Handler serves it at /api/openapi.json.
package openapi

import (
	"fmt"
	"sort"
	"strings"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/filter"
	"github.com/walrelay/walrelay/pgjson"
	"github.com/walrelay/walrelay/store"
)

// Version is the OpenAPI version of the documents Build returns.
const Version = "3.1.0"

// Types gives the JSON Schema of a column type's non-null values;
// *pgjson.Decoder implements it.
type Types interface {
	JSONSchema(oid uint32) map[string]any
}

// Options tune the document.
type Options struct {
	// Title and Version fill the info object (defaults: "walrelay API",
	// "1").
	Title, Version string
	// Anonymous documents that requests without a token are let in.
	Anonymous bool
}

// Build returns the OpenAPI 3.1 document of the REST API for schema's
// models, which must have been resolved against the database. It keeps no
// state and may be called concurrently.
func Build(schema *walrelay.Schema, types Types, opts Options) map[string]any {
	if opts.Title == "" {
		opts.Title = "walrelay API"
	}
	if opts.Version == "" {
		opts.Version = "1"
	}
	b := builder{types: types}
	paths := map[string]any{
		"/api/openapi.json": map[string]any{"get": map[string]any{
			"operationId": "openapi",
			"summary":     "This document",
			"tags":        []any{"meta"},
			"responses": b.responses(map[string]any{
				"200": map[string]any{
					"description": "The OpenAPI 3.1 document of this API, generated from walrelay.yaml and the live catalog.",
					"content":     jsonContent(map[string]any{"type": "object"}),
				},
			}, 401, 429, 500),
		}},
	}
	schemas := map[string]any{"Error": errorSchema()}
	models := append([]*walrelay.Model(nil), schema.Models()...)
	sort.Slice(models, func(i, j int) bool { return models[i].Name < models[j].Name })
	var tags []any
	for _, m := range models {
		b.model(m, paths, schemas)
		tags = append(tags, map[string]any{"name": m.Name, "description": fmt.Sprintf("Rows of %s.", m.QualifiedTable())})
	}
	security := []any{map[string]any{"bearer": []any{}}}
	auth := "Send a JWT as `Authorization: Bearer <token>`."
	if opts.Anonymous {
		security = append(security, map[string]any{})
		auth = "A JWT (`Authorization: Bearer <token>`) is optional: requests without one run with `auth == null`."
	}
	return map[string]any{
		"openapi": Version,
		"info": map[string]any{
			"title":   opts.Title,
			"version": opts.Version,
			"description": "REST API served by walrelay (docs/CONTRACT.md §2). " + auth +
				" Every read carries the `Walrelay-Cursor` header; give it as `since` when subscribing over the WebSocket (/ws) to get every change after the read.",
		},
		"servers":  []any{map[string]any{"url": "/"}},
		"security": security,
		"tags":     append(tags, map[string]any{"name": "meta", "description": "About the API itself."}),
		"paths":    paths,
		"components": map[string]any{
			"schemas":         schemas,
			"responses":       errorResponses(),
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
			"headers": map[string]any{
				"Walrelay-Cursor": map[string]any{
					"description": "Cursor of the read: it reflects every change before it and none after.",
					"schema":      map[string]any{"type": "string"},
				},
			},
		},
	}
}

type builder struct {
	types Types
}

// model adds m's two paths and its three schemas.
func (b builder) model(m *walrelay.Model, paths, schemas map[string]any) {
	var cols []*walrelay.Column
	for i := range m.Columns {
		if !m.Hidden(m.Columns[i].Name) {
			cols = append(cols, &m.Columns[i])
		}
	}
	schemas[m.Name] = b.rowSchema(m, cols)
	schemas[m.Name+"Create"] = b.writeSchema(m, cols, true)
	schemas[m.Name+"Update"] = b.writeSchema(m, cols, false)
	schemas[m.Name+"List"] = map[string]any{
		"type": "object",
		"properties": map[string]any{
			"items":     map[string]any{"type": "array", "items": ref(m.Name)},
			"next_page": map[string]any{"type": []any{"string", "null"}, "description": "Give as page= for the next page; null on the last page."},
			"cursor":    map[string]any{"type": "string", "description": "The cursor of the read, as in the Walrelay-Cursor header."},
			"total":     map[string]any{"type": "integer", "minimum": 0, "description": "Number of matching rows; only with count=exact."},
		},
		"required":             []any{"items", "next_page", "cursor"},
		"additionalProperties": false,
	}
	row := jsonContent(ref(m.Name))
	cursor := map[string]any{"Walrelay-Cursor": map[string]any{"$ref": "#/components/headers/Walrelay-Cursor"}}
	denied := func(action string) string {
		if _, ok := m.Permissions[action]; ok {
			return ""
		}
		return fmt.Sprintf(" No `%s` rule is configured for %s: every such request is refused.", action, m.Name)
	}
	body := func(schema string) map[string]any {
		return map[string]any{"required": true, "content": jsonContent(ref(schema))}
	}
	base := "/api/" + m.Path
	op := func(id, summary, description string, ok map[string]any, errs ...int) map[string]any {
		return map[string]any{
			"operationId": id + m.Name, "summary": summary, "description": description,
			"tags": []any{m.Name}, "responses": b.responses(ok, errs...),
		}
	}
	list := op("list", "List "+m.Name+" rows the caller may read",
		"Filters use PostgREST syntax (col=op.value, see docs/filters.md); several are ANDed. Pages are keyset pages, stable under concurrent writes."+denied("read"),
		map[string]any{"200": map[string]any{"description": "A page of rows.", "headers": cursor, "content": jsonContent(ref(m.Name + "List"))}},
		400, 401, 429, 500, 503)
	list["parameters"] = b.listParams(m, cols)
	create := op("create", "Create a "+m.Name,
		"The create rule is checked on the row as it would be stored; nothing is written when it denies."+denied("create"),
		map[string]any{"201": map[string]any{"description": "The created row, as stored (defaults filled).", "content": row}},
		400, 401, 403, 409, 413, 422, 429, 500, 503)
	create["requestBody"] = body(m.Name + "Create")
	update := op("update", "Update one "+m.Name,
		"The update rule is checked on the row before and after the change."+denied("update"),
		map[string]any{"200": map[string]any{"description": "The updated row.", "content": row}},
		400, 401, 403, 404, 409, 413, 422, 429, 500, 503)
	update["requestBody"] = body(m.Name + "Update")
	paths[base] = map[string]any{"get": list, "post": create}
	paths[base+"/{id}"] = map[string]any{
		"parameters": []any{map[string]any{
			"name": "id", "in": "path", "required": true,
			"description": fmt.Sprintf("Primary key (%s, %s).", m.PrimaryKey, typeName(m, m.PrimaryKey)),
			"schema":      map[string]any{"type": "string"},
		}},
		"get": op("get", "Get one "+m.Name, "404 when the row does not exist or the caller may not read it."+denied("read"),
			map[string]any{"200": map[string]any{"description": "The row.", "headers": cursor, "content": row}},
			400, 401, 404, 429, 500, 503),
		"patch": update,
		"delete": op("delete", "Delete one "+m.Name, "The delete rule is checked on the row."+denied("delete"),
			map[string]any{"204": map[string]any{"description": "Deleted."}},
			400, 401, 403, 404, 409, 429, 500, 503),
	}
}

func typeName(m *walrelay.Model, col string) string {
	if c := m.Column(col); c != nil {
		return c.Type
	}
	return "unknown"
}

// rowSchema is a row as walrelay sends it: every visible column, always.
func (b builder) rowSchema(m *walrelay.Model, cols []*walrelay.Column) map[string]any {
	props := map[string]any{}
	var required []any
	for _, c := range cols {
		s := b.types.JSONSchema(c.TypeOID)
		if !c.NotNull {
			s = pgjson.Nullable(s)
		}
		s["description"] = describe(c, s["description"])
		props[c.Name] = s
		required = append(required, c.Name)
	}
	return map[string]any{
		"type":                 "object",
		"description":          fmt.Sprintf("A row of %s (primary key %s).", m.QualifiedTable(), m.PrimaryKey),
		"properties":           props,
		"required":             required,
		"additionalProperties": false,
	}
}

// writeSchema is a create (required columns: not null, no default, not
// generated) or update body. Values take the column's JSON form or, for
// any type, its text as a string; generated columns cannot be written.
func (b builder) writeSchema(m *walrelay.Model, cols []*walrelay.Column, create bool) map[string]any {
	props := map[string]any{}
	required := []any{}
	for _, c := range cols {
		if c.Generated {
			continue
		}
		s := b.types.JSONSchema(c.TypeOID)
		if t, ok := s["type"].(string); !ok || t != "string" {
			if _, anyValue := s["type"]; anyValue || s["anyOf"] != nil {
				s = map[string]any{"anyOf": []any{s, map[string]any{"type": "string", "description": "the value's text, cast by Postgres"}}}
			}
		}
		if !c.NotNull {
			s = pgjson.Nullable(s)
		}
		s["description"] = describe(c, nil)
		props[c.Name] = s
		if create && c.NotNull && !c.HasDefault {
			required = append(required, c.Name)
		}
	}
	what := "The columns to change."
	if create {
		what = "The new row; columns left out take their defaults."
	}
	return map[string]any{
		"type":                 "object",
		"description":          what + " Unknown, hidden and generated columns are refused (400).",
		"properties":           props,
		"required":             required,
		"additionalProperties": false,
	}
}

func describe(c *walrelay.Column, extra any) string {
	d := c.Type
	if c.Generated {
		d += ", generated"
	}
	if s, ok := extra.(string); ok && s != "" {
		d += ": " + s
	}
	return d
}

// listParams are a list's query parameters: one filter per visible column,
// then order, limit, page and count.
func (b builder) listParams(m *walrelay.Model, cols []*walrelay.Column) []any {
	var out []any
	var orderable []string
	for _, c := range cols {
		var ops []string
		for _, op := range filter.Operators(c) {
			ops = append(ops, string(op))
		}
		out = append(out, map[string]any{
			"name": c.Name, "in": "query", "required": false,
			"description": fmt.Sprintf("Filter on %s (%s): [not.]op.value with op one of %s. Repeat to AND several.",
				c.Name, c.Type, strings.Join(ops, ", ")),
			"schema": map[string]any{"type": "string"},
		})
		if filter.Orderable(c) {
			orderable = append(orderable, c.Name)
		}
	}
	return append(out,
		map[string]any{
			"name": "order", "in": "query", "required": false,
			"description": "Sort keys, e.g. `created_at.desc,id.asc`, over " + strings.Join(orderable, ", ") +
				fmt.Sprintf(". The primary key (%s) is always the last tie-breaker.", m.PrimaryKey),
			"schema": map[string]any{"type": "string"},
		},
		map[string]any{
			"name": "limit", "in": "query", "required": false, "description": "Page size.",
			"schema": map[string]any{"type": "integer", "minimum": 1, "maximum": store.MaxLimit, "default": store.DefaultLimit},
		},
		map[string]any{
			"name": "page", "in": "query", "required": false,
			"description": "The next_page token of the previous page, with the same filters and order.",
			"schema":      map[string]any{"type": "string"},
		},
		map[string]any{
			"name": "count", "in": "query", "required": false, "description": "exact: add the total number of matching rows.",
			"schema": map[string]any{"type": "string", "enum": []any{"exact"}},
		},
	)
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

func jsonContent(schema map[string]any) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": schema}}
}

// responses adds references to the error responses of the given statuses.
func (builder) responses(ok map[string]any, errs ...int) map[string]any {
	for _, s := range errs {
		ok[fmt.Sprint(s)] = map[string]any{"$ref": "#/components/responses/" + errorNames[s]}
	}
	return ok
}
