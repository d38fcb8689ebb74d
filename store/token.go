package store

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/filter"
)

// pageToken is the decoded next_page token: the text form of the last
// row's sort-key values (nil for NULL), and a fingerprint of the query that
// made it, so a token cannot be reused with another filter or order.
type pageToken struct {
	V []*string `json:"v"`
	H string    `json:"h"`
}

// maxTokenLen bounds a page token (sort keys of big text columns included).
const maxTokenLen = 64 << 10

func queryHash(m *walrelay.Model, keys []filter.Order, f *filter.Filter) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.String()
	}
	sum := sha256.Sum256([]byte(m.Name + "\x00" + strings.Join(parts, ",") + "\x00" + f.Fingerprint()))
	return hex.EncodeToString(sum[:12])
}

func encodeToken(t pageToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s, hash string, nkeys int) (pageToken, error) {
	var t pageToken
	bad := fmt.Errorf("%w: invalid page token", walrelay.ErrBadRequest)
	if len(s) > maxTokenLen {
		return t, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(raw, &t) != nil || len(t.V) != nkeys {
		return t, bad
	}
	if t.H != hash {
		return t, fmt.Errorf("%w: page token belongs to a different filter or order", walrelay.ErrBadRequest)
	}
	return t, nil
}
