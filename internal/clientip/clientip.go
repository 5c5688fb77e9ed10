// Package clientip tells which address a request comes from. The connecting address is the only one a
// client on the internet cannot choose; X-Forwarded-For is believed only from proxies named in
// TRUSTED_PROXIES, and then only as far as the chain of trusted hops goes.
package clientip

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/gemgate/gemgate/internal/config"
)

// Peer is the connecting address of r (IPv4-mapped addresses read as IPv4), or the zero Addr.
func Peer(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return addr.Unmap()
}

// InList reports whether addr is in one of the IPs or CIDR ranges of list (entries that do not parse
// match nothing; settings validate them).
func InList(addr netip.Addr, list []string) bool {
	if !addr.IsValid() {
		return false
	}
	for _, s := range list {
		if p, err := config.ParsePrefix(s); err == nil && p.Contains(addr) {
			return true
		}
	}
	return false
}

// Of is the client address of r. When the connecting address is a trusted proxy, X-Forwarded-For is
// read from the right (each proxy appends the address it saw) past every trusted hop; the first
// address that is not trusted is the client. A malformed entry ends the walk at the last hop that was
// believed, so a client cannot inject garbage to pass for someone else.
func Of(r *http.Request, trusted []string) string {
	peer := Peer(r)
	if !peer.IsValid() {
		return r.RemoteAddr
	}
	if len(trusted) == 0 || !InList(peer, trusted) {
		return peer.String()
	}
	hops := forwarded(r.Header.Values("X-Forwarded-For"))
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		addr, err := netip.ParseAddr(hops[i])
		if err != nil {
			break
		}
		client = addr.Unmap()
		if !InList(client, trusted) {
			break
		}
	}
	return client.String()
}

// forwarded lists the addresses of X-Forwarded-For header lines, in order.
func forwarded(lines []string) []string {
	var out []string
	for _, line := range lines {
		for _, part := range strings.Split(line, ",") {
			if p := strings.TrimSpace(part); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
