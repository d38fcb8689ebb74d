package openapi

import "fmt"

// errorNames names the error responses in components.responses.
var errorNames = map[int]string{
	400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
	413: "TooLarge", 422: "Unprocessable", 429: "RateLimited", 500: "Internal", 503: "Unavailable",
}

var errorDescriptions = map[int]string{
	400: "Bad input: a filter, order, page, id or body that does not parse or names an unknown or hidden column (code bad_request or invalid_filter).",
	401: "No valid token (code unauthorized).",
	403: "The caller's rules refuse the write (code forbidden); nothing changed.",
	404: "No such row, or the caller may not read it (code not_found).",
	409: "A constraint refused the write (code conflict); nothing changed.",
	413: "The body is larger than limits.max_body_bytes (code too_large).",
	422: "Postgres refused a value (code unprocessable); nothing changed.",
	429: "Too many requests from this caller (code rate_limited); see Retry-After.",
	500: "Internal error (code internal); details are in the server's log.",
	503: "The model cannot be served right now, e.g. after a schema change it depends on; the message names the config line.",
}

// errorSchema is {"error":{"code":"...","message":"..."}}.
func errorSchema() map[string]any {
	return map[string]any{
		"type":     "object",
		"required": []any{"error"},
		"properties": map[string]any{"error": map[string]any{
			"type":     "object",
			"required": []any{"code", "message"},
			"properties": map[string]any{
				"code": map[string]any{"type": "string", "description": "bad_request, invalid_filter, unauthorized, forbidden, not_found, conflict, too_large, unprocessable, rate_limited, internal, ...",
					"examples": []any{"invalid_filter"}},
				"message": map[string]any{"type": "string"},
			},
		}},
	}
}

func errorResponses() map[string]any {
	out := map[string]any{}
	for status, name := range errorNames {
		r := map[string]any{
			"description": errorDescriptions[status],
			"content":     jsonContent(map[string]any{"$ref": "#/components/schemas/Error"}),
		}
		switch status {
		case 429:
			r["headers"] = map[string]any{"Retry-After": map[string]any{"description": "Seconds to wait.", "schema": map[string]any{"type": "integer"}}}
		case 401:
			r["headers"] = map[string]any{"WWW-Authenticate": map[string]any{"schema": map[string]any{"type": "string"}}}
		}
		out[name] = r
	}
	if len(out) != len(errorDescriptions) {
		panic(fmt.Sprintf("openapi: %d error names, %d descriptions", len(out), len(errorDescriptions)))
	}
	return out
}
