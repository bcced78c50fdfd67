package catalog

import (
	"fmt"
	"net/mail"
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
// channel, and the document list. It returns every problem, in Russian; the portal and the ЦОН desk run
// it before signing. CheckApplicationText gives the same problems in both languages.
func (p *Passport) CheckApplication(a *applicationv1.Application) []string {
	texts := p.CheckApplicationText(a)
	problems := make([]string, 0, len(texts))
	for _, t := range texts {
		problems = append(problems, t.RU)
	}
	return problems
}

// CheckApplicationText is CheckApplication in Russian and Kazakh: РШЭП runs it at intake, and a refusal's
// comment reaches the applicant in their language. A field or a document is named by its passport label
// in each language.
func (p *Passport) CheckApplicationText(a *applicationv1.Application) []Text {
	var problems []Text
	add := func(ru, kk string) { problems = append(problems, Text{RU: ru, KK: kk}) }
	if _, err := iin.Parse(a.GetApplicantIin()); err != nil {
		add(fmt.Sprintf("ИИН заявителя: %v", err), fmt.Sprintf("өтініш берушінің ЖСН-і: %v", err))
	}
	channel := ChannelName(a.GetChannel())
	known := map[string]bool{}
	for _, f := range p.FieldsFor(channel) {
		known[f.ID] = true
		v, ok := a.GetFields()[f.ID]
		v = strings.TrimSpace(v)
		if !ok || v == "" {
			if f.RequiredWith(a.GetFields()) {
				add(fmt.Sprintf("не заполнено поле «%s»", f.Label.RU), fmt.Sprintf("«%s» өрісі толтырылмаған", kkOr(f.Label)))
			}
			continue
		}
		if why := checkField(f, v); why.RU != "" {
			add(fmt.Sprintf("поле «%s»: %s", f.Label.RU, why.RU), fmt.Sprintf("«%s» өрісі: %s", kkOr(f.Label), why.KK))
		}
	}
	for id := range a.GetFields() {
		if !known[id] {
			add(fmt.Sprintf("поле %q не предусмотрено паспортом услуги для канала %q", id, channel),
				fmt.Sprintf("%q өрісі қызмет паспортында %q арнасы үшін көзделмеген", id, channel))
		}
	}
	if v, ok := a.GetFields()["applicant_iin"]; ok && v != a.GetApplicantIin() {
		add("ИИН заявителя в форме не совпадает с ИИН получателя услуги", "нысандағы өтініш берушінің ЖСН-і қызмет алушының ЖСН-імен сәйкес келмейді")
	}
	given := map[string]bool{}
	docs := map[string]bool{}
	for _, d := range p.Documents {
		docs[d.ID] = true
	}
	for _, d := range a.GetDocuments() {
		if !docs[d.GetId()] {
			add(fmt.Sprintf("документ %q не предусмотрен паспортом услуги", d.GetId()), fmt.Sprintf("%q құжаты қызмет паспортында көзделмеген", d.GetId()))
			continue
		}
		if given[d.GetId()] {
			add(fmt.Sprintf("документ %q приложен дважды", d.GetId()), fmt.Sprintf("%q құжаты екі рет қоса берілген", d.GetId()))
		}
		att := d.GetAttachment()
		// Paper is received in person: at a ЦОН, or at the provider's office (канцелярия).
		if att == nil && (!d.GetPaperReceived() || (channel != "tson" && channel != "office")) {
			add(fmt.Sprintf("документ %q: нет ни файла, ни отметки о приёме оригинала в ЦОН или канцелярии", d.GetId()),
				fmt.Sprintf("%q құжаты: файл да, түпнұсқаның ХҚКО-да немесе кеңседе қабылданғаны туралы белгі де жоқ", d.GetId()))
			continue
		}
		if att != nil && (att.GetObjectKey() == "" || len(att.GetSha256()) != 32 || att.GetSize() <= 0) {
			add(fmt.Sprintf("документ %q: ссылка на файл неполна (ключ, SHA-256, размер)", d.GetId()),
				fmt.Sprintf("%q құжаты: файлға сілтеме толық емес (кілт, SHA-256, өлшем)", d.GetId()))
			continue
		}
		given[d.GetId()] = true
	}
	for _, d := range p.Documents {
		if d.Required && !given[d.ID] && (len(d.Channels) == 0 || slices.Contains(d.Channels, channel)) {
			add(fmt.Sprintf("не представлен документ «%s»", d.Name.RU), fmt.Sprintf("«%s» құжаты ұсынылмаған", kkOr(d.Name)))
		}
	}
	return problems
}

// JoinTexts joins texts language by language.
func JoinTexts(texts []Text, sep string) Text {
	ru, kk := make([]string, 0, len(texts)), make([]string, 0, len(texts))
	for _, t := range texts {
		ru, kk = append(ru, t.RU), append(kk, t.KK)
	}
	return Text{RU: strings.Join(ru, sep), KK: strings.Join(kk, sep)}
}

// kkOr is a label's Kazakh text, or its Russian one where a passport has none.
func kkOr(t Text) string {
	if t.KK != "" {
		return t.KK
	}
	return t.RU
}

func checkField(f Field, v string) Text {
	switch f.Type {
	case "iin":
		if _, err := iin.Parse(v); err != nil {
			return Text{RU: err.Error(), KK: err.Error()}
		}
	case "text":
		if f.MaxLength > 0 && utf8.RuneCountInString(v) > f.MaxLength {
			return Text{RU: fmt.Sprintf("длиннее %d символов", f.MaxLength), KK: fmt.Sprintf("%d таңбадан ұзын", f.MaxLength)}
		}
		if !utf8.ValidString(v) || strings.ContainsAny(v, "\x00") {
			return Text{RU: "недопустимые символы", KK: "рұқсат етілмеген таңбалар"}
		}
		if f.Format == "email" && !emailAddress(v) {
			return Text{RU: "адрес электронной почты в виде имя@домен.kz", KK: "электрондық пошта мекенжайы атауы@домен.kz түрінде"}
		}
	case "date":
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			return Text{RU: "дата в виде ГГГГ-ММ-ДД", KK: "күн ЖЖЖЖ-АА-КК түрінде"}
		}
	case "choice":
		if !slices.Contains(f.Choices, v) {
			return Text{RU: fmt.Sprintf("значение %q не из списка", v), KK: fmt.Sprintf("%q мәні тізімде жоқ", v)}
		}
	case "bool":
		if v != "true" && v != "false" {
			return Text{RU: "да или нет (true/false)", KK: "иә немесе жоқ (true/false)"}
		}
	}
	return Text{}
}

// emailAddress reports whether v is a bare e-mail address (no display name, no angle brackets) with a
// domain of at least two labels: the address the result is sent to, as typed.
func emailAddress(v string) bool {
	a, err := mail.ParseAddress(v)
	if err != nil || a.Name != "" || a.Address != v {
		return false
	}
	_, domain, _ := strings.Cut(a.Address, "@")
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}
