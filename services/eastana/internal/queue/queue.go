// Package queue holds the rules of the kindergarten waiting list (очередь детей дошкольного возраста для
// направления в детские дошкольные организации, ДДО) kept by ИС Е-Астана, the Astana akimat's «Электронные
// услуги» subsystem: who may be registered, how old a child must be for a group, which waiting child a
// freed place goes to, and how long a referral (направление в ДДО) stays valid. It does no I/O; the store
// applies these rules inside PostgreSQL transactions.
//
// The regulation (Astana akimat resolution No. 107-1014 of 23.07.2012) names the three results — the
// referral, the registration ticket (регистрационный талон, the intermediate result when no place is
// free) and the motivated refusal — and the month within which parents register a referral (App. 10). It
// is silent on the rest; each choice made here is a Decision, kept beside the policy that applies it.
package queue

import (
	"errors"
	"fmt"
	"time"
)

// Text is a text in Russian (the default) and Kazakh.
type Text struct {
	RU string `json:"ru"`
	KK string `json:"kk"`
}

// Kind is a child's right to a place: the general list, the primary right (первоочередное право) or the
// extraordinary right (внеочередное право).
type Kind string

// Kinds of right, in the order they are served.
const (
	KindExtraordinary Kind = "extraordinary"
	KindPrimary       Kind = "primary"
	KindGeneral       Kind = "general"
)

// Category is a priority category (льготная категория): who has it, which right it gives, and the act
// that says so.
type Category struct {
	Code   string `json:"code"`
	Kind   Kind   `json:"kind"`
	Label  Text   `json:"label"`
	Source string `json:"source"`
}

// Decision is a choice the regulation leaves open, written beside the data it governs.
type Decision struct {
	Topic    string `json:"topic"`
	Decision string `json:"decision"`
	Why      string `json:"why"`
}

// Policy is a region's settings of the waiting list.
type Policy struct {
	// ByDistrict keeps one list per district (район) of the city instead of one for the city.
	ByDistrict bool `json:"by_district"`
	// Categories are the priority categories applied; none means every child is on the general list.
	Categories []Category `json:"categories"`
	// GeneralPerPrimary is how many children of the general list are served after each child with the
	// primary right ("one to three"); zero serves the primary right strictly first.
	GeneralPerPrimary int `json:"general_per_primary"`
	// MaxAgeYears: a child is registered and offered a place only before this birthday.
	MaxAgeYears int `json:"max_age_years"`
	// ReferralMonths is how long a referral stays valid (App. 10: «в течение месяца»).
	ReferralMonths int `json:"referral_months"`
	// Decisions explain the settings the regulation does not give.
	Decisions []Decision `json:"decisions"`
}

// Passport2012 is the policy of the Astana regulation of 2012: one list for the city, no priority
// categories (the regulation names none), children under 7, a referral valid a month.
func Passport2012() Policy {
	return Policy{
		MaxAgeYears:    7,
		ReferralMonths: 1,
		Decisions:      commonDecisions(),
	}
}

// NationalRules is Passport2012 with the priority categories of the current national rules switched on,
// for a region that applies them.
func NationalRules() Policy {
	p := Passport2012()
	p.Categories = []Category{
		{Code: "orphan", Kind: KindExtraordinary, Source: nationalSource, Label: Text{
			RU: "Дети-сироты и дети, оставшиеся без попечения родителей",
			KK: "Жетім балалар және ата-анасының қамқорлығынсыз қалған балалар",
		}},
		{Code: "disabled_child", Kind: KindExtraordinary, Source: nationalSource, Label: Text{
			RU: "Дети с инвалидностью",
			KK: "Мүгедектігі бар балалар",
		}},
		{Code: "large_family", Kind: KindPrimary, Source: nationalSource, Label: Text{
			RU: "Дети из многодетных семей",
			KK: "Көп балалы отбасылардың балалары",
		}},
		{Code: "military_family", Kind: KindPrimary, Source: nationalSource, Label: Text{
			RU: "Дети военнослужащих",
			KK: "Әскери қызметшілердің балалары",
		}},
	}
	p.GeneralPerPrimary = 3
	p.Decisions = append(p.Decisions, Decision{
		Topic:    "priority categories",
		Decision: "extraordinary right served first; the primary right one child to three of the general list",
		Why: "the 2012 regulation names no categories; these follow the national rules of the service as the issue " +
			"states them, and the list of categories must be checked against the edition in force before a region switches them on",
	})
	return p
}

const nationalSource = "Правила оказания государственных услуг в сфере дошкольного образования (приказ МОН РК от 19.06.2020 № 254), " +
	"редакция подлежит сверке"

func commonDecisions() []Decision {
	return []Decision{
		{Topic: "queue number", Decision: "one counter per list, taken in the registering transaction: numbers are dense, in order of registration, never reused",
			Why: "the regulation orders the list by time of registration and gives no numbering rule"},
		{Topic: "one child once", Decision: "a child is in at most one list at a time (the city's, or one district's), while waiting or holding a referral",
			Why: "«one child in the list once»; two districts' lists would give one child two places"},
		{Topic: "age of a place", Decision: "a place of a group for ages [from, to) goes to a child whose full years on the day of the offer fall in it",
			Why: "the regulation gives only «до 7 лет»"},
		{Topic: "declined or expired referral", Decision: "the child leaves the list (recorded with the reason); the place passes to the next child; the parent may register again at the end of the list",
			Why: "App. 10 gives the month but not what follows; keeping the child first would offer the same place again"},
		{Topic: "child turned 7 while waiting", Decision: "leaves the list (removed, recorded) on the first sweep after the birthday",
			Why: "the service is for children «до 7 лет»; a child who can no longer be offered a place would only stand in front of the others"},
		{Topic: "applicant", Decision: "the applicant is the child's parent or guardian in ГБД ФЛ",
			Why: "the service is for «моей (-му) дочери (сыну)» (App. 9); a legal representative is a guardian in the register"},
	}
}

// Validate reports a policy that cannot be applied.
func (p Policy) Validate() error {
	if p.MaxAgeYears <= 0 || p.ReferralMonths <= 0 || p.GeneralPerPrimary < 0 {
		return errors.New("queue: policy needs a maximum age and a referral validity")
	}
	seen := map[string]bool{}
	for _, c := range p.Categories {
		if c.Code == "" || c.Source == "" || c.Label.RU == "" || c.Label.KK == "" {
			return fmt.Errorf("queue: category %q needs a code, a source and labels in both languages", c.Code)
		}
		if c.Kind != KindExtraordinary && c.Kind != KindPrimary {
			return fmt.Errorf("queue: category %q: kind %q is neither extraordinary nor primary", c.Code, c.Kind)
		}
		if seen[c.Code] {
			return fmt.Errorf("queue: category %q twice", c.Code)
		}
		seen[c.Code] = true
	}
	return nil
}

// Category returns the category with code.
func (p Policy) Category(code string) (Category, bool) {
	for _, c := range p.Categories {
		if c.Code == code {
			return c, true
		}
	}
	return Category{}, false
}

// ErrNoDistrict is a registration without a district where the lists are kept by district.
var ErrNoDistrict = &Refusal{Code: "no_district", Text: Text{
	RU: "Очередь ведётся по районам города: укажите район.",
	KK: "Кезек қала аудандары бойынша жүргізіледі: ауданды көрсетіңіз.",
}}

// ListID names the waiting list of a city, or of its district when the policy keeps lists by district
// ("<city>/<district>"); a district given where the city keeps one list is ignored.
func (p Policy) ListID(city, district string) (string, error) {
	if city == "" {
		return "", errors.New("queue: a list needs its city")
	}
	if !p.ByDistrict {
		return city, nil
	}
	if district == "" {
		return "", ErrNoDistrict
	}
	return city + "/" + district, nil
}

// Refusal is a motivated refusal (мотивированный ответ об отказе): its code and its text for the applicant.
type Refusal struct {
	Code string
	Text Text
}

func (r *Refusal) Error() string { return "queue: refused: " + r.Code + ": " + r.Text.RU }

// Refusals. The regulation gives no texts of its own; each says what is wrong and what to do.
var (
	RefuseChildNotFound = &Refusal{Code: "child_not_found", Text: Text{
		RU: "Ребёнок с указанным ИИН не найден в государственной базе данных «Физические лица». Проверьте ИИН ребёнка.",
		KK: "Көрсетілген ЖСН бойынша бала «Жеке тұлғалар» мемлекеттік деректер қорында табылмады. Баланың ЖСН-ін тексеріңіз.",
	}}
	RefuseChildDeceased = &Refusal{Code: "child_deceased", Text: Text{
		RU: "По данным государственной базы данных «Физические лица» ребёнок умер; регистрация невозможна.",
		KK: "«Жеке тұлғалар» мемлекеттік деректер қорының деректері бойынша бала қайтыс болған; тіркеу мүмкін емес.",
	}}
	RefuseTooOld = &Refusal{Code: "child_too_old", Text: Text{
		RU: "Услуга оказывается для детей до 7 лет; ребёнку на дату обращения исполнилось 7 лет.",
		KK: "Қызмет 7 жасқа дейінгі балаларға көрсетіледі; өтініш берген күні балаға 7 жас толған.",
	}}
	RefuseNotBorn = &Refusal{Code: "child_not_born", Text: Text{
		RU: "Дата рождения ребёнка позже даты обращения; проверьте данные ребёнка.",
		KK: "Баланың туған күні өтініш берген күннен кейін; баланың деректерін тексеріңіз.",
	}}
	RefuseNotParent = &Refusal{Code: "applicant_not_parent", Text: Text{
		RU: "Заявитель не является родителем или законным представителем ребёнка по данным государственной базы данных «Физические лица».",
		KK: "«Жеке тұлғалар» мемлекеттік деректер қорының деректері бойынша өтініш беруші баланың ата-анасы немесе заңды өкілі емес.",
	}}
	RefuseAlreadyListed = &Refusal{Code: "already_listed", Text: Text{
		RU: "Ребёнок уже стоит в очереди или имеет действующее направление в ДДО; повторная постановка не допускается.",
		KK: "Бала кезекте тұр немесе МЖҰ-ға жарамды жолдамасы бар; қайта тіркеуге жол берілмейді.",
	}}
	RefuseUnknownCategory = &Refusal{Code: "unknown_category", Text: Text{
		RU: "Указанная льготная категория не применяется в этой очереди.",
		KK: "Көрсетілген жеңілдікті санат бұл кезекте қолданылмайды.",
	}}
)

// Child is what ГБД ФЛ says of the child.
type Child struct {
	IIN       string
	BirthDate time.Time
	Deceased  bool
	// Representatives are the IINs of the child's parents and guardians in the register.
	Representatives []string
}

// CheckRegistration applies the regulation's conditions to a registration on day: the child found in ГБД
// ФЛ (nil when not), alive, born and under the age limit, the applicant among its representatives, and the
// category (empty for the general list) one the policy applies.
func (p Policy) CheckRegistration(child *Child, applicantIIN, category string, day time.Time) error {
	if child == nil {
		return RefuseChildNotFound
	}
	if child.Deceased {
		return RefuseChildDeceased
	}
	if child.BirthDate.After(day) {
		return RefuseNotBorn
	}
	if AgeYears(child.BirthDate, day) >= p.MaxAgeYears {
		return RefuseTooOld
	}
	parent := false
	for _, r := range child.Representatives {
		parent = parent || r == applicantIIN
	}
	if !parent {
		return RefuseNotParent
	}
	if category != "" {
		if _, ok := p.Category(category); !ok {
			return RefuseUnknownCategory
		}
	}
	return nil
}

// KindOf is the right a category gives (the general list for none).
func (p Policy) KindOf(category string) Kind {
	if c, ok := p.Category(category); ok {
		return c.Kind
	}
	return KindGeneral
}

// AgeYears is the number of full years from birth to day.
func AgeYears(birth, day time.Time) int {
	y := day.Year() - birth.Year()
	if day.Month() < birth.Month() || day.Month() == birth.Month() && day.Day() < birth.Day() {
		y--
	}
	return y
}

// BornBetween is the range of birth dates (after, through] of a child aged [fromYears, toYears) on day.
func BornBetween(fromYears, toYears int, day time.Time) (after, through time.Time) {
	d := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	return d.AddDate(-toYears, 0, 0), d.AddDate(-fromYears, 0, 0)
}

// ReferralExpiry is the end of a referral's validity issued at.
func (p Policy) ReferralExpiry(at time.Time) time.Time { return at.AddDate(0, p.ReferralMonths, 0) }

// Turn is the state of the one-to-N alternation of a list: how many general children were served since
// the last child with the primary right.
type Turn struct {
	GeneralSincePrimary int
}

// Heads are the first waiting child (by queue number) of each kind that fits a place; nil when none.
type Heads struct {
	Extraordinary, Primary, General *int64
}

// Pick chooses which head gets the place and returns the turn after it: the extraordinary right first;
// then the primary right whenever GeneralPerPrimary general children were served since the last one, or
// when no general child waits; else the general list. ok is false when no child fits.
func (p Policy) Pick(h Heads, t Turn) (id int64, kind Kind, next Turn, ok bool) {
	switch {
	case h.Extraordinary != nil:
		return *h.Extraordinary, KindExtraordinary, t, true
	case h.Primary != nil && (h.General == nil || t.GeneralSincePrimary >= p.GeneralPerPrimary):
		return *h.Primary, KindPrimary, Turn{}, true
	case h.General != nil:
		if h.Primary != nil {
			t.GeneralSincePrimary++
		}
		return *h.General, KindGeneral, t, true
	}
	return 0, "", t, false
}
