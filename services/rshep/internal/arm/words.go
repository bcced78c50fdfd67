package arm

import (
	"fmt"
	"strings"

	"github.com/egov-suite/egov/internal/applicant/channelweb"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/webkit"
	"github.com/egov-suite/egov/services/rshep/internal/engine"
)

// The workstation speaks the civil servant's language: statuses, channels, roles, actions, registries
// and regions by name (the codes stay in the data and in the log). A code this build has no name for is
// shown as it is rather than hidden.

// words are the names of the codes, ru and kk.
var words = map[string]map[string][2]string{
	"channel": {
		"portal": {"Портал «электронного правительства»", "«Электрондық үкімет» порталы"},
		"tson":   {"ЦОН (Госкорпорация)", "ХҚКО (Мемлекеттік корпорация)"},
		"office": {"Канцелярия услугодателя", "Қызмет берушінің кеңсесі"},
	},
	"role": {
		"clerk":      {"сотрудник канцелярии", "кеңсе қызметкері"},
		"officer":    {"ответственный исполнитель", "жауапты орындаушы"},
		"head":       {"руководитель", "басшы"},
		"commission": {"член комиссии", "комиссия мүшесі"},
		"system":     {"система РШЭП (автоматически)", "ӨЭҮШ жүйесі (автоматты)"},
	},
	"action": {
		engine.ActRegistered: {"зарегистрирована", "тіркелді"},
		engine.ActChecked:    {"сведения получены из реестров", "тізілімдерден мәліметтер алынды"},
		engine.ActCompleted:  {"шаг выполнен", "қадам орындалды"},
		engine.ActAssigned:   {"назначен исполнитель", "орындаушы тағайындалды"},
		engine.ActDecided:    {"решение принято", "шешім қабылданды"},
		engine.ActSigned:     {"результат подписан ЭЦП", "нәтижеге ЭЦҚ қойылды"},
		engine.ActExtended:   {"срок продлён", "мерзімі ұзартылды"},
		engine.ActWarned:     {"срок шага истекает", "қадам мерзімі бітуде"},
		engine.ActOverdue:    {"срок шага нарушен", "қадам мерзімі бұзылды"},
		engine.ActEscalated:  {"передана на контроль руководителю", "басшының бақылауына берілді"},
		engine.ActIssued:     {"результат направлен заявителю", "нәтиже өтініш берушіге жіберілді"},
		engine.ActNotified:   {"заявитель уведомлён", "өтініш беруші хабардар етілді"},
		engine.ActHandedOver: {"результат выдан лично", "нәтиже жеке өзіне берілді"},
		engine.ActUnclaimed:  {"результат не востребован", "нәтиже талап етілмеді"},
	},
	"registry": {
		"gbdfl": {"ГБД ФЛ", "ЖТ МДҚ"},
		"enis":  {"ЕНИС (нотариат)", "БНАЖ (нотариат)"},
	},
	"outcome": {
		"approved": {"услуга оказана", "қызмет көрсетілді"},
		"refused":  {"мотивированный отказ", "дәлелді бас тарту"},
	},
}

// word is the name of code of kind in lang, or the code itself.
func word(lang, kind, code string) string {
	if w, ok := words[kind][code]; ok {
		return webkit.Pick(lang, w[0], w[1])
	}
	return code
}

// roleName names a step's performer: a role, or "body:role" for another body's staff (the body by
// its id; performerName names it from the passport).
func roleName(lang, performer string) string {
	body, role, ok := strings.Cut(performer, ":")
	if !ok {
		return word(lang, "role", performer)
	}
	return word(lang, "role", role) + " (" + body + ")"
}

// performerName names a step's performer with the passport's name of another body.
func performerName(lang string, p *catalog.Passport, performer string) string {
	body, role, ok := strings.Cut(performer, ":")
	if ok && p != nil {
		for _, b := range p.Bodies {
			if b.ID == body {
				return word(lang, "role", role) + " — " + webkit.Pick(lang, b.Name.RU, b.Name.KK)
			}
		}
	}
	return roleName(lang, performer)
}

// decisionNote reads a decision's history note ("<outcome> [<ground>] [<comment>]") in lang.
func decisionNote(lang string, p *catalog.Passport, note string) string {
	outcome, rest, _ := strings.Cut(note, " ")
	out := word(lang, "outcome", outcome)
	if outcome == "refused" {
		code, comment, _ := strings.Cut(rest, " ")
		out += ": " + refusalName(lang, p, code)
		if comment != "" {
			out += ". " + comment
		}
		return out
	}
	if rest != "" {
		out += ". " + rest
	}
	return out
}

// rolesName names an employee's roles.
func rolesName(lang string, roles []string) string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = roleName(lang, r)
	}
	return strings.Join(out, ", ")
}

// refusalName is the passport's text of a refusal ground, or the code when the passport has none.
func refusalName(lang string, p *catalog.Passport, code string) string {
	if p != nil {
		for _, r := range p.Refusals {
			if r.Code == code {
				return webkit.Pick(lang, r.Text.RU, r.Text.KK)
			}
		}
	}
	return code
}

// documentName is the passport's name of an application's document (by its id in the form).
func documentName(lang string, p *catalog.Passport, id string) string {
	if p != nil {
		for _, d := range p.Documents {
			if d.ID == id {
				return webkit.Pick(lang, d.Name.RU, d.Name.KK)
			}
		}
	}
	return id
}

// fieldLabel is the passport's label of a form field.
func fieldLabel(lang string, p *catalog.Passport, id string) string {
	if p != nil {
		for _, f := range p.Fields {
			if f.ID == id {
				return webkit.Pick(lang, f.Label.RU, f.Label.KK)
			}
		}
	}
	return id
}

// stepName is the passport's action of a step (by its id), "" for none.
func stepName(lang string, p *catalog.Passport, id string) string {
	if p != nil {
		for _, s := range p.Steps {
			if s.ID == id {
				return webkit.Pick(lang, s.Action.RU, s.Action.KK)
			}
		}
	}
	return id
}

// fieldValue is a form field's value as people read it: a choice by its label.
func fieldValue(lang string, f catalog.Field, v string) string {
	return channelweb.ChoiceLabel(f, lang, v)
}

// size writes a file's size for people.
func size(lang string, n int64) string {
	switch {
	case n <= 0:
		return ""
	case n < 1<<10:
		return fmt.Sprintf("%d %s", n, webkit.Pick(lang, "Б", "Б"))
	case n < 1<<20:
		return fmt.Sprintf("%.0f %s", float64(n)/(1<<10), webkit.Pick(lang, "КБ", "КБ"))
	}
	return fmt.Sprintf("%.1f %s", float64(n)/(1<<20), webkit.Pick(lang, "МБ", "МБ"))
}

// funcs are the template functions of the workstation's words.
func funcs() map[string]any {
	return map[string]any{
		"statusName":   channelweb.StatusName,
		"shown":        channelweb.Shown,
		"word":         word,
		"roleName":     roleName,
		"rolesName":    rolesName,
		"refusalName":  refusalName,
		"documentName": documentName,
		"fieldValue":   fieldValue,
		"fieldLabel":   fieldLabel,
		"performer":    performerName,
		"decisionNote": decisionNote,
		"stepName":     stepName,
		"size":         size,
		"regionName":   webkit.RegionName,
	}
}
