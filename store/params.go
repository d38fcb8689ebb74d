package store

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/filter"
)

// Limits of a list page.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// ListParams are the parsed query of a list read.
type ListParams struct {
	Filter *filter.Filter
	Order  []filter.Order
	// Limit is the page size, 1..MaxLimit; 0 means DefaultLimit.
	Limit int
	// Page is a next_page token from an earlier List with the same
	// filter and order; empty for the first page.
	Page string
	// Count asks for the total number of matching rows.
	Count bool
}

// ParseListParams reads a list query: column filters (see filter.Parse),
// order, limit (default 100, max 1000), page and count=exact. Errors wrap
// walrelay.ErrInvalidFilter (filters, order) or walrelay.ErrBadRequest.
func ParseListParams(m *walrelay.Model, q url.Values) (ListParams, error) {
	var p ListParams
	for _, k := range []string{"order", "limit", "page", "count"} {
		if len(q[k]) > 1 {
			return p, fmt.Errorf("%w: %s given more than once", walrelay.ErrBadRequest, k)
		}
	}
	if q.Has("select") {
		return p, fmt.Errorf("%w: select is not supported", walrelay.ErrBadRequest)
	}
	var err error
	if p.Filter, err = filter.Parse(m, q); err != nil {
		return p, err
	}
	if p.Order, err = filter.ParseOrder(m, q.Get("order")); err != nil {
		return p, err
	}
	p.Limit = DefaultLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return p, fmt.Errorf("%w: limit must be a number from 1 to %d", walrelay.ErrBadRequest, MaxLimit)
		}
		p.Limit = n
	}
	p.Page = q.Get("page")
	switch q.Get("count") {
	case "":
	case "exact":
		p.Count = true
	default:
		return p, fmt.Errorf("%w: count must be \"exact\"", walrelay.ErrBadRequest)
	}
	return p, nil
}
