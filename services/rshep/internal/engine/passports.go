package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/services/rshep/internal/store"
)

// PassportChangedError is a passport file changed without a new version number: the node already ran
// cases under that version, and it cannot tell them which of the two texts is theirs.
type PassportChangedError struct {
	Code, Region   string
	Version        int
	Stored, Loaded string // digests
}

func (e *PassportChangedError) Error() string {
	return fmt.Sprintf("passport %s for region %s, version %d: the file differs from the version already registered (digest %.12s, now %.12s); "+
		"an edited passport needs a new version number (version: %d)", e.Code, e.Region, e.Version, e.Stored, e.Loaded, e.Version+1)
}

// RecordPassports stores the catalogue's passports of the engine's regions as versions seen, and refuses
// (a *PassportChangedError, joined for every one) a file changed under a version already stored. The
// service calls it at start, before it takes applications.
func (e *Engine) RecordPassports(ctx context.Context) error {
	var errs []error
	for _, p := range e.o.Catalog.All() {
		if _, ok := e.o.Nodes[p.Region]; !ok {
			continue
		}
		if err := recordPassport(ctx, e.o.DB, p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// recordPassport stores p's version if it is new, and refuses a different file under the same version.
func recordPassport(ctx context.Context, q store.Querier, p *catalog.Passport) error {
	digest, err := store.RecordVersion(ctx, q, store.PassportVersion{Code: p.Code, Region: p.Region, Version: p.Version,
		Digest: p.Digest(), Body: p.Raw, Templates: p.Templates})
	if err != nil {
		return err
	}
	if digest != p.Digest() {
		return &PassportChangedError{Code: p.Code, Region: p.Region, Version: p.Version, Stored: digest, Loaded: p.Digest()}
	}
	return nil
}

// Passport returns the passport a case runs on: the version it was registered under, from the catalogue
// when that is still its version, else as stored when the case was registered.
func (e *Engine) Passport(ctx context.Context, c *Case) (*catalog.Passport, error) {
	if p, ok := e.o.Catalog.Get(c.ServiceCode, c.Region); ok && p.Version == c.PassportVersion {
		return p, nil
	}
	key := fmt.Sprintf("%s/%s/%d", c.ServiceCode, c.Region, c.PassportVersion)
	e.mu.Lock()
	p, ok := e.versions[key]
	e.mu.Unlock()
	if ok {
		return p, nil
	}
	v, err := store.Version(ctx, e.o.DB, c.ServiceCode, c.Region, c.PassportVersion)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("case %s: its passport %s/%s version %d is no longer in the catalogue and was never stored in passport_versions", c.Number, c.ServiceCode, c.Region, c.PassportVersion)
	}
	// Decoded, not validated again: it validated when it was stored, and a rule of the format added
	// since must not strand the cases already under it.
	p, err = catalog.Decode(key, v.Body)
	if err != nil {
		return nil, fmt.Errorf("case %s: its stored passport: %w", c.Number, err)
	}
	p.Templates = v.Templates
	e.mu.Lock()
	e.versions[key] = p
	e.mu.Unlock()
	return p, nil
}
