package envelope

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

func selfSigned(t *testing.T, serial int64) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "cache"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestCertCache(t *testing.T) {
	c := certCache{max: 2}
	a, b, d := selfSigned(t, 1), selfSigned(t, 2), selfSigned(t, 3)
	first, err := c.parse(a)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.parse(append([]byte(nil), a...))
	if err != nil {
		t.Fatal(err)
	}
	if first != again {
		t.Fatal("the same DER was parsed twice")
	}
	other, err := c.parse(b)
	if err != nil || other.SerialNumber.Int64() != 2 {
		t.Fatalf("other certificate: %v %v", other, err)
	}
	if _, err := c.parse(d); err != nil { // full: starts afresh
		t.Fatal(err)
	}
	if len(c.m) != 1 {
		t.Fatalf("cache holds %d entries after the reset, want 1", len(c.m))
	}
	if _, err := c.parse([]byte{0x30, 0x01, 0x00}); err == nil {
		t.Fatal("garbage parsed")
	}
	if len(c.m) != 1 {
		t.Fatal("a failed parse was cached")
	}
}
