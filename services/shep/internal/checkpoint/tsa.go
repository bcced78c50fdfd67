package checkpoint

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"time"

	"github.com/digitorus/timestamp"
)

// TSA asks НУЦ's time-stamping authority over HTTP (RFC 3161 §3.4).
type TSA struct {
	// URL is the TSA's address, e.g. https://pki.example/tsa.
	URL string
	// Client makes the requests; one with a 10-second timeout when nil.
	Client *http.Client
}

// TSAURL is the TSA at origin (НУЦ's base URL: scheme and host).
func TSAURL(origin string) (string, error) {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("НУЦ's address %q: want scheme://host[:port]", origin)
	}
	return u.Scheme + "://" + u.Host + "/tsa", nil
}

// Stamp implements TimeStamper: a SHA-256 query with a nonce asking for the TSA's certificate, and the
// answer's token once its status is granted and its nonce and imprint are those asked for.
func (t *TSA) Stamp(ctx context.Context, digest []byte) ([]byte, error) {
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	q, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest, Certificates: true, Nonce: nonce}).Marshal()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(q))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/timestamp-query")
	c := t.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/timestamp-reply" {
		return nil, fmt.Errorf("%s answered %s with %q", t.URL, resp.Status, ct)
	}
	ts, err := parseResponse(body)
	if err != nil {
		return nil, fmt.Errorf("%s (HTTP %s): %w", t.URL, resp.Status, err)
	}
	if ts.Nonce == nil || ts.Nonce.Cmp(nonce) != 0 || string(ts.HashedMessage) != string(digest) {
		return nil, fmt.Errorf("%s answered another request (nonce or imprint differ)", t.URL)
	}
	return ts.RawToken, nil
}
