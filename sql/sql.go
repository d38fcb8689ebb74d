// Package schema embeds walrelay's SQL files and the demo config. It holds
// no logic. (The folder is sql/; the package is named for what it holds so
// that it does not shadow database/sql.)
package schema

import _ "embed"

// Demo is the demo chat schema (users, rooms, room_members, messages,
// notifications) with seed data. It is idempotent.
//
//go:embed demo.sql
var Demo string

// DemoConfig is the walrelay.yaml used by the demo; it reads DATABASE_URL,
// LISTEN and JWT_SECRET from the environment.
//
//go:embed demo.yaml
var DemoConfig []byte
