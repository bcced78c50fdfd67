package qakit

import (
	"context"
	"encoding/base64"
	"fmt"
	"html"
	"net/url"
	"regexp"
)

// Staff is a civil servant in АРМ РШЭП (base is the rshep HTTP address).
type Staff struct {
	*Person
	Region string
}

// NewStaff signs a member of the provider's staff in to АРМ for region.
func NewStaff(ctx context.Context, base, keys, slug, region string) (*Staff, error) {
	p, err := NewPerson(base, keys, slug)
	if err != nil {
		return nil, err
	}
	pg, err := p.SignIn(ctx, "/arm/login", "/arm/login", url.Values{"region": {region}})
	if err != nil {
		return nil, err
	}
	if pg.Status != 200 || !regexp.MustCompile(`id="open"`).MatchString(pg.Body) {
		return nil, fmt.Errorf("qakit: АРМ sign-in of %s: HTTP %d", slug, pg.Status)
	}
	return &Staff{Person: p, Region: region}, nil
}

var stepRe = regexp.MustCompile(`name="step" value="([^"]+)"`)

// Case opens the region's case with a registration number, as АРМ's search field does; it returns the
// case page's path and the page. A number is unique in its region (one register for all the region's
// providers).
func (s *Staff) Case(ctx context.Context, number string) (string, Page, error) {
	pg, err := s.Get(ctx, "/arm/find?number="+url.QueryEscape(number))
	if err == nil {
		err = pg.Err()
	}
	if err != nil {
		return "", pg, fmt.Errorf("qakit: case %s: %w", number, err)
	}
	return pg.Path(), pg, nil
}

// OpenCase opens the case with a registration number among the region's open cases (АРМ's inbox), of
// the passport АРМ names service (its Russian name). found is false when no open case matches (the case
// is closed, or not yet registered, or of another service).
func (s *Staff) OpenCase(ctx context.Context, number, service string) (path string, pg Page, found bool, err error) {
	inbox, err := s.Get(ctx, "/arm/")
	if err == nil {
		err = inbox.Err()
	}
	if err != nil {
		return "", inbox, false, fmt.Errorf("qakit: АРМ's inbox: %w", err)
	}
	re := regexp.MustCompile(`<td><a href="(/arm/cases/[0-9]+)">` + regexp.QuoteMeta(number) + `</a></td><td>` +
		regexp.QuoteMeta(html.EscapeString(service)) + `</td>`)
	m := re.FindStringSubmatch(inbox.Body)
	if m == nil {
		return "", inbox, false, nil
	}
	pg, err = s.Get(ctx, m[1])
	if err == nil {
		err = pg.Err()
	}
	if err != nil {
		return "", pg, false, fmt.Errorf("qakit: case %s: %w", number, err)
	}
	return m[1], pg, true, nil
}

// Act does an action on the case at path (kind complete, decide, extend; fields beside).
func (s *Staff) Act(ctx context.Context, path, kind string, fields url.Values) (Page, error) {
	pg, err := s.Get(ctx, path)
	if err != nil {
		return pg, err
	}
	return s.ActOn(ctx, pg, kind, fields)
}

// ActOn does an action on the case page pg as it was read, with its CSRF token and step.
func (s *Staff) ActOn(ctx context.Context, pg Page, kind string, fields url.Values) (Page, error) {
	token, err := find(csrfRe, pg.Body, "CSRF token")
	if err != nil {
		return pg, err
	}
	step, err := find(stepRe, pg.Body, "step")
	if err != nil {
		return pg, err
	}
	v := url.Values{"csrf": {token}, "kind": {kind}, "step": {step}}
	for k, x := range fields {
		v[k] = x
	}
	return s.Post(ctx, pg.Path()+"/act", v)
}

// SignResult signs the case's result with the staff member's signing key.
func (s *Staff) SignResult(ctx context.Context, path string) (Page, error) {
	pg, err := s.Get(ctx, path)
	if err != nil {
		return pg, err
	}
	return s.SignResultOn(ctx, pg)
}

// resultSignRe finds each result document the case page offers for signature, in the case's order (a
// contract and a decision on payment are signed on their own, at once).
var resultSignRe = regexp.MustCompile(`id="sign-ncalayer(?:-\d+)?" data-sign="([^"]+)"`)

// SignResultOn signs every result document the case page pg offers for signature, one signature each.
func (s *Staff) SignResultOn(ctx context.Context, pg Page) (Page, error) {
	step, err := find(stepRe, pg.Body, "step")
	if err != nil {
		return pg, err
	}
	token, err := find(csrfRe, pg.Body, "CSRF token")
	if err != nil {
		return pg, err
	}
	docs := resultSignRe.FindAllStringSubmatch(pg.Body, -1)
	if len(docs) == 0 {
		return pg, fmt.Errorf("qakit: %s offers no result to sign", pg.Path())
	}
	v := url.Values{"csrf": {token}, "kind": {"sign"}, "step": {step}}
	for _, d := range docs {
		raw, err := base64.StdEncoding.DecodeString(html.UnescapeString(d[1]))
		if err != nil {
			return pg, fmt.Errorf("qakit: a result on %s: %w", pg.Path(), err)
		}
		sig, err := s.Sign.Sign(raw)
		if err != nil {
			return pg, err
		}
		v.Add("signature", base64.StdEncoding.EncodeToString(sig))
	}
	return s.Post(ctx, pg.Path()+"/act", v)
}

var applicationRe = regexp.MustCompile(`name="application" value="([^"]+)"`)

// OfficeApply registers a paper application at the provider's office (канцелярия), as the clerk does in
// АРМ: the applicant (iin) looked up in ГБД ФЛ, the form of passport code filled (f.Fields), the paper
// originals marked received (f.Paper) and the scans attached (f.Files), the application signed with the
// clerk's SIGN key. It returns the receipt page (расписка), which names the case's number (Number).
func (s *Staff) OfficeApply(ctx context.Context, code, iin string, f Form) (Page, error) {
	page := "/arm/office/" + url.PathEscape(code)
	pg, err := s.Get(ctx, page)
	if err == nil {
		err = pg.Err()
	}
	if err != nil {
		return pg, fmt.Errorf("qakit: office form of %s: %w", code, err)
	}
	token, err := find(csrfRe, pg.Body, "CSRF token")
	if err != nil {
		return pg, err
	}
	// The IIN is posted (never in a URL); ГБД ФЛ's name for it shows the applicant identified.
	pg, err = s.Post(ctx, page+"/identify", url.Values{"csrf": {token}, "iin": {iin}})
	if err == nil {
		err = pg.Err()
	}
	if err != nil {
		return pg, fmt.Errorf("qakit: identify %s at the office: %w", iin, err)
	}
	if !regexp.MustCompile(`id="applicant-name"`).MatchString(pg.Body) {
		return pg, fmt.Errorf("qakit: office form of %s: the applicant %s was not identified", code, iin)
	}
	f.Path = page
	if f.Extra == nil {
		f.Extra = map[string]string{}
	}
	f.Extra["iin"] = iin
	pg, err = s.Submit(ctx, page, f)
	if err == nil {
		err = pg.Err()
	}
	if err != nil {
		return pg, fmt.Errorf("qakit: office application of %s: %w", code, err)
	}
	app, err := find(applicationRe, pg.Body, "application to sign")
	if err != nil {
		return pg, err
	}
	pg, err = s.SignPage(ctx, pg, page+"/sign", s.Sign, url.Values{"application": {app}})
	if err == nil {
		err = pg.Err()
	}
	if err != nil {
		return pg, fmt.Errorf("qakit: sign the office application of %s: %w", code, err)
	}
	return pg, nil
}

// HandOver marks the printed result of the office case at path handed over in person (handed) or
// unclaimed; it returns the case page after.
func (s *Staff) HandOver(ctx context.Context, path string, handed bool) (Page, error) {
	pg, err := s.Get(ctx, path)
	if err != nil {
		return pg, err
	}
	token, err := find(csrfRe, pg.Body, "CSRF token")
	if err != nil {
		return pg, err
	}
	v := url.Values{"csrf": {token}, "handed": {"0"}}
	if handed {
		v.Set("handed", "1")
	}
	return s.Post(ctx, path+"/handover", v)
}
