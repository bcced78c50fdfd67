// Package diagram draws a service passport as an SVG flow chart, from the passport's data alone: the
// applicant's submission on each channel, Госкорпорация's intake at a ЦОН with its refusal to accept, the
// provider's steps in swimlanes by role (other bodies in lanes of their own) with each step's term, the
// decision's two branches (the result, or the motivated refusal) and the extension of the term. The
// portal's service page, АРМ and `egov catalog diagram` show the same drawing, in Russian or Kazakh.
package diagram

import (
	"bytes"
	"fmt"
	"html"
	"slices"
	"strings"

	"github.com/egov-suite/egov/internal/catalog"
)

// Layout of the drawing, in SVG user units.
const (
	laneHead = 170 // the lanes' names on the left
	colW     = 170 // one column: a step
	boxW     = 150
	boxH     = 92
	laneH    = 112
	top      = 56 // the title line above the lanes
	noteH    = 74 // the extension's and the refusal's notes below the lanes
)

// words are the drawing's own texts.
var words = map[string]map[string]string{
	"ru": {
		"applicant": "Заявитель", "statecorp": "Госкорпорация (ЦОН)", "clerk": "Канцелярия", "head": "Руководитель",
		"officer": "Ответственный исполнитель", "commission": "Комиссия", "system": "Информационная система",
		"submit": "Заявление", "portal": "портал", "tson": "ЦОН", "office": "канцелярия услугодателя", "eastana": "кабинет ИС Е-Астана",
		"intake": "Приём документов", "intake_refusal": "Отказ в приёме документов", "decides": "решение",
		"signs": "подписание", "approve": "Да: результат", "refuse": "Нет: мотивированный отказ",
		"extension": "Продление срока: %s, не более %s, раз: %d", "term": "Срок по шагам: %s",
		"title": "Схема оказания услуги «%s»", "intake_note": "Неполный пакет документов — отказ в приёме%s; дело не открывается.",
		"decision": "Решение?", "now": "дело сейчас здесь",
	},
	"kk": {
		"applicant": "Өтініш беруші", "statecorp": "Мемлекеттік корпорация (ХҚКО)", "clerk": "Кеңсе", "head": "Басшы",
		"officer": "Жауапты орындаушы", "commission": "Комиссия", "system": "Ақпараттық жүйе",
		"submit": "Өтініш", "portal": "портал", "tson": "ХҚКО", "office": "қызмет берушінің кеңсесі", "eastana": "Е-Астана АЖ кабинеті",
		"intake": "Құжаттарды қабылдау", "intake_refusal": "Құжаттарды қабылдаудан бас тарту", "decides": "шешім",
		"signs": "қол қою", "approve": "Иә: нәтиже", "refuse": "Жоқ: дәлелді бас тарту",
		"extension": "Мерзімді ұзарту: %s, %s артық емес, рет: %d", "term": "Қадамдар бойынша мерзім: %s",
		"title": "«%s» қызметін көрсету сызбасы", "intake_note": "Құжаттар топтамасы толық емес — қабылдаудан бас тарту%s; іс ашылмайды.",
		"decision": "Шешім?", "now": "іс қазір осында",
	},
}

// Lang is a supported language: "kk", else Russian.
func Lang(l string) string {
	if l == "kk" {
		return "kk"
	}
	return "ru"
}

func pick(lang string, t catalog.Text) string {
	if lang == "kk" && t.KK != "" {
		return t.KK
	}
	return t.RU
}

// look are the presentation attributes of each class of shape and text.
var look = map[string]string{
	"lane":      `fill="#f4f6f8" stroke="#c9d1d9"`,
	"lane-name": `font-family="sans-serif" font-size="13" font-weight="600" fill="#1f2328"`,
	"box":       `fill="#ffffff" stroke="#0b5394" stroke-width="1.5"`,
	"decides":   `fill="#fff7e0" stroke="#b26a00" stroke-width="2"`,
	"end-ok":    `fill="#e6f4ea" stroke="#1e7e34" stroke-width="1.5"`,
	"end-no":    `fill="#fdecea" stroke="#b3261e" stroke-width="1.5"`,
	"t":         `font-family="sans-serif" font-size="12" fill="#1f2328"`,
	"d":         `font-family="sans-serif" font-size="11" font-style="italic" fill="#57606a"`,
	"h":         `font-family="sans-serif" font-size="15" font-weight="600" fill="#1f2328"`,
	"arrow":     `stroke="#57606a" stroke-width="1.5" fill="none" marker-end="url(#dg-arrow)"`,
	"branch":    `stroke="#b3261e" stroke-width="1.5" fill="none" stroke-dasharray="5 3" marker-end="url(#dg-arrow)"`,
}

// lane is one swimlane: who acts there.
type lane struct {
	key, name string
}

// lanes are the drawing's swimlanes, top to bottom: the applicant, Госкорпорация when the service is
// taken at a ЦОН, then each performer in the order of its first step.
func lanes(p *catalog.Passport, lang string) []lane {
	w := words[lang]
	out := []lane{{"applicant", w["applicant"]}}
	if slices.Contains(p.Channels, "tson") {
		out = append(out, lane{"statecorp", w["statecorp"]})
	}
	for _, s := range p.Steps {
		key := s.Performer()
		if slices.ContainsFunc(out, func(l lane) bool { return l.key == key }) {
			continue
		}
		name := w[s.Role]
		if s.Body != "" {
			b, _ := p.BodyOf(s.Body)
			name = pick(lang, b.Name) + ": " + w[s.Role]
		}
		out = append(out, lane{key, name})
	}
	return out
}

// Term says a duration in words: «5 рабочих дней», «30 минут».
func Term(d catalog.Duration, lang string) string {
	if Lang(lang) == "kk" {
		unit := map[string]string{"minutes": "минут", "hours": "сағат", "working_days": "жұмыс күні", "calendar_days": "күнтізбелік күн"}[d.Unit]
		return fmt.Sprintf("%d %s", d.Value, unit)
	}
	forms := map[string][3]string{
		"minutes":       {"минута", "минуты", "минут"},
		"hours":         {"час", "часа", "часов"},
		"working_days":  {"рабочий день", "рабочих дня", "рабочих дней"},
		"calendar_days": {"календарный день", "календарных дня", "календарных дней"},
	}[d.Unit]
	n := d.Value % 100
	form := forms[2]
	switch {
	case n >= 11 && n <= 14:
	case n%10 == 1:
		form = forms[0]
	case n%10 >= 2 && n%10 <= 4:
		form = forms[1]
	}
	return fmt.Sprintf("%d %s", d.Value, form)
}

// Total says the steps' terms added unit by unit: «10 рабочих дней + 30 минут».
func Total(p *catalog.Passport, lang string) string {
	if p.Term != nil { // the regulation's own term in all (Pavlodar's «3 дня»), not the steps one after the other
		return Term(*p.Term, lang)
	}
	sum := map[string]int{}
	for _, s := range p.Steps {
		sum[s.Duration.Unit] += s.Duration.Value
	}
	var parts []string
	for _, u := range []string{"calendar_days", "working_days", "hours", "minutes"} {
		if sum[u] > 0 {
			parts = append(parts, Term(catalog.Duration{Value: sum[u], Unit: u}, lang))
		}
	}
	return strings.Join(parts, " + ")
}

// svg writes the drawing.
type svg struct {
	b bytes.Buffer
}

func (s *svg) f(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

// text writes lines of text centred at x, starting at y, wrapped to about width characters.
func (s *svg) text(x, y int, width, most int, class, t string) {
	lines := wrap(t, width, most)
	s.f(`<text x="%d" y="%d" class="%s" %s text-anchor="middle">`, x, y, class, look[class])
	for i, l := range lines {
		dy := "0"
		if i > 0 {
			dy = "1.2em"
		}
		s.f(`<tspan x="%d" dy="%s">%s</tspan>`, x, dy, html.EscapeString(l))
	}
	s.f("</text>\n")
}

// wrap breaks t into lines of at most n runes at spaces, most lines at most (the last cut with «…»).
func wrap(t string, n, most int) []string {
	var lines []string
	var cur []rune
	for _, word := range strings.Fields(t) {
		wr := []rune(word)
		if len(cur) > 0 && len(cur)+1+len(wr) > n {
			lines = append(lines, string(cur))
			cur = nil
		}
		if len(cur) > 0 {
			cur = append(cur, ' ')
		}
		cur = append(cur, wr...)
	}
	if len(cur) > 0 {
		lines = append(lines, string(cur))
	}
	if len(lines) > most {
		last := []rune(lines[most-1])
		lines = append(lines[:most-1], string(last[:min(len(last), n-1)])+"…")
	}
	return lines
}

// node is a box placed in a lane and a column.
type node struct {
	col, lane int
}

func (n node) x() int { return laneHead + n.col*colW + (colW-boxW)/2 }
func (n node) y() int { return top + n.lane*laneH + (laneH-boxH)/2 }

// Render draws the passport in lang ("ru" or "kk").
func Render(p *catalog.Passport, lang string) []byte { return RenderAt(p, lang, "") }

// RenderAt draws the passport with the step current (an id of its steps) marked where a case is now, as
// АРМ shows a case; "" marks none.
func RenderAt(p *catalog.Passport, lang, current string) []byte {
	lang = Lang(lang)
	w := words[lang]
	ls := lanes(p, lang)
	laneOf := func(key string) int {
		return slices.IndexFunc(ls, func(l lane) bool { return l.key == key })
	}
	tson := slices.Contains(p.Channels, "tson")
	cols := 1 + len(p.Steps) + 1 // the submission, the steps, the outcome
	if tson {
		cols++
	}
	width := laneHead + cols*colW
	// The refusal ends in the second lane, under the result (or the last lane when the decision is
	// taken there); with a single lane, below it.
	endCol := cols - 1
	refuseAt := node{endCol, min(1, len(ls)-1)}
	if refuseAt.lane == 0 {
		refuseAt.lane = len(ls)
	}
	rows := len(ls)
	if refuseAt.lane == len(ls) {
		rows++
	}
	height := top + rows*laneH + noteH
	title := fmt.Sprintf(w["title"], pick(lang, p.Name))
	var desc []string
	s := &svg{}
	s.f(`<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="dg-title dg-desc" aria-label="%s" viewBox="0 0 %d %d" width="%d" height="%d" class="passport-diagram" lang="%s">`+"\n",
		html.EscapeString(title), width, height, width, height, lang)
	s.f(`<title id="dg-title">%s</title>`+"\n", html.EscapeString(title))
	descAt := s.b.Len()
	// Presentation attributes, not a <style> sheet: a page whose Content-Security-Policy refuses inline
	// styles (the portal's, АРМ's) still draws the diagram in colour.
	s.f(`<defs><marker id="dg-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#57606a"/></marker></defs>` + "\n")
	s.f(`<text x="12" y="24" class="h" %s>%s</text>`+"\n", look["h"], html.EscapeString(title))
	s.f(`<text x="12" y="44" class="d" %s>%s</text>`+"\n", look["d"], html.EscapeString(fmt.Sprintf(w["term"], Total(p, lang))))
	for i, l := range ls {
		y := top + i*laneH
		s.f(`<g class="swimlane" data-lane="%s"><rect class="lane" %s x="0" y="%d" width="%d" height="%d"/>`, html.EscapeString(l.key), look["lane"], y, width, laneH)
		s.text(laneHead/2, y+laneH/2-6, 22, 4, "lane-name", l.name)
		s.f("</g>\n")
	}
	box := func(n node, class, id, label, sub string) {
		attrs := look[class]
		if current != "" && id == "dg-step-"+current {
			attrs += ` stroke-width="4"`
			s.f(`<g class="node current" id="%s" aria-current="step"><rect class="%s" %s x="%d" y="%d" width="%d" height="%d" rx="8"/>`,
				id, class, attrs, n.x(), n.y(), boxW, boxH)
			s.f(`<text x="%d" y="%d" class="d" %s text-anchor="middle">%s</text>`, n.x()+boxW/2, n.y()-4, look["d"], html.EscapeString("▼ "+w["now"]))
		} else {
			s.f(`<g class="node" id="%s"><rect class="%s" %s x="%d" y="%d" width="%d" height="%d" rx="8"/>`, id, class, attrs, n.x(), n.y(), boxW, boxH)
		}
		s.text(n.x()+boxW/2, n.y()+17, 21, 3, "t", label)
		if sub != "" {
			s.text(n.x()+boxW/2, n.y()+boxH-22, 25, 2, "d", sub)
		}
		s.f("</g>\n")
	}
	arrow := func(a, b node, class string) {
		x1, y1 := a.x()+boxW, a.y()+boxH/2
		x2, y2 := b.x(), b.y()+boxH/2
		if a.col == b.col { // straight down (or up) to a branch in the same column
			x1, x2 = a.x()+boxW/2, b.x()+boxW/2
			y1, y2 = a.y()+boxH, b.y()
			if b.lane < a.lane {
				y1, y2 = a.y(), b.y()+boxH
			}
		}
		mx := (x1 + x2) / 2
		s.f(`<path class="%s" %s d="M%d %d C%d %d %d %d %d %d"/>`+"\n", class, look[class], x1, y1, mx, y1, mx, y2, x2, y2)
	}
	channels := make([]string, 0, len(p.Channels))
	for _, c := range p.Channels {
		channels = append(channels, w[c])
	}
	start := node{0, 0}
	box(start, "box", "dg-submit", w["submit"], strings.Join(channels, ", "))
	desc = append(desc, w["submit"]+": "+strings.Join(channels, ", "))
	prev := start
	col := 1
	if tson {
		n := node{col, laneOf("statecorp")}
		sub := ""
		if p.StateCorp != nil { // the documents are carried to the provider within Госкорпорация's term
			sub = "→ " + Term(p.StateCorp.ToProvider, lang)
		}
		box(n, "box", "dg-intake", w["intake"], sub)
		arrow(start, n, "arrow")
		refusal := w["intake_refusal"]
		if p.StateCorp != nil {
			refusal = pick(lang, p.StateCorp.Receipt.Title)
		}
		desc = append(desc, w["intake"]+" ("+w["tson"]+"); "+w["intake_refusal"])
		s.f(`<text x="%d" y="%d" class="d" %s id="dg-intake-refusal">%s</text>`+"\n", n.x(), n.y()+boxH+14, look["d"], html.EscapeString("✗ "+truncate(refusal, 34)))
		col++
		// The portal's and the office's applications go straight to the provider; the ЦОН's after intake.
		prev = n
	}
	var decided node
	for i, st := range p.Steps {
		n := node{col + i, laneOf(st.Performer())}
		class, sub := "box", Term(st.Duration, lang)
		if st.Decides {
			class, sub = "decides", "◆ "+w["decides"]+" · "+sub
			decided = n
		} else if st.Signs {
			sub = "✎ " + w["signs"] + " · " + sub
		}
		box(n, class, "dg-step-"+st.ID, pick(lang, st.Action), sub)
		arrow(prev, n, "arrow")
		if i == 0 && tson {
			arrow(start, n, "arrow") // the portal's (and office's) path skips Госкорпорация
		}
		line := fmt.Sprintf("%d. %s — %s, %s", i+1, pick(lang, st.Action), ls[n.lane].name, Term(st.Duration, lang))
		if st.ID == current {
			line += " (" + w["now"] + ")"
		}
		desc = append(desc, line)
		prev = n
	}
	// The outcome: the applicant receives the result on approval, the motivated refusal otherwise.
	end := node{col + len(p.Steps), 0}
	var ok, no []string
	for _, r := range p.Results {
		if r.Kind == "refusal" {
			no = append(no, pick(lang, r.Name))
		} else {
			ok = append(ok, pick(lang, r.Name))
		}
	}
	box(end, "end-ok", "dg-approve", w["approve"], truncate(strings.Join(ok, "; "), 60))
	arrow(prev, end, "arrow")
	box(refuseAt, "end-no", "dg-refuse", w["refuse"], truncate(strings.Join(no, "; "), 60))
	arrow(decided, refuseAt, "branch")
	desc = append(desc, w["decision"]+" "+w["approve"]+": "+strings.Join(ok, "; ")+"; "+w["refuse"]+": "+strings.Join(no, "; "))
	x := p.Extension
	ext := fmt.Sprintf(w["extension"], strings.ToLower(w[x.By]), Term(x.Max, lang), x.Times)
	noteY := top + rows*laneH + 24
	s.f(`<text x="12" y="%d" class="d" %s id="dg-extension">%s</text>`+"\n", noteY, look["d"], html.EscapeString(ext))
	desc = append(desc, ext)
	if tson {
		receipt := ""
		if sc := p.StateCorp; sc != nil {
			receipt = " (" + pick(lang, sc.Receipt.Title) + ", " + sc.Receipt.Form + ")"
		}
		note := fmt.Sprintf(w["intake_note"], receipt)
		s.f(`<text x="12" y="%d" class="d" %s>%s</text>`+"\n", noteY+22, look["d"], html.EscapeString("✗ "+note))
		desc = append(desc, note)
	}
	s.f("</svg>\n")
	out := s.b.Bytes()
	d := fmt.Sprintf(`<desc id="dg-desc">%s</desc>`+"\n", html.EscapeString(strings.Join(desc, ". ")))
	return slices.Concat(out[:descAt], []byte(d), out[descAt:])
}

func truncate(t string, n int) string {
	r := []rune(t)
	if len(r) <= n {
		return t
	}
	return string(r[:n-1]) + "…"
}
