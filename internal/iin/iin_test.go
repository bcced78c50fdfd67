package iin_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/iin"
)

// digits turns an 11-digit string into the array CheckDigit takes.
func digits(t *testing.T, s string) [11]int {
	t.Helper()
	require.Len(t, s, 11)
	var d [11]int
	for i := range d {
		d[i] = int(s[i] - '0')
	}
	return d
}

func TestCheckDigit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		prefix string
		want   int
		ok     bool
	}{
		// First pass: 1*9+2*0+3*0+4*1+5*0+6*1+7*3+8*0+9*0+10*1+11*2 = 72; 72 mod 11 = 6.
		{name: "ok/first pass", prefix: "90010130012", want: 6, ok: true},
		// First pass: 1*0+2*0+3*0+4*0+5*0+6*0+7*0+8*0+9*0+10*1+11*0 = 10 → second pass:
		// 10th weight is 1 → 1 mod 11 = 1.
		{name: "ok/second pass", prefix: "00000000010", want: 1, ok: true},
		// First pass: a 1 at position 11 (weight 11) → 11 mod 11 = 0.
		{name: "ok/zero", prefix: "00000000001", want: 0, ok: true},
		// First pass: a 1 at position 8 (weight 8) and at position 2 (weight 2) → 10; second pass:
		// weights 10 and 4 → 14 mod 11 = 3.
		{name: "ok/second pass nonzero", prefix: "01000001000", want: 3, ok: true},
		// Both passes give 10: a person born 1 Jan 1990 can never hold serial 5988.
		{name: "fail/never issued", prefix: "90010135988", want: 0, ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := iin.CheckDigit(digits(t, tt.prefix))
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestNeverIssued finds prefixes whose two passes both give 10 and checks that no check digit makes them
// valid: the "second pass gives 10" case of the algorithm.
func TestNeverIssued(t *testing.T) {
	t.Parallel()
	w1 := [11]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	w2 := [11]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2}
	rng := rand.New(rand.NewPCG(1, 2))
	found := 0
	for range 200000 {
		var d [11]int
		s1, s2 := 0, 0
		for i := range d {
			d[i] = rng.IntN(10)
			s1 += d[i] * w1[i]
			s2 += d[i] * w2[i]
		}
		if s1%11 != 10 || s2%11 != 10 {
			continue
		}
		found++
		_, ok := iin.CheckDigit(d)
		require.False(t, ok, "prefix %v", d)
		b := make([]byte, 12)
		for i, v := range d {
			b[i] = byte('0' + v)
		}
		for k := byte('0'); k <= '9'; k++ {
			b[11] = k
			_, err := iin.Parse(string(b))
			require.ErrorIs(t, err, iin.ErrNeverIssued, "%s", b)
		}
	}
	require.Greater(t, found, 100, "the search must meet the never-issued case")
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		err  error
	}{
		{name: "ok/valid", in: "900101300126"},
		{name: "ok/second pass", in: "000000000101"},
		{name: "fail/check digit", in: "900101300127", err: iin.ErrCheckDigit},
		{name: "fail/11 digits", in: "90010130012", err: iin.ErrLength},
		{name: "fail/13 digits", in: "9001013001260", err: iin.ErrLength},
		{name: "fail/empty", in: "", err: iin.ErrLength},
		{name: "fail/latin letters", in: "90010130012A", err: iin.ErrNotDigits},
		{name: "fail/sql", in: "1' OR '1'='1", err: iin.ErrNotDigits},
		{name: "fail/cyrillic", in: "ИИН900101300", err: iin.ErrLength},
		{name: "fail/spaces", in: "900101 30012", err: iin.ErrNotDigits},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := iin.Parse(tt.in)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				require.Empty(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.in, got.String())
		})
	}
}

func TestHints(t *testing.T) {
	t.Parallel()
	n := iin.IIN("900101300126")
	d, ok := n.BirthDate()
	require.True(t, ok)
	require.Equal(t, time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), d)
	require.Equal(t, iin.SexMale, n.Sex())

	girl := iin.IIN("150229600000") // 2015 is not a leap year: no such date, only a hint
	_, ok = girl.BirthDate()
	require.False(t, ok)
	require.Equal(t, iin.SexFemale, girl.Sex())

	require.Equal(t, iin.SexUnknown, iin.IIN("900101900000").Sex())
	require.Equal(t, "90********26", n.Masked())
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(42, 7))
	start := time.Date(1930, 1, 1, 0, 0, 0, 0, time.UTC)
	seen := make(map[iin.IIN]bool)
	for i := range 10000 {
		birth := start.AddDate(0, 0, rng.IntN(365*95))
		sex := iin.SexMale
		if i%2 == 1 {
			sex = iin.SexFemale
		}
		n, err := iin.Generate(rng, birth, sex)
		require.NoError(t, err)
		_, err = iin.Parse(n.String())
		require.NoError(t, err, "generated %s", n)
		got, ok := n.BirthDate()
		require.True(t, ok)
		require.Equal(t, birth, got)
		require.Equal(t, sex, n.Sex())
		seen[n] = true
	}
	require.Greater(t, len(seen), 9900, "serials must vary")

	_, err := iin.Generate(rng, time.Date(1799, 1, 1, 0, 0, 0, 0, time.UTC), iin.SexMale)
	require.Error(t, err)
	_, err = iin.Generate(rng, start, iin.SexUnknown)
	require.Error(t, err)
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"900101300126", "", "12345678901", "ЖЖЖЖ", "000000000101"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := iin.Parse(s)
		if err != nil {
			return
		}
		require.Len(t, n.String(), 12)
		require.True(t, iin.Valid(n.String()))
	})
}
