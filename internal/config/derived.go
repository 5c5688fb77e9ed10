package config

import (
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
)

// LogLevelOf maps LOG_LEVEL (the reference's Python level names, any case) to a slog level.
func LogLevelOf(snap *Snapshot) slog.Level {
	switch strings.ToUpper(LogLevel.Get(snap)) {
	case "DEBUG":
		return slog.LevelDebug
	case "WARNING", "WARN":
		return slog.LevelWarn
	case "ERROR", "CRITICAL":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// checkPrefixes accepts a list of IP addresses and CIDR ranges.
func checkPrefixes(v any) error {
	list, _ := v.([]string)
	for _, s := range list {
		if _, err := ParsePrefix(s); err != nil {
			return err
		}
	}
	return nil
}

// ParsePrefix reads an IP range ("10.0.0.0/8") or a single address ("127.0.0.1", "::1").
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP range such as 10.0.0.0/8", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or range", s)
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// FrameAncestorsPolicy is the CSP directive naming who may frame gemgate's pages and answers:
// gemgate itself and FRAME_ANCESTORS.
func FrameAncestorsPolicy(snap *Snapshot) string {
	return strings.Join(append([]string{"frame-ancestors 'self'"}, FrameAncestors.Get(snap)...), " ")
}

// checkFrameSources accepts CSP host sources with a scheme: https://host[:port], where the host may
// start with "*." (every subdomain). Anything else could break out of the header's directive.
func checkFrameSources(v any) error {
	list, _ := v.([]string)
	for _, s := range list {
		if !frameSource(s) {
			return fmt.Errorf("%q is not a site such as https://example.com or https://*.example.com", s)
		}
	}
	return nil
}

func frameSource(s string) bool {
	rest, ok := strings.CutPrefix(s, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(s, "http://"); !ok {
			return false
		}
	}
	host, port, hasPort := strings.Cut(rest, ":")
	if hasPort && (port == "" || strings.Trim(port, "0123456789") != "") {
		return false
	}
	host = strings.TrimPrefix(host, "*.")
	if host == "" || strings.HasPrefix(host, ".") || strings.HasSuffix(host, ".") || strings.Contains(host, "..") {
		return false
	}
	return strings.Trim(strings.ToLower(host), "abcdefghijklmnopqrstuvwxyz0123456789.-") == ""
}
