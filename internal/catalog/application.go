package catalog

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/egov-suite/egov/internal/iin"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
)

// ChannelName maps the contract's channel to the passport's.
func ChannelName(c applicationv1.Channel) string {
	switch c {
	case applicationv1.Channel_CHANNEL_PORTAL:
		return "portal"
	case applicationv1.Channel_CHANNEL_TSON:
		return "tson"
	case applicationv1.Channel_CHANNEL_OFFICE:
		return "office"
	case applicationv1.Channel_CHANNEL_EASTANA:
		return "eastana"
	default:
		return ""
	}
}

// FieldsFor are the form's fields on a channel: those without channels, and those that name it.
func (p *Passport) FieldsFor(channel string) []Field {
	var out []Field
	for _, f := range p.Fields {
		if len(f.Channels) == 0 || slices.Contains(f.Channels, channel) {
			out = append(out, f)
		}
	}
	return out
}

// DocumentsFor are the documents asked for on a channel.
func (p *Passport) DocumentsFor(channel string) []Document {
	var out []Document
	for _, d := range p.Documents {
		if len(d.Channels) == 0 || slices.Contains(d.Channels, channel) {
			out = append(out, d)
		}
	}
	return out
}

// CheckApplication checks an application against the passport: the applicant, every field of the
// channel, and the document list. It returns every problem, in Russian, as a refusal's comment shows
// them; the portal and the ЦОН desk run it before signing, РШЭП again at intake.
func (p *Passport) CheckApplication(a *applicationv1.Application) []string {
	var problems []string
	if _, err := iin.Parse(a.GetApplicantIin()); err != nil {
		problems = append(problems, fmt.Sprintf("ИИН заявителя: %v", err))
	}
	channel := ChannelName(a.GetChannel())
	known := map[string]bool{}
	for _, f := range p.FieldsFor(channel) {
		known[f.ID] = true
		v, ok := a.GetFields()[f.ID]
		v = strings.TrimSpace(v)
		if !ok || v == "" {
			if f.Required {
				problems = append(problems, fmt.Sprintf("не заполнено поле «%s»", f.Label.RU))
			}
			continue
		}
		if why := checkField(f, v); why != "" {
			problems = append(problems, fmt.Sprintf("поле «%s»: %s", f.Label.RU, why))
		}
	}
	for id := range a.GetFields() {
		if !known[id] {
			problems = append(problems, fmt.Sprintf("поле %q не предусмотрено паспортом услуги для канала %q", id, channel))
		}
	}
	if v, ok := a.GetFields()["applicant_iin"]; ok && v != a.GetApplicantIin() {
		problems = append(problems, "ИИН заявителя в форме не совпадает с ИИН получателя услуги")
	}
	given := map[string]bool{}
	docs := map[string]bool{}
	for _, d := range p.Documents {
		docs[d.ID] = true
	}
	for _, d := range a.GetDocuments() {
		if !docs[d.GetId()] {
			problems = append(problems, fmt.Sprintf("документ %q не предусмотрен паспортом услуги", d.GetId()))
			continue
		}
		if given[d.GetId()] {
			problems = append(problems, fmt.Sprintf("документ %q приложен дважды", d.GetId()))
		}
		att := d.GetAttachment()
		// Paper is received in person: at a ЦОН, or at the provider's office (канцелярия).
		if att == nil && (!d.GetPaperReceived() || (channel != "tson" && channel != "office")) {
			problems = append(problems, fmt.Sprintf("документ %q: нет ни файла, ни отметки о приёме оригинала в ЦОН или канцелярии", d.GetId()))
			continue
		}
		if att != nil && (att.GetObjectKey() == "" || len(att.GetSha256()) != 32 || att.GetSize() <= 0) {
			problems = append(problems, fmt.Sprintf("документ %q: ссылка на файл неполна (ключ, SHA-256, размер)", d.GetId()))
			continue
		}
		given[d.GetId()] = true
	}
	for _, d := range p.Documents {
		if d.Required && !given[d.ID] && (len(d.Channels) == 0 || slices.Contains(d.Channels, channel)) {
			problems = append(problems, fmt.Sprintf("не представлен документ «%s»", d.Name.RU))
		}
	}
	return problems
}

func checkField(f Field, v string) string {
	switch f.Type {
	case "iin":
		if _, err := iin.Parse(v); err != nil {
			return err.Error()
		}
	case "text":
		if f.MaxLength > 0 && utf8.RuneCountInString(v) > f.MaxLength {
			return fmt.Sprintf("длиннее %d символов", f.MaxLength)
		}
		if !utf8.ValidString(v) || strings.ContainsAny(v, "\x00") {
			return "недопустимые символы"
		}
	case "date":
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			return "дата в виде ГГГГ-ММ-ДД"
		}
	case "choice":
		if !slices.Contains(f.Choices, v) {
			return fmt.Sprintf("значение %q не из списка", v)
		}
	case "bool":
		if v != "true" && v != "false" {
			return "да или нет (true/false)"
		}
	}
	return ""
}
