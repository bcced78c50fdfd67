package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/egov-suite/egov/internal/catalog"
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
func recordPassport(ctx context.Context, q querier, p *catalog.Passport) error {
	var digest string
	templates, err := json.Marshal(p.Templates)
	if err != nil {
		return err
	}
	err = q.QueryRow(ctx, `INSERT INTO passport_versions (code, region, version, digest, body, templates) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (code, region, version) DO UPDATE SET code = excluded.code RETURNING digest`,
		p.Code, p.Region, p.Version, p.Digest(), p.Raw, templates).Scan(&digest)
	if err != nil {
		return fmt.Errorf("passport %s/%s version %d: %w", p.Code, p.Region, p.Version, err)
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
	var body, templates []byte
	err := e.o.DB.QueryRow(ctx, `SELECT body, templates FROM passport_versions WHERE code = $1 AND region = $2 AND version = $3`,
		c.ServiceCode, c.Region, c.PassportVersion).Scan(&body, &templates)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("case %s: its passport %s/%s version %d is no longer in the catalogue and was never stored in passport_versions", c.Number, c.ServiceCode, c.Region, c.PassportVersion)
	}
	if err != nil {
		return nil, err
	}
	// Decoded, not validated again: it validated when it was stored, and a rule of the format added
	// since must not strand the cases already under it.
	p, err = catalog.Decode(key, body)
	if err != nil {
		return nil, fmt.Errorf("case %s: its stored passport: %w", c.Number, err)
	}
	if err := json.Unmarshal(templates, &p.Templates); err != nil {
		return nil, fmt.Errorf("case %s: its stored passport's templates: %w", c.Number, err)
	}
	e.mu.Lock()
	e.versions[key] = p
	e.mu.Unlock()
	return p, nil
}
