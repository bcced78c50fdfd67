// Package population makes the synthetic population of the registries (ГБД ФЛ, and ЕНИС from it): deterministic for a seed, with valid
// IINs whose digits agree with birth date and sex, Kazakh and Russian names in Cyrillic, households with
// children of every age, adult children, deceased parents, orphans under guardianship, and persons
// declared incapable. The dev mode's cast (internal/demo) is always part of it.
package population

import (
	"fmt"
	"iter"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/iin"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
)

// Today is the date the population is made for (ages, deaths, document validity); fixed so that a seed
// always gives the same population.
var Today = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Link is a family link to store: From is related to To as Relation (e.g. From's PARENT is To).
type Link struct {
	From, To string
	Relation gbdflv1.Relation
}

// Generate yields about n persons (a household is never split) and their links, for seed. The cast of
// the dev mode comes first.
func Generate(n int, seed uint64) iter.Seq2[*gbdflv1.Person, []Link] {
	return func(yield func(*gbdflv1.Person, []Link) bool) {
		g := &generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), used: map[string]bool{demo.MissingIIN: true}}
		count := 0
		for _, p := range g.cast() {
			g.used[p.person.GetIin()] = true
			count++
			if !yield(p.person, p.links) {
				return
			}
		}
		var lastAdult *gbdflv1.Person
		for count < n {
			for _, p := range g.household(lastAdult) {
				if p.person.GetLegalCapacity() && !p.person.GetDeceased() {
					lastAdult = p.person
				}
				count++
				if !yield(p.person, p.links) {
					return
				}
			}
		}
	}
}

type member struct {
	person *gbdflv1.Person
	links  []Link
}

type generator struct {
	rng  *rand.Rand
	used map[string]bool
	doc  int
}

func (g *generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

func (g *generator) region() region {
	total := 0
	for _, r := range regions {
		total += r.weight
	}
	x := g.rng.IntN(total)
	for _, r := range regions {
		if x < r.weight {
			return r
		}
		x -= r.weight
	}
	return regions[0]
}

func (g *generator) iin(birth time.Time, sex iin.Sex) string {
	for {
		n, err := iin.Generate(g.rng, birth, sex)
		if err != nil {
			panic(err) // birth years here are 1930–2026 and sex is set: Generate cannot fail
		}
		if !g.used[n.String()] {
			g.used[n.String()] = true
			return n.String()
		}
	}
}

// surname gives the gendered form of a stem.
func surname(stem string, female bool) string {
	switch {
	case strings.HasSuffix(stem, "ов"), strings.HasSuffix(stem, "ев"), strings.HasSuffix(stem, "ин"):
		if female {
			return stem + "а"
		}
		return stem
	case strings.HasSuffix(stem, "иев"):
		return stem
	}
	if female {
		return stem + "ова"
	}
	return stem + "ов"
}

// patronymic forms a Russian-style patronymic from the father's name, as ID cards write it.
func patronymic(father string, female bool) string {
	switch {
	case strings.HasSuffix(father, "й"):
		root := strings.TrimSuffix(father, "й")
		if female {
			return root + "евна"
		}
		return root + "евич"
	case strings.HasSuffix(father, "а"), strings.HasSuffix(father, "я"):
		root := strings.TrimSuffix(strings.TrimSuffix(father, "а"), "я")
		if female {
			return root + "ична"
		}
		return root + "ич"
	}
	if female {
		return father + "овна"
	}
	return father + "ович"
}

type ethnicity struct {
	male, female, surnames []string
	nationality            [2]string
}

var (
	kazakh  = ethnicity{kazakhMale, kazakhFemale, kazakhSurname, [2]string{"казах", "казашка"}}
	russian = ethnicity{russianMale, russianFemale, russianSurname, [2]string{"русский", "русская"}}
)

func (g *generator) person(e ethnicity, stem, father string, sex iin.Sex, birth time.Time, r region) *gbdflv1.Person {
	female := sex == iin.SexFemale
	given := g.pick(e.male)
	nat := e.nationality[0]
	pbSex := gbdflv1.Sex_SEX_MALE
	if female {
		given, nat, pbSex = g.pick(e.female), e.nationality[1], gbdflv1.Sex_SEX_FEMALE
	}
	p := &gbdflv1.Person{
		Iin: g.iin(birth, sex), Surname: surname(stem, female), Name: given, Sex: pbSex,
		BirthDate: birth.Format(time.DateOnly), BirthPlace: r.city + ", " + r.name, Citizenship: "KZ", Nationality: nat,
		Address: &gbdflv1.Address{RegionCode: r.code, DistrictCode: g.pick(r.districts),
			Line: fmt.Sprintf("%s, %s, д. %d, кв. %d", r.city, g.pick(streets), 1+g.rng.IntN(120), 1+g.rng.IntN(200))},
		LegalCapacity: age(birth) >= 18,
	}
	if father != "" {
		p.Patronymic = patronymic(father, female)
	}
	g.document(p, birth)
	return p
}

func (g *generator) document(p *gbdflv1.Person, birth time.Time) {
	g.doc++
	if age(birth) < 16 {
		p.Document = &gbdflv1.IdentityDocument{Kind: "BIRTH_CERTIFICATE", Number: fmt.Sprintf("I-%07d", g.doc),
			IssuedOn: birth.AddDate(0, 0, 10).Format(time.DateOnly), Issuer: "РАГС"}
		return
	}
	issued := Today.AddDate(0, 0, -g.rng.IntN(3650))
	if min16 := birth.AddDate(16, 0, 0); issued.Before(min16) {
		issued = min16
	}
	p.Document = &gbdflv1.IdentityDocument{Kind: "ID_CARD", Number: fmt.Sprintf("0%08d", g.doc),
		IssuedOn: issued.Format(time.DateOnly), ValidUntil: issued.AddDate(10, 0, 0).Format(time.DateOnly), Issuer: "МВД РК"}
}

func age(birth time.Time) int {
	a := Today.Year() - birth.Year()
	if Today.YearDay() < birth.YearDay() {
		a--
	}
	return a
}

func (g *generator) date(fromYear, toYear int) time.Time {
	fromYear = min(fromYear, toYear)
	start := time.Date(fromYear, 1, 1, 0, 0, 0, 0, time.UTC)
	days := int(time.Date(toYear, 12, 31, 0, 0, 0, 0, time.UTC).Sub(start).Hours() / 24)
	d := start.AddDate(0, 0, g.rng.IntN(days+1))
	if d.After(Today) {
		d = Today.AddDate(0, 0, -1-g.rng.IntN(30))
	}
	return d
}

// household makes a family: parents (sometimes one), children of any age, sometimes deceased parents;
// when both parents are dead the minors are placed under the guardianship of guardian (an adult of the
// previous household).
func (g *generator) household(guardian *gbdflv1.Person) []member {
	r := g.region()
	e := kazakh
	if g.rng.IntN(10) < 3 {
		e = russian
	}
	stem := g.pick(e.surnames)
	fatherBirth := g.date(1950, 2002)
	motherBirth := fatherBirth.AddDate(g.rng.IntN(9)-2, g.rng.IntN(12), g.rng.IntN(28))
	if motherBirth.After(Today.AddDate(-18, 0, 0)) {
		motherBirth = Today.AddDate(-19, 0, 0)
	}
	var out []member
	var father, mother *gbdflv1.Person
	kind := g.rng.IntN(100)
	if kind >= 12 { // 12 % single mothers
		father = g.person(e, stem, g.pick(e.male), iin.SexMale, fatherBirth, r)
		out = append(out, member{person: father})
	}
	if kind < 12 || kind >= 17 { // 5 % single fathers
		mother = g.person(e, stem, g.pick(e.male), iin.SexFemale, motherBirth, r)
		out = append(out, member{person: mother})
	}
	if father != nil && mother != nil {
		out[0].links = append(out[0].links, Link{From: father.GetIin(), To: mother.GetIin(), Relation: gbdflv1.Relation_RELATION_SPOUSE})
		out[1].links = append(out[1].links, Link{From: mother.GetIin(), To: father.GetIin(), Relation: gbdflv1.Relation_RELATION_SPOUSE})
	}
	youngest := motherBirth
	if mother == nil {
		youngest = fatherBirth
	}
	nchildren := []int{0, 1, 1, 2, 2, 2, 3, 3, 4, 5}[g.rng.IntN(10)]
	fatherName := ""
	if father != nil {
		fatherName = father.GetName()
	} else {
		fatherName = g.pick(e.male)
	}
	orphaned := g.rng.IntN(100) < 2 && guardian != nil
	for range nchildren {
		from := youngest.Year() + 18
		if from > Today.Year() {
			break
		}
		birth := g.date(from, min(youngest.Year()+44, Today.Year()))
		sex := iin.SexMale
		if g.rng.IntN(2) == 1 {
			sex = iin.SexFemale
		}
		child := g.person(e, stem, fatherName, sex, birth, r)
		m := member{person: child}
		for i, parent := range []*gbdflv1.Person{father, mother} {
			if parent == nil {
				continue
			}
			m.links = append(m.links, Link{From: child.GetIin(), To: parent.GetIin(), Relation: gbdflv1.Relation_RELATION_PARENT})
			idx := 0
			if i == 1 && father != nil {
				idx = 1
			}
			out[idx].links = append(out[idx].links, Link{From: parent.GetIin(), To: child.GetIin(), Relation: gbdflv1.Relation_RELATION_CHILD})
		}
		if orphaned && !child.GetLegalCapacity() {
			m.links = append(m.links, Link{From: child.GetIin(), To: guardian.GetIin(), Relation: gbdflv1.Relation_RELATION_GUARDIAN})
			// The ward link is stored on the guardian's side too.
			m.links = append(m.links, Link{From: guardian.GetIin(), To: child.GetIin(), Relation: gbdflv1.Relation_RELATION_WARD})
		}
		out = append(out, m)
	}
	for _, parent := range []*gbdflv1.Person{father, mother} {
		if parent == nil {
			continue
		}
		if orphaned || g.rng.IntN(100) < 3 {
			parent.Deceased = true
			parent.DeathDate = g.date(max(2010, youngest.Year()+20), Today.Year()).Format(time.DateOnly)
		}
		if !parent.GetDeceased() && g.rng.IntN(200) == 0 {
			parent.LegalCapacity = false // declared incapable by a court
		}
	}
	return out
}

// cast is the dev mode's people with their relatives.
func (g *generator) cast() []member {
	pav := regions[0]
	mk := func(iinStr, surname, name, patronymic string, sex gbdflv1.Sex, birth string) *gbdflv1.Person {
		b, err := time.Parse(time.DateOnly, birth)
		if err != nil {
			panic(err)
		}
		p := &gbdflv1.Person{Iin: iinStr, Surname: surname, Name: name, Patronymic: patronymic, Sex: sex, BirthDate: birth,
			BirthPlace: pav.city + ", " + pav.name, Citizenship: "KZ", Nationality: "казашка",
			Address:       &gbdflv1.Address{RegionCode: pav.code, DistrictCode: "5510", Line: "г. Павлодар, ул. Торайгырова, д. 64, кв. 12"},
			LegalCapacity: age(b) >= 18}
		if sex == gbdflv1.Sex_SEX_MALE {
			p.Nationality = "казах"
		}
		g.document(p, b)
		return p
	}
	f, m := gbdflv1.Sex_SEX_FEMALE, gbdflv1.Sex_SEX_MALE
	asel := mk("880512400011", "Ахметова", "Асель", "Маратовна", f, "1988-05-12")
	nurlan := mk(demo.SpouseIIN, "Ахметов", "Нурлан", "Серикович", m, "1986-02-15")
	alikhan := mk(demo.ChildIIN, "Ахметов", "Алихан", "Нурланович", m, "2015-03-10")
	dana := mk(demo.WardIIN, "Сапарова", "Дана", "Ержановна", f, "2012-09-21")
	aylin := mk(demo.YoungChildIIN, "Ахметова", "Айлин", "Нурлановна", f, "2023-06-14")
	daniyar := mk(demo.YoungestChildIIN, "Ахметов", "Данияр", "Нурланович", m, "2025-02-20")
	ivanov := mk("841103300017", "Иванов", "Сергей", "Петрович", m, "1984-11-03")
	ivanov.Nationality = "русский"
	out := []member{
		{person: asel, links: []Link{
			{From: asel.GetIin(), To: nurlan.GetIin(), Relation: gbdflv1.Relation_RELATION_SPOUSE},
			{From: asel.GetIin(), To: alikhan.GetIin(), Relation: gbdflv1.Relation_RELATION_CHILD},
			{From: asel.GetIin(), To: aylin.GetIin(), Relation: gbdflv1.Relation_RELATION_CHILD},
			{From: asel.GetIin(), To: daniyar.GetIin(), Relation: gbdflv1.Relation_RELATION_CHILD},
			{From: asel.GetIin(), To: dana.GetIin(), Relation: gbdflv1.Relation_RELATION_WARD}}},
		{person: nurlan, links: []Link{
			{From: nurlan.GetIin(), To: asel.GetIin(), Relation: gbdflv1.Relation_RELATION_SPOUSE},
			{From: nurlan.GetIin(), To: alikhan.GetIin(), Relation: gbdflv1.Relation_RELATION_CHILD},
			{From: nurlan.GetIin(), To: aylin.GetIin(), Relation: gbdflv1.Relation_RELATION_CHILD},
			{From: nurlan.GetIin(), To: daniyar.GetIin(), Relation: gbdflv1.Relation_RELATION_CHILD}}},
		{person: alikhan, links: []Link{
			{From: alikhan.GetIin(), To: asel.GetIin(), Relation: gbdflv1.Relation_RELATION_PARENT},
			{From: alikhan.GetIin(), To: nurlan.GetIin(), Relation: gbdflv1.Relation_RELATION_PARENT}}},
		{person: aylin, links: []Link{
			{From: aylin.GetIin(), To: asel.GetIin(), Relation: gbdflv1.Relation_RELATION_PARENT},
			{From: aylin.GetIin(), To: nurlan.GetIin(), Relation: gbdflv1.Relation_RELATION_PARENT}}},
		{person: daniyar, links: []Link{
			{From: daniyar.GetIin(), To: asel.GetIin(), Relation: gbdflv1.Relation_RELATION_PARENT},
			{From: daniyar.GetIin(), To: nurlan.GetIin(), Relation: gbdflv1.Relation_RELATION_PARENT}}},
		{person: dana, links: []Link{{From: dana.GetIin(), To: asel.GetIin(), Relation: gbdflv1.Relation_RELATION_GUARDIAN}}},
		{person: ivanov},
	}
	for _, p := range demo.People[2:] {
		b, _ := iin.IIN(p.IIN).BirthDate()
		sex := m
		if iin.IIN(p.IIN).Sex() == iin.SexFemale {
			sex = f
		}
		out = append(out, member{person: mk(p.IIN, p.Surname, p.GivenName, p.Patronymic, sex, b.Format(time.DateOnly))})
	}
	return out
}
