package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// demoTokens serves GET /demo/token?user=alice: a token for a demo user,
// signed with the demo secret, with the rooms the user belongs to as the
// "rooms" claim (the demo's Message read rule uses it). Only the demo
// mounts it: in a real deployment your identity provider issues tokens.
type demoTokens struct {
	pool   *pgxpool.Pool
	secret []byte
}

func (d demoTokens) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	var name string
	rooms := []int64{}
	err := d.pool.QueryRow(r.Context(), "select name from users where id = $1", user).Scan(&name)
	if err == nil {
		var rows pgx.Rows
		rows, err = d.pool.Query(r.Context(), "select room_id from room_members where user_id = $1 order by room_id", user)
		if err == nil {
			rooms, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if errors.Is(err, pgx.ErrNoRows) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"code":"not_found","message":"no such demo user"}}`))
		return
	}
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error":{"code":"internal","message":"internal error"}}`))
		return
	}
	exp := time.Now().Add(12 * time.Hour)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": user, "name": name, "rooms": rooms, "iat": time.Now().Unix(), "exp": exp.Unix(),
	}).SignedString(d.secret)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"token": tok, "user": map[string]any{"id": user, "name": name, "rooms": rooms}, "expires_at": exp.UTC()})
}
