package qakit

import (
	"context"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strconv"
)

// MIO is a МИО employee in ИС Е-Астана's working cabinet (base is the eastana HTTP address).
type MIO struct {
	*Person
}

// NewMIO signs a МИО employee in to ИС Е-Астана's working cabinet with the key files of slug
// (<slug>-AUTH.p12, -SIGN.p12 in keys).
func NewMIO(ctx context.Context, base, keys, slug string) (*MIO, error) {
	p, err := NewPerson(base, keys, slug)
	if err != nil {
		return nil, err
	}
	m := &MIO{Person: p}
	return m, m.SignIn(ctx)
}

// whoRe marks a page of a signed-in employee.
var whoRe = regexp.MustCompile(`id="who"`)

// SignIn signs the employee in (again) with their AUTH key.
func (m *MIO) SignIn(ctx context.Context) error {
	pg, err := m.Person.SignIn(ctx, "/mio/login", "/mio/login", nil)
	if err != nil {
		return err
	}
	if err := pg.Err(); err != nil {
		return fmt.Errorf("qakit: МИО sign-in: %w", err)
	}
	if !whoRe.MatchString(pg.Body) {
		return fmt.Errorf("qakit: МИО sign-in: %s is not a page of the cabinet", pg.URL)
	}
	return nil
}

// Release frees n places of the age group [ageFrom, ageTo) of the kindergarten named name (its Russian
// name, as the cabinet lists it), as an employee does when children leave; it returns the page, whose
// notice says how many referrals the places gave.
func (m *MIO) Release(ctx context.Context, name string, ageFrom, ageTo, n int) (Page, error) {
	pg, err := m.Get(ctx, "/mio/places")
	if err == nil {
		err = pg.Err()
	}
	if err != nil {
		return pg, fmt.Errorf("qakit: the places: %w", err)
	}
	group, err := groupOf(pg, name, ageFrom, ageTo)
	if err != nil {
		return pg, err
	}
	token, err := CSRF(pg)
	if err != nil {
		return pg, err
	}
	pg, err = m.Post(ctx, "/mio/groups/"+group+"/release", url.Values{"csrf": {token}, "n": {strconv.Itoa(n)}})
	if err == nil {
		err = pg.Err()
	}
	if err != nil {
		return pg, fmt.Errorf("qakit: release %d places of %s %d–%d: %w", n, name, ageFrom, ageTo, err)
	}
	return pg, nil
}

// groupOf finds the id of a kindergarten's age group on the places page.
func groupOf(pg Page, name string, ageFrom, ageTo int) (string, error) {
	re := regexp.MustCompile(`(?s)<h2>` + regexp.QuoteMeta(html.EscapeString(name)) + `</h2>.*?<tr id="group-(\d+)"><td[^>]*>` +
		fmt.Sprintf(`%d–%d `, ageFrom, ageTo))
	m := re.FindStringSubmatch(pg.Body)
	if m == nil {
		return "", fmt.Errorf("qakit: no group %d–%d of %q on the places page", ageFrom, ageTo, name)
	}
	return m[1], nil
}

// referralRowRe is a row of the referrals page: the referral's id and the child's IIN.
var referralRowRe = regexp.MustCompile(`id="referral-(\d+)"><td[^>]*class="child">(\d+)<`)

// Referral finds the live referral of a child (by IIN) on the referrals page; found is false when the
// child holds none.
func (m *MIO) Referral(ctx context.Context, childIIN string) (id string, found bool, err error) {
	pg, err := m.Get(ctx, "/mio/referrals")
	if err == nil {
		err = pg.Err()
	}
	if err != nil {
		return "", false, fmt.Errorf("qakit: the referrals: %w", err)
	}
	for _, r := range referralRowRe.FindAllStringSubmatch(pg.Body, -1) {
		if r[2] == childIIN {
			return r[1], true, nil
		}
	}
	return "", false, nil
}

// CloseReferral records a child's referral as registered at the kindergarten (act "enroll") or
// declined ("decline").
func (m *MIO) CloseReferral(ctx context.Context, childIIN, act string) (Page, error) {
	id, found, err := m.Referral(ctx, childIIN)
	if err != nil {
		return Page{}, err
	}
	if !found {
		return Page{}, fmt.Errorf("qakit: the child %s holds no live referral", childIIN)
	}
	pg, err := m.Get(ctx, "/mio/referrals")
	if err != nil {
		return pg, err
	}
	token, err := CSRF(pg)
	if err != nil {
		return pg, err
	}
	pg, err = m.Post(ctx, "/mio/referrals/"+id+"/"+url.PathEscape(act), url.Values{"csrf": {token}})
	if err == nil {
		err = pg.Err()
	}
	return pg, err
}
