package store

import (
	"fmt"
	"iter"
	"math/rand/v2"
	"time"

	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/population"
)

// ServiceCodes are the service passports a power of attorney may name (the seeds' services).
var ServiceCodes = []string{"guardianship-certificate", "disabled-children-home-education", "minors-property-certificate"}

var notaries = []string{"Бекова Жанна Темирхановна", "Ли Ирина Викторовна", "Омаров Руслан Кайратович", "Петренко Ольга Ивановна"}

// Generate makes the powers of attorney that match the ГБД ФЛ population of the same size and seed:
// about one adult in twenty authorises another, some expired and some revoked, plus the cast's three.
func Generate(persons int, seed uint64) iter.Seq[PowerOfAttorney] {
	return func(yield func(PowerOfAttorney) bool) {
		for _, p := range cast() {
			if !yield(p) {
				return
			}
		}
		rng := rand.New(rand.NewPCG(seed, 0xe415))
		prev := ""
		n := 0
		for p := range population.Generate(persons, seed) {
			if !p.GetLegalCapacity() || p.GetDeceased() {
				continue
			}
			if prev != "" && prev != p.GetIin() && rng.IntN(20) == 0 {
				n++
				issued := population.Today.AddDate(0, 0, -rng.IntN(3*365))
				poa := PowerOfAttorney{
					Number:   fmt.Sprintf("%d-ДОВ-%06d", issued.Year(), 1000+n),
					IssuedOn: issued, ValidUntil: issued.AddDate(1+rng.IntN(3), 0, 0),
					NotaryName: notaries[rng.IntN(len(notaries))], NotaryLicence: fmt.Sprintf("%08d", 1000000+rng.IntN(9000000)),
					PrincipalIIN: p.GetIin(), RepresentativeIIN: prev, Revoked: rng.IntN(30) == 0,
				}
				if rng.IntN(3) == 0 {
					poa.GeneralScope = true
				} else {
					poa.ServiceCodes = []string{ServiceCodes[rng.IntN(len(ServiceCodes))]}
				}
				if !yield(poa) {
					return
				}
			}
			prev = p.GetIin()
		}
	}
}

func cast() []PowerOfAttorney {
	asel, sergei := demo.People[0].IIN, demo.People[1].IIN
	d := func(s string) time.Time {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			panic(err) // the literals below are dates
		}
		return t
	}
	base := PowerOfAttorney{NotaryName: notaries[0], NotaryLicence: "14002233", PrincipalIIN: asel, RepresentativeIIN: sergei,
		ServiceCodes: []string{"guardianship-certificate"}}
	valid, expired, revoked := base, base, base
	valid.Number, valid.IssuedOn, valid.ValidUntil = demo.PowerOfAttorneyValid, d("2026-01-15"), d("2028-01-14")
	expired.Number, expired.IssuedOn, expired.ValidUntil = demo.PowerOfAttorneyExpired, d("2024-02-01"), d("2025-01-31")
	revoked.Number, revoked.IssuedOn, revoked.ValidUntil, revoked.Revoked = demo.PowerOfAttorneyRevoked, d("2026-02-01"), d("2028-01-31"), true
	return []PowerOfAttorney{valid, expired, revoked}
}
