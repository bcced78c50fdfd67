// Package envelope is the public library every system of the suite (and an integration team's adapter)
// uses to build, encode, sign and verify what crosses ШЭП.
//
// Envelopes are signed as bytes, never as structs: Marshal encodes an Envelope once, deterministically,
// and those exact bytes travel in a SignedEnvelope beside their detached signature. Receivers unmarshal
// the bytes they verified; nobody re-encodes before checking.
package envelope

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
)

// MaxSize bounds an encoded envelope; attachments travel by reference, so an envelope is small.
const MaxSize = 1 << 20

// ErrMalformed means bytes that do not decode as an envelope.
var ErrMalformed = errors.New("envelope: malformed")

// Marshal encodes e deterministically (map entries sorted), so the same envelope always gives the same
// bytes and golden files can pin them.
func Marshal(e *envelopev1.Envelope) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("envelope: marshal: %w", err)
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("envelope: %d bytes exceeds the %d-byte limit", len(b), MaxSize)
	}
	return b, nil
}

// Unmarshal decodes envelope bytes, refusing oversize input and unknown fields' garbage alike.
func Unmarshal(b []byte) (*envelopev1.Envelope, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes exceeds the %d-byte limit", ErrMalformed, len(b), MaxSize)
	}
	e := new(envelopev1.Envelope)
	if err := proto.Unmarshal(b, e); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return e, nil
}

// Hash is the SHA-256 of envelope bytes: what a RESPONSE's request_hash holds.
func Hash(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}
