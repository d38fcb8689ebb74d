package openapi

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/walrelay/walrelay"
)

// Handler serves the document of the schema that current returns, built
// anew on every request so that it follows the live catalog. It is safe for
// concurrent use. Errors are logged to log (nil: discarded).
func Handler(current func() *walrelay.Schema, types Types, opts Options, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := json.MarshalIndent(Build(current(), types, opts), "", "  ")
		if err != nil {
			log.Error("openapi: encode document", "err", err)
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error":{"code":"internal","message":"internal server error"}}` + "\n"))
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(append(body, '\n'))
	})
}
