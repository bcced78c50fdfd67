// Package catalog reads and validates service passports: one per (service, region) variant, the
// regulation (регламент) of an electronic state service expressed as data. РШЭП's engine runs them; the
// portal and the ЦОН desk build their forms from them. A passport that does not validate is refused with
// the file, the field and the problem.
package catalog

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/egov-suite/egov/internal/calendar"
	"github.com/egov-suite/egov/internal/iin"
)

//go:embed passports/*.yaml passports/templates/*.tmpl
var builtin embed.FS

// Text is a text in the suite's two languages.
type Text struct {
	RU string `yaml:"ru"`
	KK string `yaml:"kk"`
}

// Source cites where a passport, a step or a text comes from.
type Source struct {
	// Document is the seed file, e.g. "seeds/000_e904fed1dceb5ab9.txt".
	Document string `yaml:"document"`
	// Title of the act.
	Title string `yaml:"title,omitempty"`
	// Where in it: paragraph, appendix, table, action.
	Ref string `yaml:"ref"`
}

// Passport is one service in one region.
type Passport struct {
	Code     string `yaml:"code"`
	Version  int    `yaml:"version"`
	Region   string `yaml:"region"`
	Name     Text   `yaml:"name"`
	Source   Source `yaml:"source"`
	Provider struct {
		Name Text   `yaml:"name"`
		BIN  string `yaml:"bin"`
		// Participant is the ШЭП participant that receives the applications: the region's РШЭП node
		// (rshep-<region>), or a provider's own system that is a participant of ШЭП (ИС Е-Астана,
		// "eastana"), whose applications take the async service applicationv1.ServiceFor.
		Participant string `yaml:"participant"`
	} `yaml:"provider"`
	// Channels are "portal", "tson" (a ЦОН desk), "office" (in person at the provider, entered in the АРМ or
	// the provider's working cabinet) and/or "eastana" (the citizen's cabinet of ИС Е-Астана).
	Channels []string `yaml:"channels"`
	// Automation is "partial" (people decide) or "full" (the system decides).
	Automation string     `yaml:"automation"`
	Fields     []Field    `yaml:"fields"`
	Documents  []Document `yaml:"documents"`
	Checks     []Check    `yaml:"checks"`
	Steps      []Step     `yaml:"steps"`
	Results    []Result   `yaml:"results"`
	Refusals   []Refusal  `yaml:"refusals"`
	Notices    []Notice   `yaml:"notifications"`
	Extension  Extension  `yaml:"extension"`
	// Term is the whole term of the service where the regulation gives one (Pavlodar's «3 дня»): the
	// case's deadline, and no step's deadline runs past it. Without it the case's term is every step's
	// term, one after the other.
	Term      *Duration  `yaml:"term,omitempty"`
	Deadlines Deadlines  `yaml:"deadlines,omitempty"`
	Decisions []Decision `yaml:"decisions"`
	// AfterRefusal is what a refused applicant can do next (correct the grounds and apply again, appeal,
	// and where), shown after the regulation's refusal text on the refusal and the status pages; required.
	AfterRefusal *AfterRefusal `yaml:"after_refusal,omitempty"`
	// Bodies are other state bodies that take a step of the service (the district akimat adopting a
	// resolution), each with its own staff and BIN.
	Bodies []Body `yaml:"bodies,omitempty"`

	// Templates are the result documents' templates the passport names (results[].template), by
	// "<template>.<lang>", read from templates/ beside the passport files.
	Templates map[string]string `yaml:"-"`

	// Raw is the passport file as read: what a case registered under this version keeps, so an edit of
	// the file changes only new cases.
	Raw []byte `yaml:"-"`

	// StateCorp is how Госкорпорация takes and returns the paper of a service on the "tson" channel; nil
	// when its regulation says nothing of it (the desk then only sends the application electronically).
	StateCorp *StateCorp `yaml:"state_corp,omitempty"`
}

// StateCorp is Госкорпорация's part of a regulation (the 2019 regulations' п. 2, п. 9 and п. 10, and
// the Standard's storage of unclaimed results): the worker checks the document set and refuses an
// incomplete one with a receipt, opening no case; the documents are carried to the provider and the
// result back, each within its term; a result not collected is kept for a period, then archived as
// unclaimed.
type StateCorp struct {
	// Receipt is the receipt of refusal to accept (расписка об отказе в приёме документов).
	Receipt StateCorpReceipt `yaml:"receipt"`
	// ToProvider is the term for carrying the accepted documents to the provider.
	ToProvider Duration `yaml:"to_provider"`
	// ResultBack is the term for bringing the result from the provider to Госкорпорация, from its issue.
	ResultBack Duration `yaml:"result_back"`
	// Storage is how long a result arrived at Госкорпорация waits for the applicant before it is archived
	// as unclaimed (невостребованный).
	Storage Duration `yaml:"storage"`
	Source  Source   `yaml:"source"`
}

// StateCorpReceipt is the receipt of refusal to accept documents.
type StateCorpReceipt struct {
	// Title is the receipt's heading.
	Title Text `yaml:"title"`
	// Form is the form it follows (e.g. «приложение 3 Стандарта»).
	Form string `yaml:"form"`
	// Ground is the refusal ground (a code of refusals) the receipt names.
	Ground string `yaml:"ground"`
	// Note is the receipt's closing text (copies, signatures).
	Note   Text   `yaml:"note"`
	Source Source `yaml:"source"`
}

// Digest is the SHA-256 of the passport file, hex: two files with one code, region and version must
// have one digest.
func (p *Passport) Digest() string {
	h := sha256.New()
	h.Write(p.Raw)
	keys := make([]string, 0, len(p.Templates))
	for k := range p.Templates {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys { // the templates are part of the version: an edited letter is an edited passport
		fmt.Fprintf(h, "\x00%s\x00%d\x00%s", k, len(p.Templates[k]), p.Templates[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Body is another state body taking a step of the service.
type Body struct {
	ID   string `yaml:"id"`
	Name Text   `yaml:"name"`
	// BIN, when set, is checked against the organisation of the certificates its staff sign with.
	BIN    string `yaml:"bin,omitempty"`
	Source Source `yaml:"source"`
}

// Field is a field of the request form.
type Field struct {
	ID    string `yaml:"id"`
	Type  string `yaml:"type"` // iin, text, date, choice, bool
	Label Text   `yaml:"label"`
	// Required fields must be filled.
	Required bool `yaml:"required"`
	// Choices for type choice: the values stored in the application.
	Choices []string `yaml:"choices,omitempty"`
	// ChoiceLabels name each choice for people, in both languages: a form shows «Распоряжение
	// имуществом», never the stored value "property".
	ChoiceLabels map[string]Text `yaml:"choice_labels,omitempty"`
	// MaxLength for text.
	MaxLength int `yaml:"max_length,omitempty"`
	// Format, for text, a form the value must have: "email", an address the result may be e-mailed to.
	Format string `yaml:"format,omitempty"`
	// RequiredIf makes an optional field required when another field has a value: the e-mail address
	// once the applicant consents to receive the result by e-mail.
	RequiredIf *Condition `yaml:"required_if,omitempty"`
	// Channels the field is asked on; every channel when empty (a representative's fields, say, only at
	// a ЦОН, where a citizen may send someone with a power of attorney).
	Channels []string `yaml:"channels,omitempty"`
}

// Condition is another field of the form having a value.
type Condition struct {
	Field string `yaml:"field"`
	Value string `yaml:"value"`
}

// RequiredWith reports whether the field must be filled in a form of these values.
func (f Field) RequiredWith(values map[string]string) bool {
	return f.Required || (f.RequiredIf != nil && strings.TrimSpace(values[f.RequiredIf.Field]) == f.RequiredIf.Value)
}

// Document is a document the applicant attaches (or presents on paper at a ЦОН).
type Document struct {
	ID       string   `yaml:"id"`
	Name     Text     `yaml:"name"`
	Required bool     `yaml:"required"`
	Channels []string `yaml:"channels,omitempty"`
}

// Check is a registry look-up through ШЭП.
type Check struct {
	ID string `yaml:"id"`
	// Registry is "gbdfl" or "enis".
	Registry string `yaml:"registry"`
	// Field is the form field looked up (an IIN, or the power of attorney).
	Field    string   `yaml:"field"`
	Channels []string `yaml:"channels"`
	// Relation, when set, asks more than presence: the person looked up must have, in ГБД ФЛ, a family
	// link of this kind (parent, guardian, parent_or_guardian) to the IIN in the form field Of.
	Relation string `yaml:"relation,omitempty"`
	Of       string `yaml:"of,omitempty"`
	// Refusal is the refusal ground when the record is missing (or the relation absent).
	Refusal string `yaml:"refusal"`
	Source  Source `yaml:"source"`
}

// Extension says who may extend the term of a case, by how much and how often (продление срока).
type Extension struct {
	// By is the role that extends (head, officer).
	By string `yaml:"by"`
	// Max is the longest single extension.
	Max Duration `yaml:"max"`
	// Times is how often a case may be extended.
	Times  int    `yaml:"times"`
	Source Source `yaml:"source"`
}

// Deadlines tune the warning before a step's deadline.
type Deadlines struct {
	// WarnAtPercent is when, in percent of a step's term, the warning fires (default 75).
	WarnAtPercent int `yaml:"warn_at_percent,omitempty"`
}

// Duration is a step's term.
type Duration struct {
	Value int `yaml:"value"`
	// Unit is minutes, hours, working_days or calendar_days.
	Unit string `yaml:"unit"`
}

// From is the end of the term d started at t, on the working-day calendar: a term in working days ends at
// the same clock time on the n-th working day after t, one in calendar days on the n-th day (Kazakhstan
// time).
func (d Duration) From(cal *calendar.Calendar, t time.Time) time.Time {
	switch d.Unit {
	case "minutes":
		return t.Add(time.Duration(d.Value) * time.Minute)
	case "hours":
		return t.Add(time.Duration(d.Value) * time.Hour)
	case "working_days":
		return cal.AddWorkingDays(t, d.Value)
	default: // calendar_days
		return t.In(calendar.Zone).AddDate(0, 0, d.Value)
	}
}

// Step is one action of the provider.
type Step struct {
	ID     string `yaml:"id"`
	Action Text   `yaml:"action"`
	// Role does the step: clerk (канцелярия), head (руководитель), officer (ответственный исполнитель),
	// commission, or system (automatic).
	Role     string   `yaml:"role"`
	Duration Duration `yaml:"duration"`
	// Decides marks the step where the result or the refusal is decided.
	Decides bool `yaml:"decides,omitempty"`
	// Signs marks the step where the result or the refusal is signed.
	Signs bool `yaml:"signs,omitempty"`
	// SignsRefusal marks the step where a refusal is signed when that is not the signing step (S3: the
	// officer's refusal does not go to the akimat, whose step signs the resolution): a refusal signed there
	// skips the steps up to and including the signing step; an approval passes it like any step.
	SignsRefusal bool `yaml:"signs_refusal,omitempty"`
	// Body, when set, is the id of another body (bodies[]) whose staff take the step in their own role
	// and workstation; empty for the provider's own staff.
	Body   string `yaml:"body,omitempty"`
	Source Source `yaml:"source"`
}

// Performer is the role an employee must hold for the step: the step's role, qualified by the body
// ("district_akimat:head") when another body takes it.
func (s Step) Performer() string {
	if s.Body == "" {
		return s.Role
	}
	return s.Body + ":" + s.Role
}

// SigningStep is the step that signs the result.
func (p *Passport) SigningStep() *Step {
	for i := range p.Steps {
		if p.Steps[i].Signs {
			return &p.Steps[i]
		}
	}
	return nil
}

// SigningStepOf is the step that signs the result of an outcome: for a refusal the step marked
// signs_refusal where the passport has one, else the signing step.
func (p *Passport) SigningStepOf(refusal bool) *Step {
	if refusal {
		for i := range p.Steps {
			if p.Steps[i].SignsRefusal {
				return &p.Steps[i]
			}
		}
	}
	return p.SigningStep()
}

// SignsAt reports whether step s is where the result of an outcome (a refusal, or not) is signed.
func (p *Passport) SignsAt(s *Step, refusal bool) bool {
	at := p.SigningStepOf(refusal)
	return s != nil && at != nil && at.ID == s.ID
}

// BodyOf returns the body of id.
func (p *Passport) BodyOf(id string) (Body, bool) {
	for _, b := range p.Bodies {
		if b.ID == id {
			return b, true
		}
	}
	return Body{}, false
}

// Result is a result document. An approval issues every result that is not a refusal, each signed on
// its own (a contract and a decision on payment at once); a refusal issues the refusal.
type Result struct {
	// ID names the document in the case and the notification; the kind when empty.
	ID string `yaml:"id,omitempty"`
	// Kind is certificate, referral, registration_ticket, contract, decision, resolution, notice or refusal.
	Kind string `yaml:"kind"`
	Name Text   `yaml:"name"`
	// Signer is the role whose signing certificate signs it (system: the provider's system key; a body's
	// id: that body's staff): the performer of the signing step.
	Signer string `yaml:"signer"`
	// Template names the document's templates, templates/<template>.ru.tmpl and .kk.tmpl; the suite's
	// general letter (result.ru.tmpl, result.kk.tmpl) when empty.
	Template string `yaml:"template,omitempty"`
}

// DocID is the result's id in the case: ID, or the kind.
func (r Result) DocID() string {
	if r.ID != "" {
		return r.ID
	}
	return r.Kind
}

// Refusal is a ground for refusal with the regulation's text.
type Refusal struct {
	Code string `yaml:"code"`
	Text Text   `yaml:"text"`
	// Intake lists the channels on which this ground, not documents_irregular, refuses at intake an
	// application whose form or document list fails: the 2019 regulations have the provider itself
	// refuse an incomplete set at its канцелярия («услугодатель отказывает в приеме заявления», п. 2) in
	// other words than the portal's refusal for irregular documents.
	Intake []string `yaml:"intake,omitempty"`
	Source Source   `yaml:"source"`
}

// IntakeGround is the refusal ground of an application on channel whose form or document list fails:
// the ground whose intake names the channel, else IntakeRefusal.
func (p *Passport) IntakeGround(channel string) string {
	for _, r := range p.Refusals {
		if slices.Contains(r.Intake, channel) {
			return r.Code
		}
	}
	return IntakeRefusal
}

// Notice is the notification text of a status.
type Notice struct {
	Status string `yaml:"status"`
	Text   Text   `yaml:"text"`
}

// AfterRefusal is what follows a refusal: the regulation's own words where it has them (the
// appeal paragraph of the 2019 regulations), else the suite's decision, cited in Source.
type AfterRefusal struct {
	Text   Text   `yaml:"text"`
	Source Source `yaml:"source"`
}

// Decision records what the suite decided where the regulation is silent or contradicts itself.
type Decision struct {
	Topic string `yaml:"topic"`
	Note  string `yaml:"note"`
}

// Error is a passport that does not validate.
type Error struct {
	File, Field, Problem string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s: %s", e.File, e.Field, e.Problem) }

var (
	codeRe   = regexp.MustCompile(`^[a-z][a-z0-9-]{2,63}$`)
	idRe     = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	regionRe = regexp.MustCompile(`^[0-9]{2}$`)
)

// ResultKinds are the kinds of result documents.
var ResultKinds = []string{"certificate", "referral", "registration_ticket", "contract", "decision", "resolution", "notice", "refusal"}

// IntakeRefusal is the refusal ground every passport must have: the engine refuses with it an application
// whose form fails validation or whose document list misses a required item.
const IntakeRefusal = "documents_irregular"

// Statuses a passport may give notification texts for (egov.application.v1.CaseStatus): a waiting
// list's statuses (QUEUED … REMOVED) too, for a passport whose provider keeps a queue.
var Statuses = []string{"SUBMITTED", "DELIVERED", "REGISTERED", "IN_PROGRESS", "EXTENDED", "APPROVED", "REFUSED",
	"RESULT_ISSUED", "HANDED_OVER", "UNCLAIMED", "QUEUED", "QUEUE_MOVED", "REFERRAL_OFFERED", "REFERRAL_EXPIRED",
	"REFERRAL_DECLINED", "ENROLLED", "REMOVED"}

func in(v string, set ...string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}

// Validate checks a passport; file names it in errors.
func (p *Passport) Validate(file string) error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &Error{File: file, Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	text := func(field string, t Text) {
		if strings.TrimSpace(t.RU) == "" {
			bad(field+".ru", "empty")
		}
		if strings.TrimSpace(t.KK) == "" {
			bad(field+".kk", "empty")
		}
	}
	src := func(field string, s Source) {
		if s.Document == "" || s.Ref == "" {
			bad(field, "a source needs document and ref")
		}
	}
	if !codeRe.MatchString(p.Code) {
		bad("code", "%q: lower-case Latin letters, digits and '-', 3 to 64", p.Code)
	}
	if p.Version < 1 {
		bad("version", "must be 1 or more")
	}
	if !regionRe.MatchString(p.Region) {
		bad("region", "%q: a two-digit region code", p.Region)
	}
	text("name", p.Name)
	src("source", p.Source)
	text("provider.name", p.Provider.Name)
	if p.Provider.Participant == "" {
		bad("provider.participant", "the regional node's ШЭП participant id is required")
	}
	if len(p.Channels) == 0 {
		bad("channels", "at least one of portal, tson, office, eastana")
	}
	for i, c := range p.Channels {
		if !in(c, "portal", "tson", "office", "eastana") {
			bad(fmt.Sprintf("channels[%d]", i), "%q: portal, tson, office or eastana", c)
		}
	}
	if !in(p.Automation, "partial", "full") {
		bad("automation", "%q: partial or full", p.Automation)
	}
	fields := map[string]bool{}
	for i, f := range p.Fields {
		at := fmt.Sprintf("fields[%d]", i)
		if !idRe.MatchString(f.ID) || fields[f.ID] {
			bad(at+".id", "%q: missing, malformed or repeated", f.ID)
		}
		fields[f.ID] = true
		if !in(f.Type, "iin", "text", "date", "choice", "bool") {
			bad(at+".type", "%q: iin, text, date, choice or bool", f.Type)
		}
		if f.Type == "choice" && len(f.Choices) < 2 {
			bad(at+".choices", "a choice needs two or more")
		}
		if f.Format != "" && (f.Type != "text" || f.Format != "email") {
			bad(at+".format", "%q: email, for a text field", f.Format)
		}
		for _, c := range f.Choices {
			text(fmt.Sprintf("%s.choice_labels[%s]", at, c), f.ChoiceLabels[c])
		}
		for c := range f.ChoiceLabels {
			if !slices.Contains(f.Choices, c) {
				bad(at+".choice_labels", "%q is not one of the choices", c)
			}
		}
		for j, ch := range f.Channels {
			if !in(ch, p.Channels...) {
				bad(fmt.Sprintf("%s.channels[%d]", at, j), "%q is not a channel of the passport", ch)
			}
		}
		text(at+".label", f.Label)
	}
	for i, f := range p.Fields {
		c := f.RequiredIf
		if c == nil {
			continue
		}
		at := fmt.Sprintf("fields[%d].required_if", i)
		other := slices.IndexFunc(p.Fields, func(o Field) bool { return o.ID == c.Field })
		switch {
		case f.Required:
			bad(at, "the field is required anyway")
		case other < 0 || c.Field == f.ID:
			bad(at+".field", "%q is not another field of the passport", c.Field)
		case p.Fields[other].Type == "choice" && !slices.Contains(p.Fields[other].Choices, c.Value):
			bad(at+".value", "%q is not one of the choices of %q", c.Value, c.Field)
		case c.Value == "":
			bad(at+".value", "missing")
		}
	}
	docs := map[string]bool{}
	for i, d := range p.Documents {
		at := fmt.Sprintf("documents[%d]", i)
		if !idRe.MatchString(d.ID) || docs[d.ID] {
			bad(at+".id", "%q: missing, malformed or repeated", d.ID)
		}
		docs[d.ID] = true
		text(at+".name", d.Name)
	}
	refusals := map[string]bool{}
	intake := map[string]string{} // channel → the ground refusing on it at intake
	if a := p.AfterRefusal; a != nil {
		text("after_refusal.text", a.Text)
		src("after_refusal.source", a.Source)
	} else {
		// A refusal page that ends at the refusal leaves the citizen without a next step (appeal, apply again).
		bad("after_refusal", "required: what a refused applicant can do next, in both languages, with its source")
	}
	for i, r := range p.Refusals {
		at := fmt.Sprintf("refusals[%d]", i)
		if r.Code == "" || refusals[r.Code] {
			bad(at+".code", "%q: missing or repeated", r.Code)
		}
		refusals[r.Code] = true
		text(at+".text", r.Text)
		src(at+".source", r.Source)
		for j, ch := range r.Intake {
			if !in(ch, p.Channels...) {
				bad(fmt.Sprintf("%s.intake[%d]", at, j), "%q is not a channel of the passport", ch)
			}
			if intake[ch] != "" {
				bad(fmt.Sprintf("%s.intake[%d]", at, j), "%q already refuses at intake with %q", ch, intake[ch])
			}
			intake[ch] = r.Code
		}
	}
	for i, c := range p.Checks {
		at := fmt.Sprintf("checks[%d]", i)
		if !in(c.Registry, "gbdfl", "enis") {
			bad(at+".registry", "%q: gbdfl or enis", c.Registry)
		}
		if !fields[c.Field] {
			bad(at+".field", "%q is not a form field", c.Field)
		}
		if !refusals[c.Refusal] {
			bad(at+".refusal", "%q is not a refusal ground of the passport", c.Refusal)
		}
		if c.Relation != "" {
			if c.Registry != "gbdfl" || !in(c.Relation, "parent", "guardian", "parent_or_guardian") {
				bad(at+".relation", "%q: parent, guardian or parent_or_guardian, on a gbdfl check", c.Relation)
			}
			if !fields[c.Of] {
				bad(at+".of", "%q is not a form field", c.Of)
			}
		}
		for j, ch := range c.Channels {
			if !in(ch, p.Channels...) {
				bad(fmt.Sprintf("%s.channels[%d]", at, j), "%q is not a channel of the passport", ch)
			}
		}
		src(at+".source", c.Source)
	}
	if !refusals[IntakeRefusal] {
		bad("refusals", "no %s ground: the engine refuses an application whose form or document list fails with it", IntakeRefusal)
	}
	roles := map[string]bool{}
	steps := map[string]bool{}
	decides, signs, refusalSigns := 0, 0, 0
	decidesAt, signsAt := -1, -1
	if len(p.Steps) == 0 {
		bad("steps", "at least one step")
	}
	for i, s := range p.Steps {
		at := fmt.Sprintf("steps[%d]", i)
		if !idRe.MatchString(s.ID) || steps[s.ID] {
			bad(at+".id", "%q: missing, malformed or repeated", s.ID)
		}
		steps[s.ID] = true
		text(at+".action", s.Action)
		if !in(s.Role, "clerk", "head", "officer", "commission", "system") {
			bad(at+".role", "%q: clerk, head, officer, commission or system", s.Role)
		}
		roles[s.Role] = true
		if s.Body != "" {
			if _, ok := p.BodyOf(s.Body); !ok {
				bad(at+".body", "%q is not a body of the passport (bodies[].id)", s.Body)
			}
			if s.Role == "system" {
				bad(at+".role", "another body's step is taken by its staff, not the system")
			}
		}
		if s.Duration.Value < 1 || !in(s.Duration.Unit, "minutes", "hours", "working_days", "calendar_days") {
			bad(at+".duration", "%d %q: a positive value in minutes, hours, working_days or calendar_days", s.Duration.Value, s.Duration.Unit)
		}
		if s.Decides {
			decides++
			decidesAt = i
		}
		if s.SignsRefusal {
			refusalSigns++
			if s.Signs {
				bad(at+".signs_refusal", "the step signs every result already")
			}
			if s.Role == "clerk" || s.Role == "system" {
				bad(at+".signs_refusal", "a %s does not sign a refusal", s.Role)
			}
		}
		if s.Signs {
			signs++
			signsAt = i
			if s.Role == "clerk" {
				bad(at+".signs", "a clerk cannot sign a result")
			}
		}
		src(at+".source", s.Source)
	}
	if decides != 1 {
		bad("steps", "exactly one step decides (found %d)", decides)
	}
	if signs != 1 {
		bad("steps", "exactly one step signs (found %d)", signs)
	}
	if refusalSigns > 1 {
		bad("steps", "at most one step signs a refusal apart (found %d)", refusalSigns)
	}
	for i, s := range p.Steps {
		if s.SignsRefusal && (i < decidesAt || i > signsAt) {
			bad(fmt.Sprintf("steps[%d].signs_refusal", i), "a refusal is signed after it is decided and before the signing step")
		}
	}
	if p.Automation == "full" {
		for role := range roles {
			if role != "system" {
				bad("automation", "a fully automated service has only system steps, not %q", role)
			}
		}
	}
	if !in(p.Extension.By, "head", "officer") {
		bad("extension.by", "%q: head or officer", p.Extension.By)
	}
	if p.Extension.Max.Value < 1 || !in(p.Extension.Max.Unit, "minutes", "hours", "working_days", "calendar_days") {
		bad("extension.max", "%d %q: a positive value in minutes, hours, working_days or calendar_days", p.Extension.Max.Value, p.Extension.Max.Unit)
	}
	if p.Extension.Times < 1 {
		bad("extension.times", "must be 1 or more")
	}
	src("extension.source", p.Extension.Source)
	if sc := p.StateCorp; sc != nil {
		if !in("tson", p.Channels...) {
			bad("state_corp", "a passport without the tson channel has no Госкорпорация part")
		}
		text("state_corp.receipt.title", sc.Receipt.Title)
		text("state_corp.receipt.note", sc.Receipt.Note)
		if strings.TrimSpace(sc.Receipt.Form) == "" {
			bad("state_corp.receipt.form", "empty")
		}
		if !refusals[sc.Receipt.Ground] {
			bad("state_corp.receipt.ground", "%q is not a refusal ground of the passport", sc.Receipt.Ground)
		}
		src("state_corp.receipt.source", sc.Receipt.Source)
		for _, d := range []struct {
			at string
			d  Duration
		}{{"to_provider", sc.ToProvider}, {"result_back", sc.ResultBack}, {"storage", sc.Storage}} {
			if d.d.Value < 1 || !in(d.d.Unit, "minutes", "hours", "working_days", "calendar_days") {
				bad("state_corp."+d.at, "%d %q: a positive value in minutes, hours, working_days or calendar_days", d.d.Value, d.d.Unit)
			}
		}
		src("state_corp.source", sc.Source)
	}
	if d := p.Term; d != nil && (d.Value < 1 || !in(d.Unit, "minutes", "hours", "working_days", "calendar_days")) {
		bad("term", "%d %q: a positive value in minutes, hours, working_days or calendar_days", d.Value, d.Unit)
	}
	if w := p.Deadlines.WarnAtPercent; w != 0 && (w < 1 || w > 99) {
		bad("deadlines.warn_at_percent", "%d: 1 to 99", w)
	}
	bodies := map[string]bool{}
	for i, b := range p.Bodies {
		at := fmt.Sprintf("bodies[%d]", i)
		if !idRe.MatchString(b.ID) || bodies[b.ID] {
			bad(at+".id", "%q: missing, malformed or repeated", b.ID)
		}
		bodies[b.ID] = true
		text(at+".name", b.Name)
		if b.BIN != "" && !iin.Valid(b.BIN) {
			bad(at+".bin", "%q: twelve digits with a valid check digit", b.BIN)
		}
		src(at+".source", b.Source)
	}
	kinds := map[string]bool{}
	resultIDs := map[string]bool{}
	refusalDocs := 0
	for i, r := range p.Results {
		at := fmt.Sprintf("results[%d]", i)
		if !in(r.Kind, ResultKinds...) {
			bad(at+".kind", "%q: one of %s", r.Kind, strings.Join(ResultKinds, ", "))
		}
		kinds[r.Kind] = true
		if r.Kind == "refusal" {
			refusalDocs++
		}
		if id := r.DocID(); !idRe.MatchString(id) || resultIDs[id] {
			bad(at+".id", "%q: missing, malformed or repeated (two results of one kind need ids)", id)
		}
		resultIDs[r.DocID()] = true
		text(at+".name", r.Name)
		if !in(r.Signer, "head", "officer", "system") && !bodies[r.Signer] {
			bad(at+".signer", "%q: head, officer, system or a body's id", r.Signer)
		}
		if signing := p.SigningStepOf(r.Kind == "refusal"); signing != nil {
			want := signing.Role
			if signing.Body != "" {
				want = signing.Body
			}
			if r.Signer != want {
				bad(at+".signer", "%q, but the signing step %q is taken by %q", r.Signer, signing.ID, want)
			}
		}
		if r.Template != "" && !idRe.MatchString(r.Template) {
			bad(at+".template", "%q: a template name (lower-case Latin letters, digits and '_')", r.Template)
		}
	}
	if !kinds["refusal"] || len(kinds) < 2 {
		bad("results", "a positive result and a motivated refusal are both required")
	}
	if refusalDocs > 1 {
		bad("results", "one refusal document, not %d", refusalDocs)
	}
	seen := map[string]bool{}
	for i, n := range p.Notices {
		at := fmt.Sprintf("notifications[%d]", i)
		if !in(n.Status, Statuses...) || seen[n.Status] {
			bad(at+".status", "%q: unknown or repeated", n.Status)
		}
		seen[n.Status] = true
		text(at+".text", n.Text)
	}
	for _, must := range []string{"REGISTERED", "APPROVED", "REFUSED", "EXTENDED"} {
		if !seen[must] {
			bad("notifications", "no text for %s", must)
		}
	}
	return errors.Join(errs...)
}

// Parse decodes and validates one passport; unknown fields are errors.
func Parse(file string, b []byte) (*Passport, error) {
	p, err := Decode(file, b)
	if err != nil {
		return nil, err
	}
	if err := p.Validate(file); err != nil {
		return nil, err
	}
	return p, nil
}

// LoadFile reads and validates one passport file of fsys with the templates it names (templates/ beside
// it).
func LoadFile(fsys fs.FS, name string) (*Passport, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	return parseIn(fsys, name, b)
}

func parseIn(fsys fs.FS, name string, b []byte) (*Passport, error) {
	p, err := Parse(name, b)
	if err != nil {
		return nil, err
	}
	if err := p.attachTemplates(name, fsys); err != nil {
		return nil, err
	}
	return p, nil
}

// Decode decodes one passport without validating it: a version stored when it validated, read back.
func Decode(file string, b []byte) (*Passport, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var p Passport
	if err := dec.Decode(&p); err != nil {
		return nil, &Error{File: file, Field: "(yaml)", Problem: err.Error()}
	}
	p.Raw = bytes.Clone(b)
	return &p, nil
}

// Catalog is a set of passports by code and region.
type Catalog struct {
	byKey map[string]*Passport
}

// Load reads every *.yaml of fsys; all errors are reported together.
func Load(fsys fs.FS) (*Catalog, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, err
	}
	c := &Catalog{byKey: map[string]*Passport{}}
	var errs []error
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p, err := parseIn(fsys, n, b)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		key := p.Code + "/" + p.Region
		if _, dup := c.byKey[key]; dup {
			errs = append(errs, &Error{File: n, Field: "code", Problem: fmt.Sprintf("%s for region %s is defined twice", p.Code, p.Region)})
			continue
		}
		c.byKey[key] = p
	}
	return c, errors.Join(errs...)
}

// Files are the suite's own passport files.
func Files() (fs.FS, error) { return fs.Sub(builtin, "passports") }

// Builtin is the suite's own catalogue.
func Builtin() (*Catalog, error) {
	sub, err := Files()
	if err != nil {
		return nil, err
	}
	return Load(sub)
}

// Get returns the passport of a service in a region.
func (c *Catalog) Get(code, region string) (*Passport, bool) {
	p, ok := c.byKey[code+"/"+region]
	return p, ok
}

// All returns every passport, ordered by code and region.
func (c *Catalog) All() []*Passport {
	out := make([]*Passport, 0, len(c.byKey))
	for _, p := range c.byKey {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Code+"/"+out[i].Region < out[j].Code+"/"+out[j].Region
	})
	return out
}
