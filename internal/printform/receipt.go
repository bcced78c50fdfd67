package printform

import (
	"time"

	"github.com/egov-suite/egov/internal/calendar"
	"github.com/egov-suite/egov/internal/catalog"
)

// Receipt is a receipt of documents (расписка о приёме документов) as a service centre (ЦОН) or the
// provider's office hands it to the applicant: what a paper receipt carries.
type Receipt struct {
	// Issuer is the centre or the provider that took the documents, Address where it is.
	Issuer  catalog.Text
	Address string
	// Title is the receipt's name.
	Title catalog.Text
	// Number is the registration number; empty while РШЭП has not registered the application yet.
	Number string
	// At is when the documents were taken.
	At      time.Time
	Service catalog.Text
	// Applicant is the service recipient; Representative, when one applied on the recipient's behalf,
	// with the power of attorney's number.
	Applicant       Person
	Representative  *Person
	PowerOfAttorney string
	// Persons are the other people the application names (the ward, the child), each with the form's label.
	Persons []LabelledPerson
	// Deadline is the service's term in force; nil while the application is not registered.
	Deadline *time.Time
	// Documents are the documents taken, each with a word on its form (original, scan).
	Documents []catalog.Text
	// Acceptor is who took the documents (the ЦОН operator, the provider's clerk) and AcceptorRole the
	// position printed on the signature line.
	Acceptor     string
	AcceptorRole catalog.Text
	// Note is the issuer's word on how the result is received.
	Note catalog.Text
}

// Person is a person's name and IIN.
type Person struct{ Name, IIN string }

// LabelledPerson is a person the form names, with the form's label.
type LabelledPerson struct {
	Label catalog.Text
	IIN   string
}

var receiptTexts = map[string]map[string]string{
	"ru": {
		"number": "Регистрационный номер", "date": "Дата и время приёма", "service": "Услуга",
		"applicant": "Услугополучатель", "iin": "ИИН", "representative": "Представитель", "poa": "доверенность",
		"deadline": "Срок оказания услуги (до)", "documents": "Принятые документы", "none": "—",
		"number_pending":   "ещё не присвоен: номер присваивает АРМ РШЭП при регистрации заявления",
		"deadline_pending": "исчисляется со дня регистрации заявления",
		"pending_note":     "Расписка напечатана до регистрации заявления: номер и срок будут указаны в расписке, распечатанной повторно после регистрации (статус «Зарегистрировано»).",
		"accepted":         "Документы принял", "handed": "Документы сдал", "address": "Адрес",
	},
	"kk": {
		"number": "Тіркеу нөмірі", "date": "Қабылданған күні мен уақыты", "service": "Қызмет",
		"applicant": "Қызмет алушы", "iin": "ЖСН", "representative": "Өкіл", "poa": "сенімхат",
		"deadline": "Қызмет көрсету мерзімі (дейін)", "documents": "Қабылданған құжаттар", "none": "—",
		"number_pending":   "әлі берілмеген: нөмірді АРМ РШЭП өтінішті тіркеген кезде береді",
		"deadline_pending": "өтініш тіркелген күннен бастап есептеледі",
		"pending_note":     "Қолхат өтініш тіркелгенге дейін басып шығарылды: нөмір мен мерзім тіркелгеннен кейін («Тіркелді» мәртебесі) қайта басып шығарылған қолхатта көрсетіледі.",
		"accepted":         "Құжаттарды қабылдаған", "handed": "Құжаттарды тапсырған", "address": "Мекенжайы",
	},
}

// ReceiptDocument is the printable receipt: a page in Russian, then one in Kazakh, with the signature
// lines of who took the documents and who handed them in. A receipt printed before the number is
// assigned says so, and how to get one with it.
func ReceiptDocument(r Receipt) Document {
	title := r.Title.RU
	if r.Number != "" {
		title += " № " + r.Number
	}
	d := Document{Title: title, Author: r.Issuer.RU, At: r.At}
	for _, lang := range catalog.Languages {
		t := receiptTexts[lang]
		p := Page{Header: []string{tr(r.Issuer, lang)}, Title: tr(r.Title, lang)}
		if r.Address != "" {
			p.Header = append(p.Header, t["address"]+": "+r.Address)
		}
		number, deadline := r.Number, t["deadline_pending"]
		if number == "" {
			number = t["number_pending"]
		}
		if r.Deadline != nil {
			deadline = r.Deadline.In(calendar.Zone).Format("02.01.2006 15:04")
		}
		p.Rows = []Row{{t["number"], number}, {t["date"], r.At.In(calendar.Zone).Format("02.01.2006 15:04")},
			{t["service"], tr(r.Service, lang)}, {t["applicant"], r.Applicant.Name + ", " + t["iin"] + " " + r.Applicant.IIN}}
		for _, x := range r.Persons {
			p.Rows = append(p.Rows, Row{tr(x.Label, lang), x.IIN})
		}
		handedBy := r.Applicant.Name
		if r.Representative != nil {
			v := r.Representative.Name + ", " + t["iin"] + " " + r.Representative.IIN
			if r.PowerOfAttorney != "" {
				v += "; " + t["poa"] + " " + r.PowerOfAttorney
			}
			p.Rows = append(p.Rows, Row{t["representative"], v})
			handedBy = r.Representative.Name
		}
		p.Rows = append(p.Rows, Row{t["deadline"], deadline})
		docs := t["none"]
		if len(r.Documents) > 0 {
			docs = ""
			for i, x := range r.Documents {
				if i > 0 {
					docs += "\n"
				}
				docs += "• " + tr(x, lang)
			}
		}
		p.Rows = append(p.Rows, Row{t["documents"], docs})
		p.Note = tr(r.Note, lang)
		if r.Number == "" {
			p.Note += "\n" + t["pending_note"]
		}
		p.Signatures = []Signature{{Role: t["accepted"] + " (" + tr(r.AcceptorRole, lang) + ")", Name: r.Acceptor},
			{Role: t["handed"], Name: handedBy}}
		d.Pages = append(d.Pages, p)
	}
	return d
}
