// Package config parses walrelay.yaml (CONTRACT §1) in one place: ${VAR}
// expansion, strict decoding (unknown keys and type errors reported as
// file:line), defaults and static validation. Checks against the live
// database happen at startup, in package store and cdc, and report the
// config position through Config.Pos.
package config

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/authz"
	"github.com/walrelay/walrelay/cdc"
	"github.com/walrelay/walrelay/hub"
	"github.com/walrelay/walrelay/rest"
	"github.com/walrelay/walrelay/ws"
)

// Defaults of the settings that only the server itself uses. Every other
// default is declared, once, by the package that uses the setting
// (ws.DefaultSendQueue, rest.DefaultMaxBodyBytes, cdc.DefaultSlot,
// hub.DefaultMaxEvents, authz.DefaultLeeway, ...), and Parse fills it in
// from there.
const (
	DefaultListen                = ":8080"
	DefaultShutdownTimeout       = 10 * time.Second
	DefaultManageReplicaIdentity = true
)

// Config is a parsed walrelay.yaml. Use Load or Parse; both apply defaults
// and validate.
type Config struct {
	Database Database                  `yaml:"database"`
	Server   Server                    `yaml:"server"`
	Auth     Auth                      `yaml:"auth"`
	Realtime Realtime                  `yaml:"realtime"`
	Models   map[string]*Model         `yaml:"models"`
	Channels map[string]*CustomChannel `yaml:"channels"`
	Limits   Limits                    `yaml:"limits"`
	// Cluster is nil for a single node (see cluster.go).
	Cluster *Cluster `yaml:"cluster"`

	file string
	ast  *ast.File
}

// Database is the `database` section.
type Database struct {
	// URL is any libpq URL; replication uses the same URL.
	URL string `yaml:"url"`
	// DDLTrigger lets walrelay create a ddl_command_end event trigger
	// that tells it about ALTER TABLE at once (default true; it needs a
	// superuser and is skipped for other roles).
	DDLTrigger *bool `yaml:"ddl_trigger"`
	// SchemaPoll is how often the catalog is read again without a signal
	// (default 30s; 0 never).
	SchemaPoll *time.Duration `yaml:"schema_poll"`
}

// DefaultSchemaPoll is database.schema_poll's default.
const DefaultSchemaPoll = 30 * time.Second

// InstallsDDLTrigger reports database.ddl_trigger (default true).
func (d Database) InstallsDDLTrigger() bool { return d.DDLTrigger == nil || *d.DDLTrigger }

// SchemaPollInterval reports database.schema_poll: DefaultSchemaPoll when
// unset, 0 for never.
func (d Database) SchemaPollInterval() time.Duration {
	if d.SchemaPoll == nil {
		return DefaultSchemaPoll
	}
	return *d.SchemaPoll
}

// Server is the `server` section.
type Server struct {
	Listen string `yaml:"listen"`
	// ShutdownTimeout bounds graceful shutdown (default 10s).
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// AllowedOrigins lists the browser origins (host patterns such as
	// "app.example.com" or "*.example.com") whose pages may call the REST
	// API (CORS) and open the WebSocket from another origin; same-origin
	// pages are always allowed.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// TrustProxy takes the client address for per-IP limits from the last
	// X-Forwarded-For entry (set it only behind a proxy that writes it).
	TrustProxy bool `yaml:"trust_proxy"`
	// Inspector serves the inspector at /_/ (default false): the live
	// event stream of a channel, connections, slot lag, recent errors,
	// for admin tokens only.
	Inspector bool `yaml:"inspector"`
}

// Auth is the `auth` section. It is parsed and validated here; tokens are
// verified by package authz.
type Auth struct {
	JWT       JWT  `yaml:"jwt"`
	Anonymous bool `yaml:"anonymous"`
}

// JWT configures token verification: an HS256 secret or a JWKS URL.
type JWT struct {
	Secret   string `yaml:"secret"`
	JWKSURL  string `yaml:"jwks_url"`
	Issuer   string `yaml:"issuer"`
	Audience string `yaml:"audience"`
	// ClockSkew is the leeway allowed on exp and nbf (default
	// authz.DefaultLeeway).
	ClockSkew time.Duration `yaml:"clock_skew"`
}

// Realtime is the `realtime` section.
type Realtime struct {
	Slot                  string `yaml:"slot"`
	Publication           string `yaml:"publication"`
	ManageReplicaIdentity *bool  `yaml:"manage_replica_identity"`
	// History bounds the per-model replay history that `since` resumes
	// from; the slot's confirmed position trails it.
	History History `yaml:"history"`
	// MaxRetainedWALBytes: log a warning when the slot retains more WAL
	// than this (default cdc.DefaultMaxRetainedWALBytes; -1 disables).
	MaxRetainedWALBytes int64 `yaml:"max_retained_wal_bytes"`
}

// History is `realtime.history`.
type History struct {
	MaxEvents int           `yaml:"max_events"` // per model, default hub.DefaultMaxEvents
	MaxAge    time.Duration `yaml:"max_age"`    // default hub.DefaultMaxAge
}

// ManagesReplicaIdentity reports manage_replica_identity (default true).
func (r Realtime) ManagesReplicaIdentity() bool {
	return r.ManageReplicaIdentity == nil || *r.ManageReplicaIdentity
}

// Model is one entry of `models`.
type Model struct {
	Table       string      `yaml:"table"`
	Path        string      `yaml:"path"`
	Subscribe   []string    `yaml:"subscribe"`
	Broadcast   []string    `yaml:"broadcast"`
	Owner       string      `yaml:"owner"`
	Permissions Permissions `yaml:"permissions"`
	Hide        []string    `yaml:"hide"`
}

// Permissions holds a model's rules (CEL text), compiled by authz.
type Permissions struct {
	Subscribe string `yaml:"subscribe"`
	Read      string `yaml:"read"`
	Create    string `yaml:"create"`
	Update    string `yaml:"update"`
	Delete    string `yaml:"delete"`
}

// CustomChannel is one entry of `channels`, e.g. "chat:room:{roomId}".
type CustomChannel struct {
	Events       []string           `yaml:"events"`
	Presence     bool               `yaml:"presence"`
	Self         bool               `yaml:"self"`
	SubscribeSQL string             `yaml:"subscribe_sql"`
	Permissions  ChannelPermissions `yaml:"permissions"`
}

// ChannelPermissions holds a custom channel's rules.
type ChannelPermissions struct {
	Subscribe string `yaml:"subscribe"`
	Publish   string `yaml:"publish"`
}

// Limits is the `limits` section. Its keys are split between the
// packages they limit, each of which declares them with their defaults:
// the WebSocket gateway's (ws.Limits) and the REST API's (rest.Limits).
// They are decoded inline, so the section stays one flat list of keys.
type Limits struct {
	WS   ws.Limits   `yaml:",inline"`
	REST rest.Limits `yaml:",inline"`
}

// Load reads and parses the file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data, os.LookupEnv)
}

// Parse parses config text; file names it in errors. ${VAR} and
// ${VAR:-default} expand through lookup (see expandVars: not in comments,
// and each value read as the text it is); an unset variable without a
// default is an error naming it and its line.
func Parse(file string, data []byte, lookup func(string) (string, bool)) (*Config, error) {
	expanded, err := expandVars(file, data, lookup)
	if err != nil {
		return nil, err
	}
	c := &Config{file: file}
	f, err := parser.ParseBytes(expanded, 0)
	if err != nil {
		return nil, yamlError(file, err)
	}
	if err := yaml.UnmarshalWithOptions(expanded, c, yaml.Strict()); err != nil {
		return nil, valueError(file, f, yamlError(file, err))
	}
	c.ast = f
	c.applyDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// yamlError rewrites goccy/go-yaml's "[3:5] msg" as "file:3:5: msg".
func yamlError(file string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			return fmt.Errorf("%s:%d:%d: %s", file, tk.Position.Line, tk.Position.Column, ye.GetMessage())
		}
		return fmt.Errorf("%s: %s", file, ye.GetMessage())
	}
	return fmt.Errorf("%s: %w", file, err)
}

// valueError places an error that the YAML library reports without a
// position (a value its field's type rejects, such as `heartbeat: often`,
// whose error is time's `invalid duration "often"`) at the one scalar that
// holds the quoted value, when exactly one does.
func valueError(file string, f *ast.File, err error) error {
	msg := err.Error()
	if !strings.HasPrefix(msg, file+": ") {
		return err // already positioned
	}
	i := strings.IndexByte(msg, '"')
	j := strings.LastIndexByte(msg, '"')
	if i < 0 || j <= i {
		return err
	}
	value := msg[i+1 : j]
	var at *token.Position
	for _, typ := range []ast.NodeType{ast.StringType, ast.IntegerType, ast.FloatType, ast.BoolType, ast.LiteralType} {
		for _, n := range ast.FilterFile(typ, f) {
			tk := n.GetToken()
			if tk == nil || tk.Value != value {
				continue
			}
			if at != nil {
				return err // ambiguous: leave it unplaced
			}
			at = tk.Position
		}
	}
	if at == nil {
		return err
	}
	return fmt.Errorf("%s:%d:%d: %s", file, at.Line, at.Column, strings.TrimPrefix(msg, file+": "))
}

// Pos returns "file:line" of the YAML node at path (e.g.
// "$.models.Message.table"), or just the file name when it is absent. Use
// it to point startup errors at the config line.
func (c *Config) Pos(path string) string {
	if c.ast != nil {
		if p, err := yaml.PathString(path); err == nil {
			if n, err := p.FilterFile(c.ast); err == nil && n != nil && n.GetToken() != nil {
				return fmt.Sprintf("%s:%d", c.file, n.GetToken().Position.Line)
			}
		}
	}
	return c.file
}

// File returns the config's file name.
func (c *Config) File() string { return c.file }

func (c *Config) applyDefaults() {
	if c.Server.Listen == "" {
		c.Server.Listen = DefaultListen
	}
	if c.Server.ShutdownTimeout == 0 {
		c.Server.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Auth.JWT.ClockSkew == 0 {
		c.Auth.JWT.ClockSkew = authz.DefaultLeeway
	}
	if c.Realtime.History.MaxEvents == 0 {
		c.Realtime.History.MaxEvents = hub.DefaultMaxEvents
	}
	if c.Realtime.History.MaxAge == 0 {
		c.Realtime.History.MaxAge = hub.DefaultMaxAge
	}
	if c.Realtime.MaxRetainedWALBytes == 0 {
		c.Realtime.MaxRetainedWALBytes = cdc.DefaultMaxRetainedWALBytes
	}
	if c.Realtime.Slot == "" {
		c.Realtime.Slot = cdc.DefaultSlot
	}
	if c.Realtime.Publication == "" {
		c.Realtime.Publication = cdc.DefaultPublication
	}
	c.applyClusterDefaults()
	c.Limits.WS = c.Limits.WS.WithDefaults()
	c.Limits.REST = c.Limits.REST.WithDefaults()
}

var (
	modelNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	identRe     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*$`)
	pathRe      = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

func (c *Config) validate() error {
	var errs []error
	fail := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", c.Pos(path), fmt.Sprintf(format, args...)))
	}
	if c.Database.URL == "" {
		fail("$.database", "database.url is required")
	}
	if c.Server.Inspector && c.Auth.JWT.Secret == "" && c.Auth.JWT.JWKSURL == "" {
		fail("$.server.inspector", "server.inspector needs auth.jwt (secret or jwks_url): it is for admin tokens only")
	}
	if p := c.Database.SchemaPoll; p != nil && *p < 0 {
		fail("$.database.schema_poll", "database.schema_poll must not be negative (0 turns polling off)")
	}
	if c.Auth.JWT.Secret != "" && c.Auth.JWT.JWKSURL != "" {
		fail("$.auth.jwt", "auth.jwt: set secret or jwks_url, not both")
	}
	if !cdc.ValidName(c.Realtime.Slot) {
		fail("$.realtime.slot", "realtime.slot %q: %s", c.Realtime.Slot, cdc.NameRule)
	}
	if !cdc.ValidName(c.Realtime.Publication) {
		fail("$.realtime.publication", "realtime.publication %q: %s", c.Realtime.Publication, cdc.NameRule)
	}
	paths := map[string]string{}
	for _, name := range c.ModelNames() {
		m := c.Models[name]
		at := "$.models." + name
		if m == nil {
			fail(at, "model %s: empty entry (at least `table:` is needed)", name)
			continue
		}
		if !modelNameRe.MatchString(name) {
			fail(at, "model name %q: use letters, digits and underscores", name)
		}
		if m.Table == "" {
			fail(at, "model %s: table is required", name)
		} else if _, _, err := splitTable(m.Table); err != nil {
			fail(at+".table", "model %s: %v", name, err)
		}
		if m.Path == "" {
			_, tbl, _ := splitTable(m.Table)
			m.Path = tbl
		}
		if !pathRe.MatchString(m.Path) {
			fail(at+".path", "model %s: path %q: use letters, digits, _ and -", name, m.Path)
		} else if other, dup := paths[m.Path]; dup {
			fail(at+".path", "model %s: path %q is already used by model %s", name, m.Path, other)
		}
		paths[m.Path] = name
		for _, k := range m.Subscribe {
			if _, err := walrelay.ParseChannelKind(k); err != nil {
				fail(at+".subscribe", "model %s: subscribe: %v", name, err)
			}
		}
		for _, op := range m.Broadcast {
			if _, err := walrelay.ParseOp(op); err != nil {
				fail(at+".broadcast", "model %s: broadcast: %v", name, err)
			}
		}
		if len(m.Subscribe) > 0 && len(m.Broadcast) == 0 {
			m.Broadcast = []string{"created", "updated", "deleted"}
		}
		if len(m.Broadcast) > 0 && len(m.Subscribe) == 0 {
			fail(at+".broadcast", "model %s: broadcast is set but subscribe is empty: no client could receive the events", name)
		}
		for _, col := range append(append([]string{}, m.Hide...), m.Owner) {
			if col != "" && !identRe.MatchString(col) {
				fail(at, "model %s: column %q is not a plain identifier", name, col)
			}
		}
	}
	for pattern, ch := range c.Channels {
		at := "$.channels"
		if ch == nil {
			fail(at, "channel %q: empty entry", pattern)
			continue
		}
		if strings.Count(pattern, "{") != strings.Count(pattern, "}") || pattern == "" {
			fail(at, "channel %q: unbalanced {param}", pattern)
		}
		if len(ch.Events) == 0 {
			fail(at, "channel %q: events is required", pattern)
		}
		if c.Models[strings.SplitN(pattern, ":", 2)[0]] != nil {
			fail(at, "channel %q: its first segment is a model name; custom channels must not shadow model channels", pattern)
		}
	}
	c.validateCluster(fail)
	return errors.Join(errs...)
}

func splitTable(t string) (schema, table string, err error) {
	schema, table, ok := strings.Cut(t, ".")
	if !ok {
		schema, table = "public", t
	}
	if !identRe.MatchString(schema) || !identRe.MatchString(table) || strings.Contains(table, ".") {
		return "", "", fmt.Errorf("table %q: want schema.table or table, plain identifiers", t)
	}
	return schema, table, nil
}

// ModelNames returns the model names, sorted.
func (c *Config) ModelNames() []string {
	names := make([]string, 0, len(c.Models))
	for n := range c.Models {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// BuildModels returns the configured models as root-package Models, sorted
// by name, not yet resolved against the database (no columns).
func (c *Config) BuildModels() []*walrelay.Model {
	var out []*walrelay.Model
	for _, name := range c.ModelNames() {
		mc := c.Models[name]
		schema, table, _ := splitTable(mc.Table)
		m := &walrelay.Model{
			Name: name, Schema: schema, Table: table, Path: mc.Path, Owner: mc.Owner,
			Hide:        append([]string(nil), mc.Hide...),
			Permissions: map[string]string{},
		}
		for _, k := range mc.Subscribe {
			kind, _ := walrelay.ParseChannelKind(k)
			m.Subscribe = append(m.Subscribe, kind)
		}
		for _, o := range mc.Broadcast {
			op, _ := walrelay.ParseOp(o)
			m.Broadcast = append(m.Broadcast, op)
		}
		p := mc.Permissions
		for k, v := range map[string]string{"subscribe": p.Subscribe, "read": p.Read, "create": p.Create, "update": p.Update, "delete": p.Delete} {
			if v != "" {
				m.Permissions[k] = v
			}
		}
		out = append(out, m)
	}
	return out
}

// BuildChannels returns the configured custom channels, sorted by pattern.
func (c *Config) BuildChannels() []*walrelay.CustomChannel {
	patterns := make([]string, 0, len(c.Channels))
	for p := range c.Channels {
		patterns = append(patterns, p)
	}
	sort.Strings(patterns)
	var out []*walrelay.CustomChannel
	for _, p := range patterns {
		cc := c.Channels[p]
		ch := &walrelay.CustomChannel{
			Pattern: p, Events: append([]string(nil), cc.Events...), Presence: cc.Presence, Self: cc.Self,
			SubscribeSQL: cc.SubscribeSQL, Permissions: map[string]string{},
		}
		if cc.Permissions.Subscribe != "" {
			ch.Permissions["subscribe"] = cc.Permissions.Subscribe
		}
		if cc.Permissions.Publish != "" {
			ch.Permissions["publish"] = cc.Permissions.Publish
		}
		out = append(out, ch)
	}
	return out
}
