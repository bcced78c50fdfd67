package loadgen

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/qakit"
)

// Scenarios of the end-to-end load.
const (
	// ScenarioPortal: the demo citizen applies on the portal (ПЭП) for the passports the service and
	// region name.
	ScenarioPortal = "portal"
	// ScenarioTSON: the ЦОН operator takes the citizen's applications at the desk, signs them and, when
	// the result is issued, hands it over.
	ScenarioTSON = "tson"
	// ScenarioAllPassports: the citizen applies on the portal for every passport of the catalogue in turn.
	ScenarioAllPassports = "all-passports"
)

// channel is the channel a scenario applies through.
func channel(scenario string) (string, error) {
	switch scenario {
	case ScenarioPortal, ScenarioAllPassports, "":
		return "portal", nil
	case ScenarioTSON:
		return "tson", nil
	default:
		return "", fmt.Errorf("loadgen: unknown scenario %q (portal, tson, all-passports)", scenario)
	}
}

// job is one passport the load applies for, with the form to send.
type job struct {
	p    *catalog.Passport
	page string
	form qakit.Form
}

// jobs are the passports of cat offered on channel that service and region select ("" selects every
// one), each with its demo form.
func jobs(cat *catalog.Catalog, channel, service, region string) ([]job, error) {
	var out []job
	for _, p := range cat.All() {
		if !slices.Contains(p.Channels, channel) || (service != "" && p.Code != service) || (region != "" && p.Region != region) {
			continue
		}
		if !strings.HasPrefix(p.Provider.Participant, "rshep-") {
			// A waiting list (ИС Е-Астана's kindergarten queue) is not decided once: its application
			// ends in a place in the queue, not in a result, so this load's accounting (every
			// application to RESULT_ISSUED through АРМ) does not apply to it.
			continue
		}
		f, err := demoForm(p, channel)
		if err != nil {
			return nil, err
		}
		page := "/services/" + p.Code + "/" + p.Region
		if channel == "tson" {
			page = "/new/" + p.Code + "/" + p.Region
		}
		f.Path = page
		out = append(out, job{p: p, page: page, form: f})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("loadgen: the catalogue offers no passport on the %s for service %q, region %q", channel, service, region)
	}
	return out, nil
}

// demoValues are the demo cast's answers to the catalogue's fields, by field id. A field the table
// does not know fails the run instead of being filled with a guess the registries would refuse.
var demoValues = map[string]string{
	"ward_iin":             demo.WardIIN,
	"child_iin":            demo.ChildIIN,
	"bank_account":         "KZ86125KZT5004100100",
	"property_description": "Квартира, г. Павлодар (нагрузка egov loadgen)",
	"spouse_iin":           demo.SpouseIIN,
	"settlement":           "с. Январцево, Зеленовский район",
	"school":               "Январцевская средняя общеобразовательная школа",
}

// demoForm fills a passport's form on channel as the demo citizen Асель (applicant_iin is the signed-in
// citizen's, or the desk's citizen_iin) would: the cast's IINs, the first choice, a scan of every
// document.
func demoForm(p *catalog.Passport, channel string) (qakit.Form, error) {
	f := qakit.Form{Fields: map[string]string{}, Files: map[string][]byte{}}
	for _, fd := range p.FieldsFor(channel) {
		switch {
		case fd.ID == "applicant_iin" || fd.ID == "representative_iin" || fd.ID == "poa_number":
			// The channel fixes them: the signed-in citizen, or who is at the counter.
		case fd.Type == "choice" && len(fd.Choices) > 0:
			f.Fields[fd.ID] = fd.Choices[0]
		case fd.Type == "bool":
			f.Fields[fd.ID] = "1"
		case demoValues[fd.ID] != "":
			v := demoValues[fd.ID]
			if fd.MaxLength > 0 && utf8.RuneCountInString(v) > fd.MaxLength {
				return f, fmt.Errorf("loadgen: the demo value of %s is longer than %s/%s allows", fd.ID, p.Code, p.Region)
			}
			f.Fields[fd.ID] = v
		case !fd.Required:
		default:
			return f, fmt.Errorf("loadgen: no demo value for the field %s (%s) of %s/%s", fd.ID, fd.Type, p.Code, p.Region)
		}
	}
	for _, d := range p.DocumentsFor(channel) {
		if d.ID == "power_of_attorney" {
			continue // only with a representative, whom the load does not send
		}
		f.Files[d.ID] = scan()
	}
	if channel == "tson" {
		f.Extra = map[string]string{"citizen_iin": qakit.CitizenIIN}
	}
	return f, nil
}

// needsStaff says whether a passport has steps for people (the bot plays them).
func needsStaff(p *catalog.Passport) bool {
	return slices.ContainsFunc(p.Steps, func(s catalog.Step) bool { return s.Role != "system" })
}

// passportKey names a passport in the report.
func passportKey(p *catalog.Passport) string { return p.Code + "/" + p.Region }

// scan is a tiny PNG, the scan of a document.
func scan() []byte {
	return []byte(strings.Join([]string{"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89",
		"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"}, ""))
}
