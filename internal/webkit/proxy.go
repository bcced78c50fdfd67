package webkit

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the trusted reverse proxies, as address prefixes (EGOV_TRUSTED_PROXIES: CIDRs or single
// addresses, comma-separated). Behind an ingress every request comes from the ingress's address and
// TLS ends there: the client's address and the scheme are believed from X-Forwarded-For and
// X-Forwarded-Proto, but only when the peer itself is one of these. Empty: nobody is trusted and the
// peer is the client.
type Proxies []netip.Prefix

// UnmarshalText reads "10.0.0.0/8, 192.168.1.7" (it lets the configuration loader fill a Proxies).
func (p *Proxies) UnmarshalText(b []byte) error {
	out, err := ParseProxies(string(b))
	if err != nil {
		return err
	}
	*p = out
	return nil
}

// ParseProxies reads a comma-separated list of CIDRs or addresses.
func ParseProxies(list string) (Proxies, error) {
	var out Proxies
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", f, err)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		pf, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", f, err)
		}
		out = append(out, pf.Masked())
	}
	return out, nil
}

func (p Proxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, pf := range p {
		if pf.Contains(a) {
			return true
		}
	}
	return false
}

func peer(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	return a.Unmap(), err == nil
}

// ClientAddr is the address of the client: the peer, or, when the peer is a trusted proxy, the
// rightmost address of X-Forwarded-For that is not itself a trusted proxy (the leftmost ones are
// whatever the client chose to send and prove nothing).
func (s *Site) ClientAddr(r *http.Request) string {
	a, ok := peer(r)
	if !ok {
		return r.RemoteAddr
	}
	if !s.o.Proxies.trusts(a) {
		return a.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		if h == "" {
			continue
		}
		x, err := netip.ParseAddr(h)
		if err != nil {
			return a.String() // a hop that is no address: the chain is not believed past it
		}
		x = x.Unmap()
		if !s.o.Proxies.trusts(x) {
			return x.String()
		}
		a = x
	}
	return a.String()
}

// ForwardedByUntrusted reports whether the request carries X-Forwarded-For from a peer that is not a
// trusted proxy: the header is ignored then, which behind an ingress means the operator has not named
// it in EGOV_TRUSTED_PROXIES and every client shares the ingress's address.
func (s *Site) ForwardedByUntrusted(r *http.Request) bool {
	if len(r.Header.Values("X-Forwarded-For")) == 0 {
		return false
	}
	a, ok := peer(r)
	return !ok || !s.o.Proxies.trusts(a)
}

// HTTPS reports whether the browser's connection is TLS: its own, or the one a trusted proxy ended
// and says so in X-Forwarded-Proto. Cookies are Secure then.
func (s *Site) HTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	a, ok := peer(r)
	if !ok || !s.o.Proxies.trusts(a) {
		return false
	}
	proto := r.Header.Get("X-Forwarded-Proto")
	if i := strings.LastIndex(proto, ","); i >= 0 { // several proxies: the one nearest to us speaks last
		proto = proto[i+1:]
	}
	return strings.EqualFold(strings.TrimSpace(proto), "https")
}
