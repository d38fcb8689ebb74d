package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/store"
)

// requestTimeout bounds one request's store call; maxRequests caps the
// requests in flight on one connection.
const (
	requestTimeout = 30 * time.Second
	maxRequests    = 8
)

// Store is what WebSocket requests need of package store: the same calls
// the REST layer makes, each guarded by the connection's *authz.Caller, so
// the store enforces the read, create, update and delete rules.
// *store.Store satisfies it.
type Store interface {
	List(ctx context.Context, g store.Guard, m *walrelay.Model, p store.ListParams) (*store.ListResult, error)
	Get(ctx context.Context, g store.Guard, m *walrelay.Model, id string) (walrelay.Row, walrelay.Cursor, error)
	Create(ctx context.Context, g store.Guard, m *walrelay.Model, data map[string]any) (walrelay.Row, error)
	Update(ctx context.Context, g store.Guard, m *walrelay.Model, id string, data map[string]any) (walrelay.Row, error)
	Delete(ctx context.Context, g store.Guard, m *walrelay.Model, id string) error
}

var _ Store = (*store.Store)(nil)

// startRequest runs a request in its own goroutine, so that a slow query
// does not hold up the read loop (which also reads the pongs of the
// heartbeat). Replies may thus come out of order; clients match them by
// ref. Beyond maxRequests in flight, requests are refused as rate_limited.
func (c *conn) startRequest(msg inbound) error {
	select {
	case c.reqSlots <- struct{}{}:
	default:
		return fmt.Errorf("%w: more than %d requests in flight", walrelay.ErrRateLimited, maxRequests)
	}
	c.reqWG.Add(1)
	go func() {
		defer c.reqWG.Done()
		defer func() { <-c.reqSlots }()
		if err := c.request(msg); err != nil {
			c.sendError(msg.Ref, err)
		}
	}()
	return nil
}

// request serves {"type":"request"}: list, get, create, update or delete
// on any configured model, answered with {"type":"reply"}. It runs in the
// read loop, so replies keep the order of the requests.
func (c *conn) request(msg inbound) error {
	if c.s.store == nil {
		return fmt.Errorf("%w: requests are not served here", walrelay.ErrBadRequest)
	}
	ctx, cancel := context.WithTimeout(c.ctx, requestTimeout)
	defer cancel()
	data, cursor, err := c.run(ctx, msg)
	if errors.Is(err, walrelay.ErrSchemaChanged) && c.s.cfg.Refresher != nil {
		// The table changed under the model version used: read the
		// catalog again and retry once on the new version.
		c.logger().Warn("ws: the table changed under a request; reading the catalog again", "model", msg.Model, "err", err)
		if rerr := c.s.cfg.Refresher.Refresh(ctx); rerr != nil {
			c.logger().Error("ws: read the catalog", "err", rerr)
		} else {
			data, cursor, err = c.run(ctx, msg)
		}
	}
	if err != nil {
		return err
	}
	b, err := json.Marshal(replyMsg{Type: "reply", Ref: msg.Ref, Data: data, Cursor: cursor})
	if err != nil {
		return fmt.Errorf("encode reply: %w", err)
	}
	c.send(b)
	return nil
}

// run runs one request on the current version of its model and returns
// the reply's data and cursor.
func (c *conn) run(ctx context.Context, msg inbound) (data any, cursor string, err error) {
	m := c.s.schema.ByName(msg.Model)
	if m == nil {
		return nil, "", fmt.Errorf("%w: model %q", walrelay.ErrUnknownModel, msg.Model)
	}
	if err := m.Available(); err != nil {
		return nil, "", err
	}
	switch msg.Op {
	case "list":
		data, cursor, err = c.list(ctx, m, msg)
	case "get":
		data, cursor, err = c.get(ctx, m, msg)
	case "create":
		data, err = c.create(ctx, m, msg)
	case "update":
		data, err = c.update(ctx, m, msg)
	case "delete":
		var id string
		if id, err = requestID(msg); err == nil {
			err = c.s.store.Delete(ctx, c.guard(), m, id)
		}
	default:
		return nil, "", fmt.Errorf("%w: unknown op %q (want list, get, create, update or delete)", walrelay.ErrBadRequest, msg.Op)
	}
	return data, cursor, err
}

func (c *conn) list(ctx context.Context, m *walrelay.Model, msg inbound) (any, string, error) {
	q, err := paramsValues(msg.Params)
	if err != nil {
		return nil, "", err
	}
	p, err := store.ParseListParams(m, q)
	if err != nil {
		return nil, "", err
	}
	res, err := c.s.store.List(ctx, c.guard(), m, p)
	if err != nil {
		return nil, "", err
	}
	// The reply's data is the REST list body: items, next_page, total (when
	// asked with count=exact) and cursor.
	cur := res.Cursor.String()
	return listReply{ListResult: res, Cursor: cur}, cur, nil
}

// listReply is a list result with its cursor, as REST sends it.
type listReply struct {
	*store.ListResult
	Cursor string `json:"cursor"`
}

func (c *conn) get(ctx context.Context, m *walrelay.Model, msg inbound) (any, string, error) {
	id, err := requestID(msg)
	if err != nil {
		return nil, "", err
	}
	row, cur, err := c.s.store.Get(ctx, c.guard(), m, id)
	if err != nil {
		return nil, "", err
	}
	return visibleRow(m, row), cur.String(), nil
}

func (c *conn) create(ctx context.Context, m *walrelay.Model, msg inbound) (any, error) {
	data, err := requestData(msg)
	if err != nil {
		return nil, err
	}
	row, err := c.s.store.Create(ctx, c.guard(), m, data)
	if err != nil {
		return nil, err
	}
	return visibleRow(m, row), nil
}

func (c *conn) update(ctx context.Context, m *walrelay.Model, msg inbound) (any, error) {
	id, err := requestID(msg)
	if err != nil {
		return nil, err
	}
	data, err := requestData(msg)
	if err != nil {
		return nil, err
	}
	row, err := c.s.store.Update(ctx, c.guard(), m, id, data)
	if err != nil {
		return nil, err
	}
	return visibleRow(m, row), nil
}

// requestID returns the request's id, a JSON string or number, as text.
func requestID(msg inbound) (string, error) {
	raw := bytes.TrimSpace(msg.ID)
	if len(raw) == 0 || string(raw) == "null" {
		return "", fmt.Errorf("%w: %s needs an id", walrelay.ErrBadRequest, msg.Op)
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return "", fmt.Errorf("%w: id must be a string or a number", walrelay.ErrBadRequest)
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	}
	return "", fmt.Errorf("%w: id must be a string or a number", walrelay.ErrBadRequest)
}

// requestData returns the request's data object.
func requestData(msg inbound) (map[string]any, error) {
	var data map[string]any
	d := json.NewDecoder(bytes.NewReader(msg.Data))
	d.UseNumber()
	if err := d.Decode(&data); err != nil || data == nil {
		return nil, fmt.Errorf("%w: %s needs a data object", walrelay.ErrBadRequest, msg.Op)
	}
	return data, nil
}

// paramsValues turns a params object into query values, as REST would get
// them: strings as they are, numbers as written, booleans as true/false,
// arrays as repeated values.
func paramsValues(raw json.RawMessage) (url.Values, error) {
	q := url.Values{}
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return q, nil
	}
	var obj map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&obj); err != nil {
		return nil, fmt.Errorf("%w: params must be an object", walrelay.ErrBadRequest)
	}
	for k, v := range obj {
		vals := []any{v}
		if arr, ok := v.([]any); ok {
			vals = arr
		}
		for _, v := range vals {
			s, ok := paramString(v)
			if !ok {
				return nil, fmt.Errorf("%w: params.%s must be a string, number or boolean", walrelay.ErrBadRequest, k)
			}
			q.Add(k, s)
		}
	}
	return q, nil
}

func paramString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// guard returns the connection's current Caller as the store's Guard.
// Requests run only after authentication, so it is set; a nil Caller would
// be a bug, and the store fails closed on a nil Guard.
func (c *conn) guard() store.Guard {
	if caller := c.caller.Load(); caller != nil {
		return caller
	}
	return nil
}
