package gbdfladapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// RemotePerson is a record as the remote register's own API gives it: its field names and codes, not
// the suite's. The adapter's whole job is to turn this into egov.gbdfl.v1.
type RemotePerson struct {
	IIN         string `json:"iin"`
	LastName    string `json:"last_name"`
	FirstName   string `json:"first_name"`
	MiddleName  string `json:"middle_name,omitempty"`
	BirthDate   string `json:"birth_date"` // DD.MM.YYYY
	BirthPlace  string `json:"birth_place,omitempty"`
	Gender      string `json:"gender"` // "M" or "F"
	Citizenship string `json:"citizenship,omitempty"`
	Region      string `json:"region_code"`
	Address     string `json:"address,omitempty"`
	DeathDate   string `json:"death_date,omitempty"` // DD.MM.YYYY, when deceased
	Incapable   bool   `json:"incapable,omitempty"`
	// Parents and Guardians name the persons a minor is linked to.
	Parents   []string `json:"parents,omitempty"`
	Guardians []string `json:"guardians,omitempty"`
	Children  []string `json:"children,omitempty"`
}

// ErrNoRecord is the remote register's answer that it holds no such person.
var ErrNoRecord = errors.New("the remote register holds no such person")

// HTTPRegistry reads the remote register over its HTTP API: GET <base>/persons/<iin>, and
// GET <base>/persons/<iin>/children; 404 is "no such person".
type HTTPRegistry struct {
	// Base is the API's root URL.
	Base string
	// Client makes the requests (its Transport carries the TLS the remote register asks for);
	// http.DefaultClient when nil.
	Client *http.Client
	// Timeout bounds one request (5 s when zero).
	Timeout time.Duration
}

// Person returns the person with iin, or ErrNoRecord.
func (r HTTPRegistry) Person(ctx context.Context, iin string) (*RemotePerson, error) {
	var p RemotePerson
	if err := r.get(ctx, "/persons/"+url.PathEscape(iin), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Children returns the children of the person with iin, or ErrNoRecord when the person is unknown.
func (r HTTPRegistry) Children(ctx context.Context, iin string) ([]RemotePerson, error) {
	var ps []RemotePerson
	if err := r.get(ctx, "/persons/"+url.PathEscape(iin)+"/children", &ps); err != nil {
		return nil, err
	}
	return ps, nil
}

func (r HTTPRegistry) get(ctx context.Context, path string, out any) error {
	timeout := r.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.Base+path, nil)
	if err != nil {
		return err
	}
	c := r.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("the remote register: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("the remote register's answer: %w", err)
		}
		return nil
	case http.StatusNotFound:
		return ErrNoRecord
	default:
		return fmt.Errorf("the remote register answered %s", resp.Status)
	}
}
