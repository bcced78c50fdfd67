// Package freeport reserves TCP ports on 127.0.0.1 for servers that another process will bind later
// (a PostgreSQL cluster, a service started as its own process).
//
// Asking the kernel for port 0 and closing the listener is not enough for that: the port goes back to
// the kernel's ephemeral range, where the very next outgoing connection of any process may take it as
// its local port before the server binds it. The ports reserved here are drawn at random from below
// the ephemeral range (net.ipv4.ip_local_port_range), which outgoing connections never use, and the
// ports of one call are distinct because each is held open until all have been found.
package freeport

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// low is the bottom of the range the ports are drawn from: above the well-known and common
// registered server ports.
const low = 20000

// ephemeralLow is where the kernel's ephemeral range starts; 32768 (Linux's default) when it cannot
// be read.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= low+1000 {
		return 32768
	}
	return n
}

// Reserve returns n distinct ports on 127.0.0.1 that were free a moment ago and lie outside the
// kernel's ephemeral range.
func Reserve(n int) ([]int, error) { return reserve(n, low, ephemeralLow()) }

// reserve draws n distinct free ports from [from, to).
func reserve(n, from, to int) ([]int, error) {
	held := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	var lc net.ListenConfig
	for tries := 0; len(ports) < n; tries++ {
		if tries > 200*n {
			return nil, errors.New("freeport: no free port below the ephemeral range")
		}
		p := from + rand.IntN(to-from)
		l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue // taken
		}
		held = append(held, l)
		ports = append(ports, p)
	}
	return ports, nil
}

// One returns a single port as Reserve does.
func One() (int, error) {
	p, err := Reserve(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

// InUse reports whether a server's error output says its address was taken (by another process
// between the reservation and the bind), so that the caller may reserve again and retry.
func InUse(out string) bool {
	return strings.Contains(out, "address already in use") || strings.Contains(out, "Address already in use")
}
