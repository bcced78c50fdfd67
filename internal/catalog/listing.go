package catalog

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

//go:embed passports/listing/listing.yaml
var listingFile embed.FS

// Listing is what a citizen reads of the catalogue before ordering: the regions by name, the services
// grouped by life situation (категория), their cost, and the services the seeds know only by title, which
// cannot be ordered. It lives beside the passports (passports/listing/listing.yaml).
type Listing struct {
	Regions    []RegionName `yaml:"regions"`
	Categories []Category   `yaml:"categories"`
	// Other names the group of the passports no category lists.
	Other Text `yaml:"other"`
	// Cost is what a service costs the applicant; Costs overrides it by service code.
	Cost      Text            `yaml:"cost"`
	Costs     map[string]Text `yaml:"costs,omitempty"`
	TitleOnly []TitleOnly     `yaml:"title_only"`
	// TitleOnlyWhy tells the citizen why a service known only by title cannot be ordered.
	TitleOnlyWhy Text       `yaml:"title_only_why"`
	Decisions    []Decision `yaml:"decisions"`
}

// RegionName names a region code.
type RegionName struct {
	Code string `yaml:"code"`
	Name Text   `yaml:"name"`
}

// Category is a group of services by the citizen's situation (опека, образование, выплаты…).
type Category struct {
	ID       string   `yaml:"id"`
	Name     Text     `yaml:"name"`
	Services []string `yaml:"services"`
}

// TitleOnly is a service a regulation of the seeds approves whose text is absent: the citizen learns it
// exists and why it is not offered here.
type TitleOnly struct {
	Code   string `yaml:"code"`
	Region string `yaml:"region"`
	Name   Text   `yaml:"name"`
	Source Source `yaml:"source"`
}

// ParseListing decodes and validates a listing against the catalogue c: every category's service and
// every title-only entry's code is known once, every passport's region is named.
func ParseListing(file string, b []byte, c *Catalog) (*Listing, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var l Listing
	if err := dec.Decode(&l); err != nil {
		return nil, &Error{File: file, Field: "(yaml)", Problem: err.Error()}
	}
	return &l, l.Validate(file, c)
}

// Validate checks the listing against the catalogue c.
func (l *Listing) Validate(file string, c *Catalog) error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &Error{File: file, Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	text := func(field string, t Text) {
		if strings.TrimSpace(t.RU) == "" || strings.TrimSpace(t.KK) == "" {
			bad(field, "a text in ru and kk")
		}
	}
	regions := map[string]bool{}
	for i, r := range l.Regions {
		at := fmt.Sprintf("regions[%d]", i)
		if !regionRe.MatchString(r.Code) || regions[r.Code] {
			bad(at+".code", "%q: a two-digit region code, once", r.Code)
		}
		regions[r.Code] = true
		text(at+".name", r.Name)
	}
	codes := map[string]bool{}
	for _, p := range c.All() {
		codes[p.Code] = true
		if !regions[p.Region] {
			bad("regions", "passport %s names region %s, which has no name here", p.Code, p.Region)
		}
	}
	titles := map[string]bool{}
	for i, t := range l.TitleOnly {
		at := fmt.Sprintf("title_only[%d]", i)
		if !codeRe.MatchString(t.Code) || titles[t.Code+"/"+t.Region] {
			bad(at+".code", "%q: missing, malformed or repeated", t.Code)
		}
		if _, ok := c.Get(t.Code, t.Region); ok {
			bad(at+".code", "%s in region %s has a passport: it is offered, not known by title only", t.Code, t.Region)
		}
		if !regions[t.Region] {
			bad(at+".region", "%q has no name in regions", t.Region)
		}
		titles[t.Code+"/"+t.Region] = true
		codes[t.Code] = true
		text(at+".name", t.Name)
		if t.Source.Document == "" || t.Source.Ref == "" {
			bad(at+".source", "a source needs document and ref")
		}
	}
	if len(l.TitleOnly) > 0 {
		text("title_only_why", l.TitleOnlyWhy)
	}
	ids := map[string]bool{}
	for i, g := range l.Categories {
		at := fmt.Sprintf("categories[%d]", i)
		if !idRe.MatchString(g.ID) || ids[g.ID] {
			bad(at+".id", "%q: missing, malformed or repeated", g.ID)
		}
		ids[g.ID] = true
		text(at+".name", g.Name)
		for j, s := range g.Services {
			if !codes[s] {
				bad(fmt.Sprintf("%s.services[%d]", at, j), "%q is neither a passport's code nor a service known by title", s)
			}
			if slices.Index(g.Services, s) != j {
				bad(fmt.Sprintf("%s.services[%d]", at, j), "%q twice", s)
			}
		}
	}
	text("other", l.Other)
	text("cost", l.Cost)
	for code, t := range l.Costs {
		if !codes[code] {
			bad("costs", "%q is not a service of the catalogue", code)
		}
		text("costs."+code, t)
	}
	return errors.Join(errs...)
}

// BuiltinListing is the suite's own listing, validated against the catalogue c.
func BuiltinListing(c *Catalog) (*Listing, error) {
	const name = "passports/listing/listing.yaml"
	b, err := listingFile.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return ParseListing("listing/listing.yaml", b, c)
}

// RegionName is the name of region code in lang ("kk", else Russian); the code when unnamed.
func (l *Listing) RegionName(code, lang string) string {
	for _, r := range l.Regions {
		if r.Code == code {
			return r.Name.In(lang)
		}
	}
	return code
}

// CostOf is what the service code costs.
func (l *Listing) CostOf(code string) Text {
	if t, ok := l.Costs[code]; ok {
		return t
	}
	return l.Cost
}

// In is the text in lang: Kazakh for "kk" (Russian when it has none), else Russian.
func (t Text) In(lang string) string {
	if lang == "kk" && t.KK != "" {
		return t.KK
	}
	return t.RU
}

// Entry is one service of the listing in one region: a passport, or a service known by title only.
type Entry struct {
	Code, Region string
	Name         Text
	// Passport is nil for a service known by title only (Title is set then).
	Passport *Passport
	Title    *TitleOnly
}

// Group is a category with its entries.
type Group struct {
	ID      string
	Name    Text
	Entries []Entry
}

// Entries are every passport and every service known by title only, by code and region.
func (l *Listing) Entries(c *Catalog) []Entry {
	var out []Entry
	for _, p := range c.All() {
		out = append(out, Entry{Code: p.Code, Region: p.Region, Name: p.Name, Passport: p})
	}
	for i := range l.TitleOnly {
		t := &l.TitleOnly[i]
		out = append(out, Entry{Code: t.Code, Region: t.Region, Name: t.Name, Title: t})
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Code+"/"+a.Region, b.Code+"/"+b.Region) })
	return out
}

// Find is the entry of code in region.
func (l *Listing) Find(c *Catalog, code, region string) (Entry, bool) {
	for _, e := range l.Entries(c) {
		if e.Code == code && e.Region == region {
			return e, true
		}
	}
	return Entry{}, false
}

// Groups are the categories with the entries that match query (every word of it, in any case, found in
// the service's name, provider, region's name or category's name in either language), empty groups left
// out; the passports no category lists come last, under Other.
func (l *Listing) Groups(c *Catalog, query string) []Group {
	words := strings.FieldsFunc(strings.ToLower(query), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' })
	listed := map[string]bool{}
	entries := l.Entries(c)
	match := func(e Entry, g Text) bool {
		hay := []string{e.Code, e.Region, e.Name.RU, e.Name.KK, g.RU, g.KK, l.RegionName(e.Region, "ru"), l.RegionName(e.Region, "kk")}
		if e.Passport != nil {
			hay = append(hay, e.Passport.Provider.Name.RU, e.Passport.Provider.Name.KK)
		}
		all := strings.ToLower(strings.Join(hay, " "))
		for _, w := range words {
			if !strings.Contains(all, w) {
				return false
			}
		}
		return true
	}
	var out []Group
	for _, g := range l.Categories {
		grp := Group{ID: g.ID, Name: g.Name}
		for _, e := range entries {
			if slices.Contains(g.Services, e.Code) {
				listed[e.Code] = true
				if match(e, g.Name) {
					grp.Entries = append(grp.Entries, e)
				}
			}
		}
		if len(grp.Entries) > 0 {
			out = append(out, grp)
		}
	}
	other := Group{ID: "other", Name: l.Other}
	for _, e := range entries {
		if !listed[e.Code] && match(e, l.Other) {
			other.Entries = append(other.Entries, e)
		}
	}
	if len(other.Entries) > 0 {
		out = append(out, other)
	}
	return out
}
