package population_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/iin"
	"github.com/egov-suite/egov/internal/population"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
)

func TestPopulation(t *testing.T) {
	t.Parallel()
	const n = 20000
	persons := map[string]*gbdflv1.Person{}
	var links []population.Link
	var order []string
	for p, ls := range population.Generate(n, 7) {
		_, dup := persons[p.GetIin()]
		require.False(t, dup, "IINs are unique")
		persons[p.GetIin()] = p
		order = append(order, p.GetIin())
		links = append(links, ls...)
	}
	require.GreaterOrEqual(t, len(persons), n)
	require.Less(t, len(persons), n+10, "a household is never split, so a few more at most")
	require.NotContains(t, persons, demo.MissingIIN)
	for _, id := range []string{demo.People[0].IIN, demo.ChildIIN, demo.YoungChildIIN, demo.YoungestChildIIN, demo.WardIIN, demo.SpouseIIN} {
		require.Contains(t, persons, id, "the cast is part of every population")
	}

	ages := map[int]bool{}
	var deceased, incapable, wards int
	for _, p := range persons {
		n, err := iin.Parse(p.GetIin())
		require.NoError(t, err)
		birth, err := time.Parse(time.DateOnly, p.GetBirthDate())
		require.NoError(t, err)
		hint, ok := n.BirthDate()
		require.True(t, ok)
		require.Equal(t, birth, hint, "IIN digits agree with the birth date")
		wantSex := gbdflv1.Sex_SEX_MALE
		if n.Sex() == iin.SexFemale {
			wantSex = gbdflv1.Sex_SEX_FEMALE
		}
		require.Equal(t, wantSex, p.GetSex(), "IIN digits agree with the sex")
		require.NotEmpty(t, p.GetSurname())
		require.NotEmpty(t, p.GetName())
		require.NotEmpty(t, p.GetAddress().GetRegionCode())
		a := population.Today.Year() - birth.Year()
		if a < 18 {
			ages[a] = true
			require.False(t, p.GetLegalCapacity(), "minors have no full legal capacity")
		}
		if p.GetDeceased() {
			deceased++
			require.NotEmpty(t, p.GetDeathDate())
		}
		if a >= 18 && !p.GetLegalCapacity() {
			incapable++
		}
	}
	for a := 0; a < 18; a++ {
		require.True(t, ages[a] || ages[a+1], "children of (almost) every age: missing %d", a)
	}
	for _, l := range links {
		_, from := persons[l.From]
		_, to := persons[l.To]
		require.True(t, from && to, "links join persons of the population")
		if l.Relation == gbdflv1.Relation_RELATION_GUARDIAN {
			wards++
		}
	}
	require.Positive(t, deceased)
	require.Positive(t, incapable)
	require.Greater(t, wards, 1, "orphans under guardianship")

	// Deterministic: the same seed gives the same people in the same order.
	i := 0
	for p := range population.Generate(n, 7) {
		require.Equal(t, order[i], p.GetIin())
		if i++; i == 500 {
			break
		}
	}
}
