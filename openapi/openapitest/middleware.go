package openapitest

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// Middleware checks every call that reaches next against the document
// that doc returns (CheckCall), reporting mismatches with tb.Errorf. Calls
// to the document itself and CORS preflights are not checked. Put it in front of a test
// server so that every REST call a test makes is checked.
func Middleware(tb testing.TB, doc func() *Document, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The document itself, and CORS preflights, which are the
		// browser's question about an operation, not one.
		if strings.HasSuffix(r.URL.Path, "/openapi.json") ||
			r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			next.ServeHTTP(w, r)
			return
		}
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		res := &http.Response{StatusCode: rec.status, Header: w.Header().Clone(), Request: r}
		if err := doc().CheckCall(r, res, rec.body.Bytes()); err != nil {
			tb.Errorf("openapi: %v", err)
		}
	})
}

// recorder passes a response through and keeps a copy of its status and
// body.
type recorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = status, true
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wroteHeader = true
	r.body.Write(p)
	return r.ResponseWriter.Write(p)
}
