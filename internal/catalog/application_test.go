package catalog_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/catalog"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
)

// TestCheckApplicationText: every problem of an application against its passport reads in Russian and in
// Kazakh (a refusal's comment reaches the applicant in their language); CheckApplication is its Russian.
func TestCheckApplicationText(t *testing.T) {
	t.Parallel()
	c, err := catalog.Builtin()
	require.NoError(t, err)
	p, ok := c.Get("disabled-children-home-education", "51")
	require.True(t, ok)
	const applicant, child = "880512400011", "150310500018"
	fields := func(extra map[string]string) map[string]string {
		f := map[string]string{"applicant_iin": applicant, "child_iin": child, "bank_account": "KZ123"}
		for k, v := range extra {
			f[k] = v
		}
		return f
	}
	for _, tc := range []struct {
		name   string
		app    *applicationv1.Application
		ru, kk string
	}{
		{"fail/a required field empty", &applicationv1.Application{ApplicantIin: applicant, Fields: fields(map[string]string{"bank_account": " "})},
			"не заполнено поле", "өрісі толтырылмаған"},
		{"fail/a field the passport has not", &applicationv1.Application{ApplicantIin: applicant, Fields: fields(map[string]string{"pet": "cat"})},
			"не предусмотрено паспортом услуги", "қызмет паспортында"},
		{"fail/another applicant's IIN in the form", &applicationv1.Application{ApplicantIin: "841103300017", Fields: fields(nil)},
			"не совпадает с ИИН получателя услуги", "сәйкес келмейді"},
		{"fail/a bad IIN in a field", &applicationv1.Application{ApplicantIin: applicant, Fields: fields(map[string]string{"child_iin": "1503105000"})},
			"поле «", "өрісі:"},
		{"fail/a document the passport has not", &applicationv1.Application{ApplicantIin: applicant, Fields: fields(nil),
			Documents: []*applicationv1.SubmittedDocument{{Id: "diploma"}}}, "не предусмотрен паспортом услуги", "көзделмеген"},
		{"fail/a required document missing", &applicationv1.Application{ApplicantIin: applicant, Fields: fields(nil)},
			"не представлен документ", "құжаты ұсынылмаған"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.app.ServiceCode, tc.app.Region, tc.app.Channel = p.Code, p.Region, applicationv1.Channel_CHANNEL_PORTAL
			texts := p.CheckApplicationText(tc.app)
			require.NotEmpty(t, texts)
			ru := p.CheckApplication(tc.app)
			require.Len(t, ru, len(texts))
			for i, x := range texts {
				require.Equal(t, ru[i], x.RU)
				require.NotEmpty(t, x.KK)
				require.NotEqual(t, x.RU, x.KK, "a Kazakh text, not the Russian one")
			}
			joined := catalog.JoinTexts(texts, "; ")
			require.Contains(t, joined.RU, tc.ru)
			require.Contains(t, joined.KK, tc.kk)
			require.NotContains(t, joined.KK, tc.ru)
		})
	}
}

// TestEmailField: the kindergarten registration's e-mail address is asked once the applicant consents to
// receive the result by e-mail, and must be an address.
func TestEmailField(t *testing.T) {
	t.Parallel()
	c, err := catalog.Builtin()
	require.NoError(t, err)
	p, ok := c.Get("preschool-registration", "71")
	require.True(t, ok)
	const applicant, child = "880512400011", "230614600014"
	for _, tc := range []struct {
		name   string
		extra  map[string]string
		ru, kk string
	}{
		{name: "ok/no consent, no address", extra: map[string]string{"email_consent": "no"}},
		{name: "ok/nothing said", extra: nil},
		{name: "ok/consent with an address", extra: map[string]string{"email_consent": "yes", "email": "asel.akhmetova@mail.kz"}},
		{name: "fail/consent without an address", extra: map[string]string{"email_consent": "yes"},
			ru: "не заполнено поле «Адрес электронной почты для результата»", kk: "«Нәтижеге арналған электрондық пошта мекенжайы» өрісі толтырылмаған"},
		{name: "fail/not an address", extra: map[string]string{"email_consent": "yes", "email": "asel.akhmetova"},
			ru: "адрес электронной почты в виде имя@домен.kz", kk: "электрондық пошта мекенжайы"},
		{name: "fail/a display name is not an address", extra: map[string]string{"email": "Асель <asel@mail.kz>"},
			ru: "адрес электронной почты в виде", kk: "электрондық пошта мекенжайы"},
		{name: "fail/a domain of one label", extra: map[string]string{"email": "asel@localhost"},
			ru: "адрес электронной почты в виде", kk: "электрондық пошта мекенжайы"},
		{name: "fail/consent not one of the choices", extra: map[string]string{"email_consent": "maybe"},
			ru: "не из списка", kk: "тізімде жоқ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := map[string]string{"applicant_iin": applicant, "child_iin": child}
			for k, v := range tc.extra {
				f[k] = v
			}
			a := &applicationv1.Application{ServiceCode: p.Code, Region: p.Region, Channel: applicationv1.Channel_CHANNEL_PORTAL,
				ApplicantIin: applicant, Fields: f}
			joined := catalog.JoinTexts(p.CheckApplicationText(a), "; ")
			if tc.ru == "" {
				require.Empty(t, joined.RU)
				return
			}
			require.Contains(t, joined.RU, tc.ru)
			require.Contains(t, joined.KK, tc.kk)
		})
	}
}
