package catalog_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/catalog"
)

// TestBuiltinListing: the suite's listing validates against its passports, names every region, and
// lists the three South Kazakhstan services known only by title with their seed place.
func TestBuiltinListing(t *testing.T) {
	t.Parallel()
	c, err := catalog.Builtin()
	require.NoError(t, err)
	l, err := catalog.BuiltinListing(c)
	require.NoError(t, err)
	for code, want := range map[string]string{"27": "Западно-Казахстанская область", "51": "Южно-Казахстанская область",
		"55": "Павлодар (Павлодарская область)", "59": "Жамбылский район Северо-Казахстанской области", "71": "Астана"} {
		require.Equal(t, want, l.RegionName(code, "ru"))
		require.NotEqual(t, code, l.RegionName(code, "kk"), "region %s has its Kazakh name", code)
	}
	require.Equal(t, "99", l.RegionName("99", "ru"), "an unnamed region shows its code")
	var titles []string
	for _, e := range l.Entries(c) {
		if e.Passport == nil {
			require.NotNil(t, e.Title)
			require.Equal(t, "seeds/001_90afdf2ffce9722a.txt", e.Title.Source.Document)
			titles = append(titles, e.Code+"."+e.Region)
		}
	}
	require.ElementsMatch(t, []string{"preschool-registration.51", "archive-certificate.51", "unemployed-certificate.51"}, titles)
	require.Equal(t, "бесплатно", l.CostOf("guardianship-certificate").RU)
	require.Equal(t, "тегін", l.CostOf("guardianship-certificate").KK)
}

// TestListingGroups: the groups of named passports and a query's matches, on the built-in listing. The
// catalogue grows by batches of passports: the cases name the passports they are about (in, and where a
// query must leave one out, out) rather than the whole catalogue, and every passport of the catalogue, and
// every service known by title only, lands in some group (a passport no category lists in «Другие услуги»).
func TestListingGroups(t *testing.T) {
	t.Parallel()
	c, err := catalog.Builtin()
	require.NoError(t, err)
	l, err := catalog.BuiltinListing(c)
	require.NoError(t, err)
	groups := func(query string) map[string][]string { // group → code.region
		got := map[string][]string{}
		for _, g := range l.Groups(c, query) {
			require.NotEmpty(t, g.Entries, "an empty group is left out")
			for _, e := range g.Entries {
				got[g.ID] = append(got[g.ID], e.Code+"."+e.Region)
			}
		}
		return got
	}
	t.Run("ok/every passport and every title lands in a group", func(t *testing.T) {
		t.Parallel()
		got := groups("")
		grouped := map[string]bool{}
		for _, entries := range got {
			for _, e := range entries {
				grouped[e] = true
			}
		}
		for _, p := range c.All() {
			require.True(t, grouped[p.Code+"."+p.Region], "%s.%s is in no group", p.Code, p.Region)
		}
		for _, e := range l.Entries(c) {
			require.True(t, grouped[e.Code+"."+e.Region], "%s.%s is in no group", e.Code, e.Region)
		}
	})
	tests := []struct {
		name, query string
		in          map[string][]string // group → code.region it must show
		out         map[string][]string // group → code.region it must not show
	}{
		{name: "ok/everything in its life situations", query: "", in: map[string][]string{
			"guardianship": {"guardian-allowance.27", "guardianship-certificate.27", "guardianship-certificate.55", "guardianship-certificate.59",
				"guardianship-establishment.27", "minors-property-certificate.27", "patronage.27"},
			"adoption":        {"adoption-candidates-register.27", "adoption-payment.27"},
			"education":       {"camp-referral.27", "disabled-children-home-education.51", "preschool-registration.51"},
			"social_payments": {"adoption-payment.27", "disabled-children-home-education.51", "guardian-allowance.27", "patronage.27"},
			"employment":      {"unemployed-certificate.51"},
			"archives":        {"archive-certificate.51"},
		}, out: map[string][]string{
			"guardianship": {"disabled-children-home-education.51", "camp-referral.27"},
			"employment":   {"archive-certificate.51"},
		}},
		{name: "ok/by a word of the name, any case", query: "СПРАВОК по опеке", in: map[string][]string{
			"guardianship": {"guardianship-certificate.27", "guardianship-certificate.55", "guardianship-certificate.59"},
		}, out: map[string][]string{
			"guardianship": {"guardian-allowance.27", "patronage.27"},
		}},
		{name: "ok/by the region's name", query: "павлодар", in: map[string][]string{
			"guardianship": {"guardianship-certificate.55"},
		}, out: map[string][]string{
			"guardianship": {"guardianship-certificate.27", "guardianship-certificate.59"},
		}},
		{name: "ok/in Kazakh", query: "мұрағаттық", in: map[string][]string{
			"archives": {"archive-certificate.51"},
		}, out: map[string][]string{
			"guardianship": {"guardianship-certificate.55"},
		}},
		{name: "ok/by the category (the allowance's name says «выплаты» too)", query: "выплаты", in: map[string][]string{
			"guardianship":    {"guardian-allowance.27"},
			"social_payments": {"disabled-children-home-education.51", "guardian-allowance.27"},
		}, out: map[string][]string{
			"guardianship": {"guardianship-certificate.55"},
			"education":    {"preschool-registration.51"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := groups(tt.query)
			for g, want := range tt.in {
				require.Subset(t, got[g], want, "group %s", g)
			}
			for g, not := range tt.out {
				for _, e := range not {
					require.NotContains(t, got[g], e, "group %s", g)
				}
			}
		})
	}
	t.Run("fail/nothing matches", func(t *testing.T) {
		t.Parallel()
		require.Empty(t, groups("паспорт гражданина"))
	})
}

// TestListingOtherGroup: a passport no category lists is shown under «Другие услуги», never dropped.
func TestListingOtherGroup(t *testing.T) {
	t.Parallel()
	c, err := catalog.Builtin()
	require.NoError(t, err)
	l, err := catalog.BuiltinListing(c)
	require.NoError(t, err)
	l.Categories = l.Categories[1:] // guardianship no longer grouped
	groups := l.Groups(c, "")
	last := groups[len(groups)-1]
	require.Equal(t, "other", last.ID)
	require.Equal(t, "Другие услуги", last.Name.RU)
	var codes []string
	for _, e := range last.Entries {
		codes = append(codes, e.Code)
	}
	require.Contains(t, codes, "minors-property-certificate")
}

func TestListingValidate(t *testing.T) {
	t.Parallel()
	c, err := catalog.Builtin()
	require.NoError(t, err)
	base := `regions: [{code: "27", name: {ru: ЗКО, kk: БҚО}}, {code: "51", name: {ru: ЮКО, kk: ОҚО}}, {code: "55", name: {ru: П, kk: П}}, {code: "59", name: {ru: Ж, kk: Ж}}]
other: {ru: Другие, kk: Басқа}
cost: {ru: бесплатно, kk: тегін}
title_only_why: {ru: нет текста, kk: мәтін жоқ}
`
	tests := []struct {
		name, yaml, field, problem string
	}{
		{name: "fail/a category names an unknown service", yaml: base + `categories: [{id: x, name: {ru: X, kk: X}, services: [no-such-service]}]`,
			field: "categories[0].services[0]", problem: "neither a passport's code"},
		{name: "fail/a passport's region unnamed", yaml: strings.Replace(base, `{code: "55", name: {ru: П, kk: П}}, `, "", 1),
			field: "regions", problem: "region 55, which has no name"},
		{name: "fail/a title-only service that has a passport", yaml: base + `title_only: [{code: guardianship-certificate, region: "55", name: {ru: X, kk: X}, source: {document: d, ref: r}}]`,
			field: "title_only[0].code", problem: "has a passport"},
		{name: "fail/a title-only service without its source", yaml: base + `title_only: [{code: archive-certificate, region: "51", name: {ru: X, kk: X}}]`,
			field: "title_only[0].source", problem: "a source needs document and ref"},
		{name: "fail/a cost in Russian only", yaml: strings.Replace(base, "cost: {ru: бесплатно, kk: тегін}", "cost: {ru: бесплатно}", 1),
			field: "cost", problem: "ru and kk"},
		{name: "fail/an unknown key", yaml: base + "fee: 100\n", field: "(yaml)", problem: "fee"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := catalog.ParseListing("listing.yaml", []byte(tt.yaml), c)
			require.Error(t, err)
			require.Contains(t, err.Error(), "listing.yaml: "+tt.field+": ")
			require.Contains(t, err.Error(), tt.problem)
		})
	}
}
