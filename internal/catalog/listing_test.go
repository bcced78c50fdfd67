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

func TestListingGroups(t *testing.T) {
	t.Parallel()
	c, err := catalog.Builtin()
	require.NoError(t, err)
	l, err := catalog.BuiltinListing(c)
	require.NoError(t, err)
	tests := []struct {
		name, query string
		want        map[string][]string // group → code.region
	}{
		{name: "ok/everything", query: "", want: map[string][]string{
			"guardianship": {"guardian-allowance.27", "guardianship-certificate.27", "guardianship-certificate.55", "guardianship-certificate.59",
				"guardianship-establishment.27", "minors-property-certificate.27", "patronage.27"},
			"adoption":        {"adoption-candidates-register.27", "adoption-payment.27"},
			"education":       {"camp-referral.27", "disabled-children-home-education.51", "preschool-registration.51", "preschool-registration.71"},
			"social_payments": {"adoption-payment.27", "disabled-children-home-education.51", "guardian-allowance.27", "patronage.27"},
			"employment":      {"unemployed-certificate.51"},
			"archives":        {"archive-certificate.51"},
		}},
		{name: "ok/by a word of the name, any case", query: "СПРАВОК по опеке", want: map[string][]string{
			"guardianship": {"guardianship-certificate.27", "guardianship-certificate.55", "guardianship-certificate.59"},
		}},
		{name: "ok/by the region's name", query: "павлодар", want: map[string][]string{
			"guardianship": {"guardianship-certificate.55"},
		}},
		{name: "ok/in Kazakh", query: "мұрағаттық", want: map[string][]string{
			"archives": {"archive-certificate.51"},
		}},
		{name: "ok/by the category (the allowance's name says «выплаты» too)", query: "выплаты", want: map[string][]string{
			"guardianship":    {"guardian-allowance.27", "patronage.27"},
			"adoption":        {"adoption-payment.27"},
			"social_payments": {"adoption-payment.27", "disabled-children-home-education.51", "guardian-allowance.27", "patronage.27"},
		}},
		{name: "fail/nothing matches", query: "паспорт гражданина", want: map[string][]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := map[string][]string{}
			for _, g := range l.Groups(c, tt.query) {
				require.NotEmpty(t, g.Entries, "an empty group is left out")
				for _, e := range g.Entries {
					got[g.ID] = append(got[g.ID], e.Code+"."+e.Region)
				}
			}
			require.Equal(t, tt.want, got)
		})
	}
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
