package site

import (
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/catalog/diagram"
	"github.com/egov-suite/egov/internal/webkit"
)

// The catalogue a citizen reads before ordering: services grouped by life situation, regions by name,
// a server-side search (a GET form: it works without JavaScript), and for each service its page with the
// term, channels, documents, cost, provider and the drawing of its flow. Services the seeds know only by
// title are listed, marked, and their page says why they cannot be ordered.

// catalogTexts are the catalogue pages' words.
var catalogTexts = map[string]map[string]string{
	"ru": {
		"search": "Поиск услуги", "search_hint": "название, услугодатель, регион или категория", "find": "Найти", "reset": "Все услуги",
		"found_none": "По запросу «%s» ничего не найдено. Проверьте написание или посмотрите все услуги.", "found": "Найдено по запросу «%s»",
		"term": "Срок оказания", "cost": "Стоимость", "channels": "Как подать", "provider": "Услугодатель", "region": "Регион",
		"title_only": "Только название", "about": "Подробнее", "documents": "Документы", "results": "Результат",
		"diagram": "Схема оказания услуги", "not_offered": "Услуга не оказывается через этот портал",
		"source": "Источник", "no_documents": "Документы не требуются: сведения берутся из государственных баз данных.",
		"ch_portal": "онлайн на портале (с ЭЦП)", "ch_tson": "в Госкорпорации (ЦОН)", "ch_office": "лично у услугодателя",
		"only": "только", "required": "обязательно", "optional": "по необходимости", "back": "Все услуги",
		"term_steps": "сумма сроков всех шагов", "term_whole": "срок по регламенту в целом", "refusal_next": "Если откажут", "extension": "Продление срока",
		"not_online": "Эту услугу нельзя заказать на портале: подайте заявление способом, указанным выше.",
	},
	"kk": {
		"search": "Қызметті іздеу", "search_hint": "атауы, қызмет беруші, өңір немесе санат", "find": "Іздеу", "reset": "Барлық қызметтер",
		"found_none": "«%s» сұрауы бойынша ештеңе табылмады. Жазылуын тексеріңіз немесе барлық қызметтерді қараңыз.", "found": "«%s» сұрауы бойынша табылды",
		"term": "Көрсету мерзімі", "cost": "Құны", "channels": "Қалай тапсыруға болады", "provider": "Қызмет беруші", "region": "Өңір",
		"title_only": "Тек атауы", "about": "Толығырақ", "documents": "Құжаттар", "results": "Нәтиже",
		"diagram": "Қызмет көрсету сызбасы", "not_offered": "Қызмет осы портал арқылы көрсетілмейді",
		"source": "Дереккөз", "no_documents": "Құжаттар талап етілмейді: мәліметтер мемлекеттік дерекқорлардан алынады.",
		"ch_portal": "порталда онлайн (ЭЦҚ арқылы)", "ch_tson": "Мемлекеттік корпорацияда (ХҚКО)", "ch_office": "қызмет берушіге жеке өзі",
		"only": "тек", "required": "міндетті", "optional": "қажет болса", "back": "Барлық қызметтер",
		"term_steps": "барлық қадамдар мерзімдерінің қосындысы", "term_whole": "регламент бойынша жалпы мерзім", "refusal_next": "Бас тартылса", "extension": "Мерзімді ұзарту",
		"not_online": "Бұл қызметке порталда тапсырыс беру мүмкін емес: жоғарыда көрсетілген тәсілмен өтініш беріңіз.",
	},
}

// listing is the catalogue's listing: the suite's own, checked against the suite's own passports (a
// catalogue folder the portal runs may hold more: they are listed under «Другие услуги», their region by
// code when it has no name).
func listing(s *Site) *catalog.Listing {
	builtin, err := catalog.Builtin()
	if err == nil {
		var l *catalog.Listing
		if l, err = catalog.BuiltinListing(builtin); err == nil {
			return l
		}
	}
	if s.o.Log != nil {
		s.o.Log.Error("the catalogue's listing does not validate: services are listed ungrouped", "error", err)
	}
	return &catalog.Listing{Other: catalog.Text{RU: "Услуги", KK: "Қызметтер"}, Cost: catalog.Text{RU: "бесплатно", KK: "тегін"}}
}

// catalogEntry is a service as the catalogue lists it.
type catalogEntry struct {
	Code, Region, RegionName, Name, Provider, Term, Cost string
	Channels                                             []string
	TitleOnly, Orderable                                 bool
	// WholeTerm marks a term the passport gives for the whole service (term:), not the steps' terms added.
	WholeTerm bool
	// Repeat marks a service shown again in a later group: its elements carry no ids, which stay unique.
	Repeat bool
}

type catalogGroup struct {
	ID, Name string
	Entries  []catalogEntry
}

func (s *Site) entry(e catalog.Entry, lang string) catalogEntry {
	ct := catalogTexts[lang]
	out := catalogEntry{Code: e.Code, Region: e.Region, RegionName: s.listing.RegionName(e.Region, lang), Name: e.Name.In(lang),
		Cost: s.listing.CostOf(e.Code).In(lang), TitleOnly: e.Passport == nil}
	if p := e.Passport; p != nil {
		out.Provider, out.Term, out.WholeTerm = p.Provider.Name.In(lang), diagram.Total(p, lang), p.Term != nil
		for _, ch := range p.Channels {
			out.Channels = append(out.Channels, ct["ch_"+ch])
		}
		out.Orderable = slices.Contains(p.Channels, s.o.Desk.ChannelName())
	}
	return out
}

// services is the catalogue, searched by q.
func (s *Site) services(w http.ResponseWriter, r *http.Request) {
	lang := webkit.Lang(r)
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len([]rune(q)) > 200 {
		q = string([]rune(q)[:200])
	}
	var groups []catalogGroup
	shown := map[string]bool{}
	for _, g := range s.listing.Groups(s.o.Desk.Catalog(), q) {
		cg := catalogGroup{ID: g.ID, Name: g.Name.In(lang)}
		for _, e := range g.Entries {
			ce := s.entry(e, lang)
			ce.Repeat = shown[e.Code+"/"+e.Region]
			shown[e.Code+"/"+e.Region] = true
			cg.Entries = append(cg.Entries, ce)
		}
		groups = append(groups, cg)
	}
	s.render(w, r, "catalog.html", http.StatusOK, nil, "", map[string]any{"C": catalogTexts[lang], "Query": q, "Groups": groups})
}

// docRow is a document of the service page.
type docRow struct {
	Name     string
	Required bool
	Channels []string
}

// servicePage is a service's page: what the citizen reads before ordering.
func (s *Site) servicePage(w http.ResponseWriter, r *http.Request) {
	lang := webkit.Lang(r)
	ct := catalogTexts[lang]
	e, ok := s.listing.Find(s.o.Desk.Catalog(), r.PathValue("code"), r.PathValue("region"))
	if !ok {
		http.Error(w, webkit.Pick(lang, "Такой услуги в каталоге нет: выберите её в списке услуг.",
			"Каталогта мұндай қызмет жоқ: оны қызметтер тізімінен таңдаңыз."), http.StatusNotFound)
		return
	}
	entry := s.entry(e, lang)
	data := map[string]any{"C": ct, "E": entry, "PageTitle": entry.Name}
	if t := e.Title; t != nil {
		data["Why"] = s.listing.TitleOnlyWhy.In(lang)
		data["Source"] = strings.TrimSpace(t.Source.Title + ", " + t.Source.Ref)
		data["Document"] = t.Source.Document
		s.render(w, r, "service.html", http.StatusOK, nil, "", data)
		return
	}
	p := e.Passport
	var docs []docRow
	for _, d := range p.Documents {
		row := docRow{Name: d.Name.In(lang), Required: d.Required}
		for _, ch := range d.Channels {
			row.Channels = append(row.Channels, ct["ch_"+ch])
		}
		docs = append(docs, row)
	}
	var results []string
	for _, res := range p.Results {
		if res.Kind != "refusal" {
			results = append(results, res.Name.In(lang))
		}
	}
	data["Documents"], data["Results"] = docs, results
	data["Diagram"] = template.HTML(diagram.Render(p, lang)) //nolint:gosec // drawn by the suite from the passport, every text escaped
	data["Extension"] = diagram.Term(p.Extension.Max, lang)
	if a := p.AfterRefusal; a != nil {
		data["AfterRefusal"] = a.Text.In(lang)
	}
	s.render(w, r, "service.html", http.StatusOK, nil, "", data)
}
