package config

import (
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
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

// ParseKeyLimit reads a KEY_MODEL_LIMITS value "RPM/RPD" ("10/250"; "10" caps the minute only, "0/250"
// the day only).
func ParseKeyLimit(s string) (rpm, rpd int, err error) {
	a, b, _ := strings.Cut(strings.TrimSpace(s), "/")
	bad := fmt.Errorf("%q: want requests per minute and per day as RPM/RPD, e.g. 10/250", s)
	if rpm, err = strconv.Atoi(strings.TrimSpace(a)); err != nil || rpm < 0 {
		return 0, 0, bad
	}
	if b != "" {
		if rpd, err = strconv.Atoi(strings.TrimSpace(b)); err != nil || rpd < 0 {
			return 0, 0, bad
		}
	}
	return rpm, rpd, nil
}

func checkKeyLimits(v any) error {
	m, _ := v.(map[string]string)
	for model, s := range m {
		if _, _, err := ParseKeyLimit(s); err != nil {
			return fmt.Errorf("%s: %w", model, err)
		}
	}
	return nil
}

// checkZone accepts an IANA time zone name.
func checkZone(v any) error {
	name, _ := v.(string)
	if _, err := time.LoadLocation(name); err != nil {
		return fmt.Errorf("not an IANA time zone such as Asia/Shanghai or UTC: %v", err)
	}
	return nil
}

// checkOverrides accepts ENV_OVERRIDES naming stored settings only: env-only settings come from env
// anyway, and a misspelt name would silently override nothing.
func checkOverrides(v any) error {
	list, _ := v.([]string)
	for _, name := range list {
		d, ok := byName[strings.TrimSpace(name)]
		switch {
		case !ok:
			return fmt.Errorf("ENV_OVERRIDES: %q is not a setting", name)
		case d.Bootstrap:
			return fmt.Errorf("ENV_OVERRIDES: %s is read from env only already", name)
		}
	}
	return nil
}

// FrameAncestorsPolicy is the CSP directive naming who may frame gemgate's pages and answers:
// gemgate itself and FRAME_ANCESTORS.
func FrameAncestorsPolicy(snap *Snapshot) string {
	return strings.Join(append([]string{"frame-ancestors 'self'"}, FrameAncestors.Get(snap)...), " ")
}

// FrameAllowed reports whether a page framed by the site of origin (the framing page's URL) is
// allowed by FRAME_ANCESTORS, read the way browsers read the CSP sources: same scheme, the host or,
// for "*.", any of its subdomains, the port when one is named.
func FrameAllowed(snap *Snapshot, origin *url.URL) bool {
	host := strings.ToLower(origin.Hostname())
	for _, src := range FrameAncestors.Get(snap) {
		u, err := url.Parse(src)
		if err != nil || u.Scheme != origin.Scheme || (u.Port() != "" && u.Port() != origin.Port()) {
			continue
		}
		want := strings.ToLower(u.Hostname())
		if parent, wild := strings.CutPrefix(want, "*."); wild {
			if strings.HasSuffix(host, "."+parent) {
				return true
			}
			continue
		}
		if host == want {
			return true
		}
	}
	return false
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
