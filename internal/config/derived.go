package config

import (
	"fmt"
	"log/slog"
	"net/netip"
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
