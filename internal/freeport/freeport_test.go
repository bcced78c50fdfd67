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
	// A window of two ports, one held by a listener: the other is the only answer, every time.
	var lc net.ListenConfig
	var p int
	var l net.Listener
	for l == nil { // p held, p+1 free
		pp, err := Reserve(1)
		if err != nil {
			t.Fatal(err)
		}
		p = pp[0]
		next, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:"+strconv.Itoa(p+1))
		if err != nil {
			continue
		}
		next.Close()
		if l, err = lc.Listen(context.Background(), "tcp", "127.0.0.1:"+strconv.Itoa(p)); err != nil {
			l = nil
		}
	}
	defer l.Close()
	for range 20 {
		q, err := reserve(1, p, p+2)
		if err != nil {
			t.Fatal(err)
		}
		if q[0] != p+1 {
			t.Fatalf("reserved %d from [%d, %d) while %d is held", q[0], p, p+2, p)
		}
	}
	// A window with every port held has no answer.
	if _, err := reserve(1, p, p+1); err == nil {
		t.Fatal("a held port was reserved")
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
