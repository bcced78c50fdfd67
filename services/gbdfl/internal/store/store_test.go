package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/pgtest"
	"github.com/egov-suite/egov/internal/population"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	"github.com/egov-suite/egov/services/gbdfl/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestLoadAndLookUp(t *testing.T) {
	t.Parallel()
	pool, err := pgdb.Open(t.Context(), pgtest.URL(t), "gbdfl", 4)
	require.NoError(t, err)
	defer pool.Close()
	_, err = pgdb.Migrate(t.Context(), pool, "gbdfl", store.Migrations())
	require.NoError(t, err)
	st := store.New(pool)
	persons, links, err := st.Load(t.Context(), population.Generate(3000, 3))
	require.NoError(t, err)
	require.GreaterOrEqual(t, persons, int64(3000))
	require.Positive(t, links)
	n, err := st.Count(t.Context())
	require.NoError(t, err)
	require.Equal(t, persons, n)

	asel, err := st.Person(t.Context(), demo.People[0].IIN)
	require.NoError(t, err)
	require.Equal(t, "Ахметова", asel.GetSurname())
	require.Equal(t, "1988-05-12", asel.GetBirthDate())
	rel := map[gbdflv1.Relation][]string{}
	for _, l := range asel.GetFamily() {
		rel[l.GetRelation()] = append(rel[l.GetRelation()], l.GetIin())
	}
	require.ElementsMatch(t, []string{demo.ChildIIN, demo.YoungChildIIN, demo.YoungestChildIIN}, rel[gbdflv1.Relation_RELATION_CHILD])
	require.Equal(t, []string{demo.WardIIN}, rel[gbdflv1.Relation_RELATION_WARD])
	require.Equal(t, []string{demo.SpouseIIN}, rel[gbdflv1.Relation_RELATION_SPOUSE])

	kids, err := st.Children(t.Context(), demo.People[0].IIN)
	require.NoError(t, err)
	require.Len(t, kids, 4)
	require.Equal(t, demo.WardIIN, kids[0].GetIin(), "oldest first")
	require.Equal(t, []string{demo.YoungChildIIN, demo.YoungestChildIIN}, []string{kids[2].GetIin(), kids[3].GetIin()},
		"the two under 7 (the kindergarten waiting list's children) last")

	_, err = st.Person(t.Context(), demo.MissingIIN)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = st.Children(t.Context(), demo.MissingIIN)
	require.ErrorIs(t, err, store.ErrNotFound)

	// Loading again replaces the population.
	_, _, err = st.Load(t.Context(), population.Generate(100, 4))
	require.NoError(t, err)
	n, err = st.Count(t.Context())
	require.NoError(t, err)
	require.Less(t, n, int64(200))
}
