package catalog_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/catalog"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
)

func TestBuiltinPassportsValidate(t *testing.T) {
	t.Parallel()
	c, err := catalog.Builtin()
	require.NoError(t, err)
	p, ok := c.Get("guardianship-certificate", "55")
	require.True(t, ok)
	require.Equal(t, "rshep-55", p.Provider.Participant)
	require.Contains(t, p.Source.Document, "000_e904fed1dceb5ab9")
	require.NotEmpty(t, p.Decisions, "every gap of the text is decided in the passport")
	for _, s := range p.Steps {
		require.NotEmpty(t, s.Source.Ref, s.ID)
	}
	require.Len(t, c.All(), 17)
	kg, ok := c.Get("preschool-registration", "71")
	require.True(t, ok)
	require.Equal(t, "eastana", kg.Provider.Participant, "ИС Е-Астана, not the node, is the provider's system")
	require.Contains(t, kg.Channels, "eastana")
	// The waiting list's statuses have texts, and the result may go by e-mail with the applicant's consent.
	kgNotices := map[string]bool{}
	for _, n := range kg.Notices {
		kgNotices[n.Status] = true
	}
	for _, st := range []string{"QUEUED", "QUEUE_MOVED", "REFERRAL_OFFERED", "REFERRAL_EXPIRED", "REFERRAL_DECLINED", "ENROLLED", "REMOVED"} {
		require.True(t, kgNotices[st], "no text for %s", st)
	}
	kgFields := map[string]catalog.Field{}
	for _, f := range kg.Fields {
		kgFields[f.ID] = f
	}
	require.Equal(t, "text", kgFields["email"].Type)
	require.False(t, kgFields["email"].Required)
	require.Equal(t, []string{"yes", "no"}, kgFields["email_consent"].Choices)
	sko, ok := c.Get("disabled-children-home-education", "51")
	require.True(t, ok)
	require.Len(t, sko.Documents, 5, "its five required documents")
	wko, ok := c.Get("guardianship-certificate", "27")
	require.True(t, ok)
	total := 0
	for _, s := range wko.Steps {
		require.Equal(t, "system", s.Role)
		require.Equal(t, "minutes", s.Duration.Unit)
		total += s.Duration.Value
	}
	require.Equal(t, 30, total, "fully automated, 30 minutes")

	prop, ok := c.Get("minors-property-certificate", "27")
	require.True(t, ok)
	var roles []string
	for _, s := range prop.Steps {
		roles = append(roles, s.Role)
	}
	require.Equal(t, []string{"clerk", "head", "officer", "head", "clerk"}, roles,
		"канцелярия → руководитель → ответственный исполнитель → руководитель → канцелярия")
	// The канцелярия refuses an incomplete set in п. 2's words, the portal in процесс 6's.
	transport, ok := c.Get("school-transport", "27")
	require.True(t, ok)
	require.Equal(t, "intake_refused", transport.IntakeGround("office"))
	require.Equal(t, catalog.IntakeRefusal, transport.IntakeGround("portal"))
	require.Equal(t, catalog.IntakeRefusal, z55(t, c).IntakeGround("office"), "a passport naming no intake ground")
	z, ok := c.Get("guardianship-certificate", "59")
	require.True(t, ok)
	require.Equal(t, catalog.Duration{Value: 5, Unit: "working_days"}, z.Steps[1].Duration)
}

func z55(t *testing.T, c *catalog.Catalog) *catalog.Passport {
	t.Helper()
	p, ok := c.Get("guardianship-certificate", "55")
	require.True(t, ok)
	return p
}

// TestStatusesAreTheContracts: a passport gives texts only for statuses the contract has, so a text is
// never written for a status no notification carries.
func TestStatusesAreTheContracts(t *testing.T) {
	t.Parallel()
	for _, s := range catalog.Statuses {
		_, ok := applicationv1.CaseStatus_value["CASE_STATUS_"+s]
		require.True(t, ok, "%s is no CaseStatus", s)
	}
}

func TestBrokenPassportsNameFileFieldProblem(t *testing.T) {
	t.Parallel()
	good, err := os.ReadFile("passports/guardianship-certificate.55.yaml")
	require.NoError(t, err)
	tests := []struct {
		name, from, to, field string
	}{
		{"fail/unknown field", "automation: partial", "automation: partial\nautomatic: yes", "(yaml)"},
		{"fail/region", `region: "55"`, `region: "Павлодар"`, "region"},
		{"fail/channel", "channels: [portal, tson]", "channels: [portal, mail]", "channels[1]"},
		{"fail/duration unit", "{value: 3, unit: calendar_days}\n    source: {document: seeds/000_e904fed1dceb5ab9.txt, ref: \"приложение 1, таблица 1",
			"{value: 3, unit: days}\n    source: {document: seeds/000_e904fed1dceb5ab9.txt, ref: \"приложение 1, таблица 1", "steps[0].duration"},
		{"fail/clerk signs", "  - id: examine\n    role: officer", "  - id: examine\n    role: clerk", "steps[1].signs"},
		{"fail/unknown refusal", "refusal: data_missing\n    source: {document: seeds/000_e904fed1dceb5ab9.txt, ref: \"§7 процесс 3",
			"refusal: no_such\n    source: {document: seeds/000_e904fed1dceb5ab9.txt, ref: \"§7 процесс 3", "checks[0].refusal"},
		{"fail/missing kk", "kk: Қорғаншылық және қамқоршылық жөнінде анықтамалар беру", "kk: \"\"", "name.kk"},
		{"fail/no refusal result", "  - kind: refusal\n    signer: officer", "  - kind: referral\n    signer: officer", "results"},
		{"fail/check on a missing field", "field: applicant_iin\n    channels: [tson]", "field: child\n    channels: [tson]", "checks[0].field"},
		{"fail/signer is not the signing step's", "  - kind: certificate\n    signer: officer", "  - kind: certificate\n    signer: head", "results[0].signer"},
		{"fail/unknown body", "  - id: examine\n    role: officer", "  - id: examine\n    role: officer\n    body: akimat", "steps[1].body"},
		{"fail/missing template", "  - kind: certificate\n    signer: officer", "  - kind: certificate\n    signer: officer\n    template: nowhere", "templates/nowhere.ru.tmpl"},
		{"fail/two results of a kind without ids", "  - kind: certificate\n    signer: officer", "  - kind: certificate\n    signer: officer\n    name: {ru: x, kk: y}\n  - kind: certificate\n    signer: officer", "results[1].id"},
		{"fail/unknown result kind", "  - kind: certificate\n    signer: officer", "  - kind: diploma\n    signer: officer", "results[0].kind"},
		{"fail/a clerk signs a refusal", "  - id: register\n    role: clerk", "  - id: register\n    role: clerk\n    signs_refusal: true", "steps[0].signs_refusal"},
		{"fail/signs_refusal on the signing step", "  - id: examine\n    role: officer", "  - id: examine\n    role: officer\n    signs_refusal: true", "steps[1].signs_refusal"},
		{"fail/a term of no length", "term: {value: 3, unit: calendar_days}", "term: {value: 0, unit: calendar_days}", "term"},
		{"fail/a term in an unknown unit", "term: {value: 3, unit: calendar_days}", "term: {value: 3, unit: days}", "term"},
		{"fail/after_refusal without a source", "  source: {document: seeds/000_e904fed1dceb5ab9.txt, ref: \"the regulation has no appeal section", "  source: {document: \"\", ref: \"the regulation has no appeal section", "after_refusal.source"},
		{"fail/intake ground on a channel the passport has not", "  - code: auth_refused\n", "  - code: auth_refused\n    intake: [office]\n", "refusals[0].intake[0]"},
		{"fail/a format other than email", "    type: iin\n    required: true\n    label: {ru: \"ИИН ребёнка", "    type: iin\n    format: email\n    required: true\n    label: {ru: \"ИИН ребёнка", "fields[1].format"},
		{"fail/required_if on a missing field", "    type: iin\n    required: true\n    label: {ru: \"ИИН ребёнка", "    type: iin\n    required: false\n    required_if: {field: consent, value: \"yes\"}\n    label: {ru: \"ИИН ребёнка", "fields[1].required_if.field"},
		{"fail/required_if of a required field", "    type: iin\n    required: true\n    label: {ru: \"ИИН ребёнка", "    type: iin\n    required: true\n    required_if: {field: applicant_iin, value: \"1\"}\n    label: {ru: \"ИИН ребёнка", "fields[1].required_if"},
		{"fail/two intake grounds on one channel", "  - code: auth_refused\n", "  - code: other\n    intake: [tson]\n    text: {ru: x, kk: y}\n    source: {document: d, ref: r}\n  - code: auth_refused\n    intake: [tson]\n",
			"refusals[1].intake[0]: \"tson\" already refuses at intake with \"other\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			broken := strings.Replace(string(good), tt.from, tt.to, 1)
			require.NotEqual(t, string(good), broken, "the test must change the passport")
			_, err := catalog.Load(fstest.MapFS{"pav.yaml": {Data: []byte(broken)}})
			require.Error(t, err)
			var ce *catalog.Error
			require.True(t, errors.As(err, &ce), "%v", err)
			require.Equal(t, "pav.yaml", ce.File)
			require.Contains(t, err.Error(), tt.field)
		})
	}

	_, err = catalog.Load(fstest.MapFS{"a.yaml": {Data: good}, "b.yaml": {Data: good}})
	require.ErrorContains(t, err, "defined twice")
}

// TestAfterRefusalRequired: every passport says what a refused applicant can do next; one without it
// does not validate, and every passport of the catalogue has one with its source.
func TestAfterRefusalRequired(t *testing.T) {
	t.Parallel()
	good, err := os.ReadFile("passports/guardianship-certificate.55.yaml")
	require.NoError(t, err)
	p, err := catalog.Decode("pav.yaml", good)
	require.NoError(t, err)
	require.NoError(t, p.Validate("pav.yaml"))
	p.AfterRefusal = nil
	var ce *catalog.Error
	err = p.Validate("pav.yaml")
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "after_refusal", ce.Field)

	c, err := catalog.Builtin()
	require.NoError(t, err)
	for _, p := range c.All() {
		require.NotNil(t, p.AfterRefusal, p.Code+"/"+p.Region)
		require.NotEmpty(t, p.AfterRefusal.Source.Ref, p.Code+"/"+p.Region)
	}
}

func TestResultTemplates(t *testing.T) {
	t.Parallel()
	c, err := catalog.Builtin()
	require.NoError(t, err)
	p, ok := c.Get("guardianship-certificate", "55")
	require.True(t, ok)
	require.Contains(t, p.Templates, "result.ru")
	require.Contains(t, p.Templates, "result.kk")
	d := catalog.ResultData{Provider: p.Provider.Name, Document: p.Results[0].Name, Service: p.Name, Number: "55-2026-000007",
		Applicant: "880512400011", Fields: []catalog.FieldValue{{ID: "ward_iin", Label: p.Fields[1].Label, Value: "150101500014"}},
		Approved: true, DecidedBy: "Касымов", At: "01.12.2026 10:00"}
	b, err := p.Render(p.Results[0], d)
	require.NoError(t, err)
	text := string(b)
	ru, kk := strings.Index(text, "Регистрационный номер заявления: 55-2026-000007"), strings.Index(text, "Өтініштің тіркеу нөмірі: 55-2026-000007")
	require.True(t, ru >= 0 && kk > ru, "Russian, then Kazakh: %s", text)
	require.Contains(t, text, "Решение: услуга оказана")
	require.Contains(t, text, "150101500014")
	require.Contains(t, text, strings.ToUpper(p.Results[0].Name.RU))

	d.Approved, d.Ground, d.Motivation = false, p.Refusals[0].Text, "нет записи"
	b, err = p.Render(p.Results[1], d)
	require.NoError(t, err)
	require.Contains(t, string(b), "Мотивировка: нет записи")

	// The templates are part of the version: another letter, another digest.
	before := p.Digest()
	edited := *p
	edited.Templates = map[string]string{"result.ru": p.Templates["result.ru"] + "\n", "result.kk": p.Templates["result.kk"]}
	require.NotEqual(t, before, edited.Digest())
	require.Equal(t, before, p.Digest())

	// A template that names what the data has not fails with the template's name.
	edited.Templates = map[string]string{"result.ru": "{{.Nope}}", "result.kk": "x"}
	_, err = edited.Render(p.Results[0], d)
	require.ErrorContains(t, err, "template result.ru")
}

func TestStateCorpPart(t *testing.T) {
	t.Parallel()
	good, err := os.ReadFile("passports/guardian-allowance.27.yaml")
	require.NoError(t, err)
	c, err := catalog.Load(fstest.MapFS{"wko.yaml": {Data: good}})
	require.NoError(t, err)
	p, ok := c.Get("guardian-allowance", "27")
	require.True(t, ok)
	require.Equal(t, "intake_refused", p.StateCorp.Receipt.Ground)
	require.Equal(t, catalog.Duration{Value: 30, Unit: "calendar_days"}, p.StateCorp.Storage)
	tests := []struct {
		name, from, to, field string
	}{
		{"fail/no tson channel", "channels: [portal, tson]   #", "channels: [portal]   #", "state_corp: a passport without the tson channel"},
		{"fail/unknown ground", "ground: intake_refused", "ground: no_such", "state_corp.receipt.ground"},
		{"fail/storage unit", "storage: {value: 30, unit: calendar_days}", "storage: {value: 30, unit: months}", "state_corp.storage"},
		{"fail/carriage term", "to_provider: {value: 1, unit: working_days}", "to_provider: {value: 0, unit: working_days}", "state_corp.to_provider"},
		{"fail/no receipt form", `form: "приложение 3 Стандарта"`, `form: ""`, "state_corp.receipt.form"},
		{"fail/no Kazakh title", "kk: \"Құжаттарды қабылдаудан бас тарту туралы қолхат\"", "kk: \"\"", "state_corp.receipt.title.kk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			broken := strings.Replace(string(good), tt.from, tt.to, 1)
			require.NotEqual(t, string(good), broken, "the test must change the passport")
			_, err := catalog.Load(fstest.MapFS{"wko.yaml": {Data: []byte(broken)}})
			require.ErrorContains(t, err, tt.field)
		})
	}
}
