package config

import (
	"fmt"
	"log/slog"
	"net/netip"
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
