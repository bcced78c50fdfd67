// Package iin validates, decodes and generates ИИН (individual identification numbers) and БИН (business
// identification numbers) of the Republic of Kazakhstan.
//
// Layout (Government Decree № 406 of 22.05.2007): YYMMDD, a century/sex digit (1–6), a four-digit serial
// and a check digit. The check digit is a two-pass weighted sum modulo 11; when the second pass also gives
// 10 the number is never issued. Since 2013 the digits need not agree with the person's birth date, so the
// date and sex decoded here are hints, never grounds to reject a number.
package iin

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Len is the number of digits of an IIN or a BIN.
const Len = 12

// Errors returned by Parse. Each names one defect, so a caller can tell the citizen exactly what is wrong.
var (
	ErrLength     = errors.New("iin: must be exactly 12 digits")
	ErrNotDigits  = errors.New("iin: must contain digits only")
	ErrCheckDigit = errors.New("iin: check digit does not match")
	// ErrNeverIssued: the second pass of the check-digit algorithm gives 10, so no number with these
	// first eleven digits is ever issued.
	ErrNeverIssued = errors.New("iin: first eleven digits admit no check digit; never issued")
)

var (
	weights1 = [11]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	weights2 = [11]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2}
)

// IIN is a validated 12-digit identification number. The zero value is not valid.
type IIN string

// Sex is the holder's sex as encoded in the seventh digit.
type Sex int

// Sex values.
const (
	SexUnknown Sex = iota
	SexMale
	SexFemale
)

func (s Sex) String() string {
	switch s {
	case SexMale:
		return "male"
	case SexFemale:
		return "female"
	default:
		return "unknown"
	}
}

// CheckDigit computes the check digit of the first eleven digits. ok is false when the number can never
// be issued (both passes give 10).
func CheckDigit(digits [11]int) (digit int, ok bool) {
	k := weighted(digits, weights1)
	if k == 10 {
		k = weighted(digits, weights2)
	}
	if k == 10 {
		return 0, false
	}
	return k, true
}

func weighted(d [11]int, w [11]int) int {
	sum := 0
	for i := range d {
		sum += d[i] * w[i]
	}
	return sum % 11
}

// Parse validates s as an IIN (or BIN: the check is the same) and returns it.
func Parse(s string) (IIN, error) {
	if len(s) != Len {
		for _, r := range s {
			if r < '0' || r > '9' {
				return "", fmt.Errorf("%w (got %d characters, some not digits)", ErrLength, len([]rune(s)))
			}
		}
		return "", fmt.Errorf("%w (got %d)", ErrLength, len(s))
	}
	var d [11]int
	for i := 0; i < Len; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return "", fmt.Errorf("%w (position %d)", ErrNotDigits, i+1)
		}
		if i < 11 {
			d[i] = int(c - '0')
		}
	}
	k, ok := CheckDigit(d)
	if !ok {
		return "", ErrNeverIssued
	}
	if k != int(s[11]-'0') {
		return "", ErrCheckDigit
	}
	return IIN(s), nil
}

// Valid reports whether s is a valid IIN or BIN.
func Valid(s string) bool {
	_, err := Parse(s)
	return err == nil
}

// String returns the twelve digits.
func (n IIN) String() string { return string(n) }

// Masked returns the number with its middle hidden, for logs and screens: "90********23".
func (n IIN) Masked() string { return Mask(string(n)) }

// Mask hides the middle eight digits of a 12-character string; other strings are returned unchanged.
func Mask(s string) string {
	if len(s) != Len {
		return s
	}
	return s[:2] + "********" + s[10:]
}

// BirthDate decodes the birth date hinted by the first seven digits. ok is false when the digits do not
// form a date (legal since 2013) or the seventh digit is not a century code.
func (n IIN) BirthDate() (date time.Time, ok bool) {
	if len(n) != Len {
		return time.Time{}, false
	}
	var century int
	switch n[6] {
	case '1', '2':
		century = 1800
	case '3', '4':
		century = 1900
	case '5', '6':
		century = 2000
	default:
		return time.Time{}, false
	}
	yy := int(n[0]-'0')*10 + int(n[1]-'0')
	mm := int(n[2]-'0')*10 + int(n[3]-'0')
	dd := int(n[4]-'0')*10 + int(n[5]-'0')
	t := time.Date(century+yy, time.Month(mm), dd, 0, 0, 0, 0, time.UTC)
	if t.Month() != time.Month(mm) || t.Day() != dd || mm == 0 || dd == 0 {
		return time.Time{}, false
	}
	return t, true
}

// Sex decodes the sex hinted by the seventh digit: odd is male, even is female.
func (n IIN) Sex() Sex {
	if len(n) != Len || n[6] < '1' || n[6] > '6' {
		return SexUnknown
	}
	if (n[6]-'0')%2 == 1 {
		return SexMale
	}
	return SexFemale
}

// Generate makes a valid IIN for a person born on birth with the given sex, drawing the serial from rng.
// Serials whose first eleven digits admit no check digit are skipped, as the registry does.
func Generate(rng *rand.Rand, birth time.Time, sex Sex) (IIN, error) {
	y := birth.Year()
	if y < 1800 || y > 2099 {
		return "", fmt.Errorf("iin: birth year %d outside 1800–2099", y)
	}
	code := (y-1800)/100*2 + 1
	if sex == SexFemale {
		code++
	} else if sex != SexMale {
		return "", errors.New("iin: sex must be male or female")
	}
	var d [11]int
	yy, mm, dd := y%100, int(birth.Month()), birth.Day()
	d[0], d[1], d[2], d[3], d[4], d[5] = yy/10, yy%10, mm/10, mm%10, dd/10, dd%10
	d[6] = code
	for range 100 {
		serial := rng.IntN(10000)
		d[7], d[8], d[9], d[10] = serial/1000, serial/100%10, serial/10%10, serial%10
		k, ok := CheckDigit(d)
		if !ok {
			continue
		}
		b := make([]byte, Len)
		for i, v := range d {
			b[i] = byte('0' + v)
		}
		b[11] = byte('0' + k)
		return IIN(b), nil
	}
	return "", errors.New("iin: no issuable serial found") // unreachable in practice: about 1 serial in 11 is skipped
}
