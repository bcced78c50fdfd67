package freeport

import (
	"context"
	"net"
	"strconv"
	"testing"
)

func TestReserveDistinctBindableOutsideEphemeral(t *testing.T) {
	ports, err := Reserve(64)
	if err != nil {
		t.Fatal(err)
	}
	if len(ports) != 64 {
		t.Fatalf("got %d ports, want 64", len(ports))
	}
	high := ephemeralLow()
	seen := map[int]bool{}
	var lc net.ListenConfig
	for _, p := range ports {
		if seen[p] {
			t.Fatalf("port %d reserved twice", p)
		}
		seen[p] = true
		if p < low || p >= high {
			t.Fatalf("port %d outside [%d, %d)", p, low, high)
		}
		l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("reserved port %d cannot be bound: %v", p, err)
		}
		l.Close()
	}
}

func TestReserveSkipsPortsInUse(t *testing.T) {
	// Bind one port and ask many times: about a fifth of the runs would hand it out if Reserve did
	// not try each port before returning it.
	var lc net.ListenConfig
	p, err := One()
	if err != nil {
		t.Fatal(err)
	}
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for range 200 {
		q, err := Reserve(16)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range q {
			if x == p {
				t.Fatalf("port %d is held by a listener but was reserved", p)
			}
		}
	}
}

func TestInUse(t *testing.T) {
	for _, c := range []struct {
		out  string
		want bool
	}{
		{"egov: rshep: listen 127.0.0.1:41173: listen tcp 127.0.0.1:41173: bind: address already in use", true},
		{`LOG:  could not bind IPv4 address "127.0.0.1": Address already in use`, true},
		{"FATAL: data directory has wrong ownership", false},
	} {
		if got := InUse(c.out); got != c.want {
			t.Errorf("InUse(%q) = %v, want %v", c.out, got, c.want)
		}
	}
}
