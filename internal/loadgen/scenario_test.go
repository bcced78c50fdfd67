package loadgen

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/catalog"
)

func TestJobs(t *testing.T) {
	t.Parallel()
	cat, err := catalog.Builtin()
	require.NoError(t, err)
	for _, c := range []struct {
		name, scenario, service, region string
		want                            []string
		err                             string
	}{
		{name: "ok/portal: one passport", scenario: ScenarioPortal, service: "guardianship-certificate", region: "27",
			want: []string{"guardianship-certificate/27"}},
		{name: "ok/all-passports: every passport the portal offers", scenario: ScenarioAllPassports,
			want: []string{"adoption-candidates-register/27", "adoption-payment/27", "camp-referral/27", "disabled-children-home-education/51",
				"foster-family/27", "guardian-allowance/27", "guardianship-certificate/27", "guardianship-certificate/55", "guardianship-certificate/59",
				"guardianship-establishment/27", "minors-property-certificate/27", "patronage/27", "school-meals/27", "school-transport/27",
				"visit-permission/27"}},
		{name: "ok/tson: the passports the ЦОН offers", scenario: ScenarioTSON,
			want: []string{"camp-referral/27", "guardian-allowance/27", "guardianship-certificate/55", "guardianship-certificate/59",
				"guardianship-establishment/27", "school-transport/27", "visit-permission/27"}},
		{name: "fail/tson: a portal-only passport", scenario: ScenarioTSON, service: "guardianship-certificate", region: "27",
			err: "offers no passport on the tson"},
		{name: "fail/unknown scenario", scenario: "mobile", err: `unknown scenario "mobile"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ch, err := channel(c.scenario)
			if err == nil {
				var js []job
				js, err = jobs(cat, ch, c.service, c.region)
				var got []string
				for _, j := range js {
					got = append(got, passportKey(j.p))
					// Every field the channel asks for is answered or fixed by the channel.
					for _, f := range j.p.FieldsFor(ch) {
						if f.Required && f.ID != "applicant_iin" && f.ID != "representative_iin" && f.ID != "poa_number" {
							require.NotEmpty(t, j.form.Fields[f.ID], "%s: %s", passportKey(j.p), f.ID)
						}
					}
					for _, d := range j.p.DocumentsFor(ch) {
						if d.Required {
							require.NotEmpty(t, j.form.Files[d.ID], "%s: %s", passportKey(j.p), d.ID)
						}
					}
				}
				if c.err == "" {
					require.ElementsMatch(t, c.want, got)
				}
			}
			if c.err != "" {
				require.ErrorContains(t, err, c.err)
				return
			}
			require.NoError(t, err)
		})
	}
}
