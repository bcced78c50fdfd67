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
	re := regexp.MustCompile(`(?s)<h2>` + regexp.QuoteMeta(html.EscapeString(name)) + `</h2>.*?<tr id="group-(\d+)" ` +
		fmt.Sprintf(`data-ages="%d-%d">`, ageFrom, ageTo))
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

// Case opens the case of an application number (ИС Е-Астана's number, as REGISTERED gives it) among the
// applications received in state ("awaiting", "issued", "refused"; "" for any), and returns the case
// page's path and the page; found is false when no such case is listed.
func (m *MIO) Case(ctx context.Context, number, state string) (path string, pg Page, found bool, err error) {
	list, err := m.Get(ctx, "/mio/?"+url.Values{"channel": {""}, "state": {state}}.Encode())
	if err == nil {
		err = list.Err()
	}
	if err != nil {
		return "", list, false, fmt.Errorf("qakit: the applications received: %w", err)
	}
	re := regexp.MustCompile(`<a href="(/mio/cases/[0-9]+)">` + regexp.QuoteMeta(html.EscapeString(number)) + `</a>`)
	mm := re.FindStringSubmatch(list.Body)
	if mm == nil {
		return "", list, false, nil
	}
	pg, err = m.Get(ctx, mm[1])
	if err == nil {
		err = pg.Err()
	}
	if err != nil {
		return "", pg, false, fmt.Errorf("qakit: case %s: %w", number, err)
	}
	return mm[1], pg, true, nil
}

// draftRe is the draft's bytes on a case page.
var draftRe = regexp.MustCompile(`name="content" value="([^"]+)"`)

// SignDraft signs the drafted result (the registration ticket, the referral, or the queue's refusal) of
// the case at path with the employee's SIGN key, as the page's NCALayer button does, and returns the
// case page after the decision.
func (m *MIO) SignDraft(ctx context.Context, path string) (Page, error) {
	pg, err := m.Get(ctx, path)
	if err == nil {
		err = pg.Err()
	}
	if err != nil {
		return pg, err
	}
	content, err := find(draftRe, pg.Body, "draft to sign")
	if err != nil {
		return pg, err
	}
	pg, err = m.SignPage(ctx, pg, path+"/sign", m.Sign, url.Values{"content": {content}})
	if err == nil {
		err = pg.Err()
	}
	if err != nil {
		return pg, fmt.Errorf("qakit: sign the draft of %s: %w", path, err)
	}
	return pg, nil
}

// Refuse replaces the draft of the case at path with a motivated refusal.
func (m *MIO) Refuse(ctx context.Context, path, motivation string) (Page, error) {
	pg, err := m.Get(ctx, path)
	if err != nil {
		return pg, err
	}
	token, err := CSRF(pg)
	if err != nil {
		return pg, err
	}
	pg, err = m.Post(ctx, path+"/refuse", url.Values{"csrf": {token}, "motivation": {motivation}})
	if err == nil {
		err = pg.Err()
	}
	return pg, err
}
