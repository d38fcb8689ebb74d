// Package deps pins the project's direct dependencies while the packages
// that use them are being written, so `go mod tidy` keeps them. Remove once
// every dependency is imported by real code.
package deps

import (
	_ "github.com/coder/websocket"
	_ "github.com/go-chi/chi/v5"
	_ "github.com/goccy/go-yaml"
	_ "github.com/jackc/pglogrepl"
	_ "github.com/jackc/pgx/v5/pgxpool"
	_ "golang.org/x/sync/errgroup"
)
