package catalog

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"text/template"
)

// Languages are the languages every result document is rendered in, in this order.
var Languages = []string{"ru", "kk"}

// DefaultTemplate is the general letter a result without its own template is rendered from.
const DefaultTemplate = "result"

// ResultData is what a result document is rendered from: the same data for the text the employee signs
// and for a printable form. Texts stay in both languages; the template picks its own with tr.
type ResultData struct {
	// Provider is the provider, or the other body that signs the document.
	Provider Text
	// Document is the result's name in the passport; Kind and ID its kind and id.
	Document Text
	Kind, ID string
	Service  Text
	// Number is the registration number of the application.
	Number    string
	Applicant string
	// Fields are the form's filled fields but the applicant's IIN, in the passport's order.
	Fields   []FieldValue
	Approved bool
	// Ground is the refusal ground's text, Motivation the employee's reasons (refusals only).
	Ground     Text
	Motivation string
	// MotivationKK is Motivation in Kazakh where the engine wrote it (an automatic refusal): the Kazakh
	// part shows it in place of Motivation. Empty for an employee's reasons, shown as typed.
	MotivationKK string `json:",omitempty"`
	// DecidedBy is who decided; At when (local time, formatted).
	DecidedBy string
	At        string
}

// FieldValue is a filled field of the form.
type FieldValue struct {
	ID    string
	Label Text
	Value string
}

// templateNames are the templates a passport's results use.
func (p *Passport) templateNames() []string {
	var out []string
	for _, r := range p.Results {
		name := r.Template
		if name == "" {
			name = DefaultTemplate
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// attachTemplates reads the passport's templates from templates/ of fsys (the general letter falls back
// to the suite's own), and checks they parse.
func (p *Passport) attachTemplates(file string, fsys fs.FS) error {
	p.Templates = map[string]string{}
	for _, name := range p.templateNames() {
		for _, lang := range Languages {
			key := name + "." + lang
			b, err := fs.ReadFile(fsys, path.Join("templates", key+".tmpl"))
			if err != nil && name == DefaultTemplate {
				b, err = fs.ReadFile(builtin, path.Join("passports", "templates", key+".tmpl"))
			}
			if err != nil {
				return &Error{File: file, Field: "results.template", Problem: fmt.Sprintf("templates/%s.tmpl: %v", key, err)}
			}
			if _, err := parseTemplate(key, string(b), lang); err != nil {
				return &Error{File: file, Field: "results.template", Problem: fmt.Sprintf("templates/%s.tmpl: %v", key, err)}
			}
			p.Templates[key] = string(b)
		}
	}
	return nil
}

func parseTemplate(name, text, lang string) (*template.Template, error) {
	return template.New(name).Option("missingkey=error").Funcs(template.FuncMap{
		"tr": func(t Text) string {
			if lang == "kk" {
				return t.KK
			}
			return t.RU
		},
		"upper": strings.ToUpper,
	}).Parse(text)
}

// Render renders the result document r from d: every language's text, one after the other (the bytes
// the signature covers).
func (p *Passport) Render(r Result, d ResultData) ([]byte, error) {
	var b bytes.Buffer
	for _, lang := range Languages {
		text, err := p.RenderLang(r, d, lang)
		if err != nil {
			return nil, err
		}
		b.WriteString(text)
		b.WriteString("\n")
	}
	return b.Bytes(), nil
}

// RenderLang renders a result document in one language: the part of Render's text in lang, which a
// printable form lays out on its own page.
func (p *Passport) RenderLang(r Result, d ResultData, lang string) (string, error) {
	name := r.Template
	if name == "" {
		name = DefaultTemplate
	}
	key := name + "." + lang
	text, ok := p.Templates[key]
	if !ok {
		return "", fmt.Errorf("passport %s/%s: no template %s", p.Code, p.Region, key)
	}
	t, err := parseTemplate(key, text, lang)
	if err != nil {
		return "", err
	}
	if lang == "kk" && d.MotivationKK != "" {
		d.Motivation = d.MotivationKK
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("passport %s/%s: template %s: %w", p.Code, p.Region, key, err)
	}
	return b.String(), nil
}
