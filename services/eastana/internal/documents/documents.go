// Package documents renders ИС Е-Астана's result documents (выходные документы): the registration ticket
// (регистрационный талон, приложение 11), the referral to a kindergarten (направление в ДДО, приложение 10)
// and the motivated refusal (мотивированный ответ об отказе). A document is UTF-8 text, in Russian and
// then in Kazakh, signed as it is: the bytes the МИО employee signs are the bytes the citizen downloads.
// Rendering is pure: the same data give the same bytes, which is how a signature is checked against the
// case's current state (intake's Sign renders again and compares).
package documents

import (
	"fmt"
	"strings"
	"time"

	"github.com/egov-suite/egov/internal/calendar"
	"github.com/egov-suite/egov/services/eastana/internal/queue"
)

// MediaType is the media type of a result document.
const MediaType = "text/plain; charset=utf-8"

// The kinds of result document (the passport's results[].kind).
const (
	KindTicket   = "registration_ticket"
	KindReferral = "referral"
	KindRefusal  = "refusal"
)

// Provider is the body that issues the documents (the passport's provider, приложение 2).
var Provider = queue.Text{RU: "ГУ «Управление образования города Астаны»", KK: "«Астана қаласының Білім басқармасы» ММ"}

// Names are the documents' names, as the passport names its results.
var Names = map[string]queue.Text{
	KindReferral: {RU: "Направление в детскую дошкольную организацию", KK: "Мектепке дейінгі ұйымға жолдама"},
	KindTicket:   {RU: "Уведомление о регистрации (регистрационный талон) с номером очереди", KK: "Тіркеу туралы хабарлама (тіркеу талоны) кезек нөмірімен"},
	KindRefusal:  {RU: "Мотивированный ответ об отказе в предоставлении услуги", KK: "Қызмет көрсетуден бас тарту туралы дәлелді жауап"},
}

// ReferralNote is приложение 10's note under the referral.
var ReferralNote = queue.Text{
	RU: "Родителям необходимо прибыть в дошкольную организацию и зарегистрировать направление в течение месяца",
	KK: "Ата-аналарға мектепке дейінгі ұйымға келіп, жолдаманы бір ай ішінде тіркеу қажет",
}

// Signer is who signs a document: a МИО employee with their ЭЦП, or ИС Е-Астана itself (System) with
// its system key, for a referral the queue gives on its own when a place is released.
type Signer struct {
	Name, Position string
	System         bool
}

// SystemSigner is ИС Е-Астана sealing a document with its system key.
var SystemSigner = Signer{System: true}

// Document is the data of one result document.
type Document struct {
	Kind string
	// Number is the application number (registration_number); ReceivedAt when it was received.
	Number     string
	ReceivedAt time.Time
	ChildIIN   string
	ChildBirth time.Time
	// ApplicantIIN is the parent's or guardian's.
	ApplicantIIN string

	// The child's place (ticket and referral): its list, queue number and kind, and for a ticket how
	// many children of its kind wait before it.
	ListID      string
	QueueNumber int64
	QueueKind   string
	Ahead       int64

	// A referral: the kindergarten, the group's ages, when it was offered, until when it is valid, and
	// who released the place (an employee, when known).
	Kindergarten   queue.Text
	AgeFrom, AgeTo int
	OfferedAt      time.Time
	ExpiresAt      time.Time
	ReleasedBy     string

	// A refusal: the queue's code and text, or the employee's motivation.
	RefusalCode string
	Refusal     queue.Text
	Motivation  string

	Signer Signer
}

// Name is the document's name.
func (d Document) Name() queue.Text { return Names[d.Kind] }

// Render is the document as it is signed: the Russian text, a blank line, the Kazakh text.
func (d Document) Render() ([]byte, error) {
	ru, err := d.Text("ru")
	if err != nil {
		return nil, err
	}
	kk, err := d.Text("kk")
	if err != nil {
		return nil, err
	}
	return []byte(ru + "\n" + kk), nil
}

// Languages are the languages of a document, in the order Render joins them.
var Languages = []string{"ru", "kk"}

// labels are the fixed words of the documents, per language.
var labels = map[string]map[string]string{
	"ru": {
		"application":  "Заявление № %s от %s",
		"child":        "Ребёнок: ИИН %s, дата рождения %s",
		"childiin":     "Ребёнок: ИИН %s",
		"nochild":      "Ребёнок: ИИН не указан",
		"applicant":    "Заявитель (родитель или законный представитель): ИИН %s",
		"list":         "Очередь: %s, список: %s",
		"number":       "Номер в очереди: %d",
		"ahead":        "Перед ребёнком в очереди: %d",
		"registered":   "Дата регистрации в очереди: %s",
		"kindergarten": "Дошкольная организация: %s",
		"group":        "Возрастная группа: от %d до %d лет",
		"offered":      "Дата выдачи направления: %s",
		"valid":        "Направление действительно до: %s",
		"released":     "Место освобождено: %s",
		"refusal":      "Основание отказа: %s",
		"motivation":   "Мотивировка отказа: %s",
		"signer":       "Подписал: %s, %s",
		"system":       "Документ сформирован и подписан ИС Е-Астана автоматически (очередь выдала место)",
	},
	"kk": {
		"application":  "%s-нөмірлі өтініш, %s",
		"child":        "Бала: ЖСН %s, туған күні %s",
		"childiin":     "Бала: ЖСН %s",
		"nochild":      "Бала: ЖСН көрсетілмеген",
		"applicant":    "Өтініш беруші (ата-ана немесе заңды өкіл): ЖСН %s",
		"list":         "Кезек: %s, тізім: %s",
		"number":       "Кезектегі нөмірі: %d",
		"ahead":        "Баланың алдында кезекте: %d",
		"registered":   "Кезекке тіркелген күні: %s",
		"kindergarten": "Мектепке дейінгі ұйым: %s",
		"group":        "Жас тобы: %d жастан %d жасқа дейін",
		"offered":      "Жолдама берілген күн: %s",
		"valid":        "Жолдама %s дейін жарамды",
		"released":     "Орынды босатқан: %s",
		"refusal":      "Бас тарту негізі: %s",
		"motivation":   "Бас тарту себебі: %s",
		"signer":       "Қол қойған: %s, %s",
		"system":       "Құжатты Е-Астана АЖ автоматты түрде қалыптастырып, қол қойды (кезек орын берді)",
	},
}

// kinds are the lists' kinds in words.
var kinds = map[string]queue.Text{
	"general":       {RU: "общий", KK: "жалпы"},
	"primary":       {RU: "первоочередной", KK: "бірінші кезектегі"},
	"extraordinary": {RU: "внеочередной", KK: "кезектен тыс"},
}

func tr(t queue.Text, lang string) string {
	if lang == "kk" && t.KK != "" {
		return t.KK
	}
	return t.RU
}

func day(t time.Time) string    { return t.In(calendar.Zone).Format("02.01.2006") }
func moment(t time.Time) string { return t.In(calendar.Zone).Format("02.01.2006 15:04") }
func listName(id, lang string) string {
	city := map[string]string{"ru": "г. Астана", "kk": "Астана қ."}[lang]
	if _, district, ok := strings.Cut(id, "/"); ok {
		return city + ", " + district
	}
	return city
}

// Text is the document in one language ("ru" or "kk"), ending with a newline.
func (d Document) Text(lang string) (string, error) {
	l, ok := labels[lang]
	if !ok {
		return "", fmt.Errorf("documents: no language %q", lang)
	}
	name, ok := Names[d.Kind]
	if !ok {
		return "", fmt.Errorf("documents: no document of kind %q", d.Kind)
	}
	if d.Number == "" {
		return "", fmt.Errorf("documents: a %s needs the application number", d.Kind)
	}
	var b strings.Builder
	line := func(key string, args ...any) { fmt.Fprintf(&b, l[key]+"\n", args...) }
	b.WriteString(tr(Provider, lang) + "\n")
	b.WriteString(tr(name, lang) + "\n")
	line("application", d.Number, moment(d.ReceivedAt))
	switch {
	case d.ChildIIN == "":
		line("nochild")
	case d.ChildBirth.IsZero():
		line("childiin", d.ChildIIN)
	default:
		line("child", d.ChildIIN, day(d.ChildBirth))
	}
	line("applicant", d.ApplicantIIN)
	switch d.Kind {
	case KindTicket:
		line("list", listName(d.ListID, lang), tr(kinds[d.QueueKind], lang))
		line("number", d.QueueNumber)
		line("ahead", d.Ahead)
		line("registered", moment(d.ReceivedAt))
	case KindReferral:
		line("list", listName(d.ListID, lang), tr(kinds[d.QueueKind], lang))
		line("number", d.QueueNumber)
		line("kindergarten", tr(d.Kindergarten, lang))
		line("group", d.AgeFrom, d.AgeTo)
		line("offered", day(d.OfferedAt))
		line("valid", day(d.ExpiresAt))
		if d.ReleasedBy != "" {
			line("released", d.ReleasedBy)
		}
		b.WriteString(tr(ReferralNote, lang) + "\n")
	case KindRefusal:
		if d.Refusal != (queue.Text{}) {
			line("refusal", tr(d.Refusal, lang))
		}
		if d.Motivation != "" {
			line("motivation", d.Motivation)
		}
		if d.Refusal == (queue.Text{}) && d.Motivation == "" {
			return "", fmt.Errorf("documents: a refusal needs its ground or a motivation")
		}
	}
	switch {
	case d.Signer.System:
		line("system")
	case d.Signer.Name == "":
		return "", fmt.Errorf("documents: the %s names no signer", d.Kind)
	default:
		line("signer", d.Signer.Name, d.Signer.Position)
	}
	return b.String(), nil
}
