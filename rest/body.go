package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/walrelay/walrelay"
)

// body reads the request body as one JSON object, numbers as json.Number.
// Bodies over the limit give walrelay.ErrTooLarge; anything but a single
// JSON object walrelay.ErrBadRequest.
func (h *handler) body(w http.ResponseWriter, r *http.Request) (map[string]any, error) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil {
		if err = dec.Decode(new(any)); err == io.EOF {
			err = nil
		} else if err == nil {
			err = errors.New("trailing data")
		}
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, fmt.Errorf("%w: request body is over %d bytes", walrelay.ErrTooLarge, tooBig.Limit)
	case err != nil:
		return nil, fmt.Errorf("%w: request body is not valid JSON", walrelay.ErrBadRequest)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: request body must be a JSON object", walrelay.ErrBadRequest)
	}
	return obj, nil
}
