// Package publicurl works out the address clients reach gemgate at, for links gemgate hands out (hosted
// images, Files API upload URLs). PUBLIC_URL wins; without it the request's own Host is used, but only
// after it is checked to be a plain host name or address, so a forged Host header cannot smuggle a path,
// credentials or another scheme into a link.
package publicurl

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/gemgate/gemgate/internal/config"
)

// FromRequest returns the base URL (scheme://host[:port][/path], no trailing slash) for links answered
// to r, or "" when neither PUBLIC_URL nor the request gives a usable one.
func FromRequest(r *http.Request, snap *config.Snapshot) string {
	if base := Configured(snap); base != "" {
		return base
	}
	host := r.Host
	if fwd := firstValue(r.Header.Get("X-Forwarded-Host")); fwd != "" && validHost(fwd) {
		host = fwd
	}
	if !validHost(host) {
		return ""
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	// Only the two values a proxy can mean are taken; anything else keeps the connection's own scheme.
	switch strings.ToLower(firstValue(r.Header.Get("X-Forwarded-Proto"))) {
	case "https":
		scheme = "https"
	case "http":
		scheme = "http"
	}
	return scheme + "://" + strings.ToLower(host)
}

// Configured is PUBLIC_URL cleaned up, or "" when it is unset or not an http(s) URL.
func Configured(snap *config.Snapshot) string {
	raw := strings.TrimSpace(config.PublicURL.Get(snap))
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/")
}

func firstValue(h string) string {
	v, _, _ := strings.Cut(h, ",")
	return strings.TrimSpace(v)
}

// validHost accepts host, host:port, an IPv4 address or a bracketed IPv6 address, with a name made of
// DNS characters only.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	host, port := h, ""
	if strings.HasPrefix(h, "[") || strings.Count(h, ":") == 1 {
		var err error
		host, port, err = net.SplitHostPort(h)
		if err != nil {
			if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
				host, port = h[1:len(h)-1], ""
			} else {
				return false
			}
		}
	}
	if port != "" && !digits(port) {
		return false
	}
	if strings.Contains(host, ":") {
		return net.ParseIP(host) != nil
	}
	return dnsName(host)
}

func digits(s string) bool {
	if len(s) > 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func dnsName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

type ctxKey struct{}

// With stores the base URL of the request's links in ctx, for code that only sees a context.
func With(ctx context.Context, base string) context.Context {
	return context.WithValue(ctx, ctxKey{}, base)
}

// From returns the base URL stored by With, or "".
func From(ctx context.Context) string {
	s, _ := ctx.Value(ctxKey{}).(string)
	return s
}
