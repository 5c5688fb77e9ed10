package config

import (
	"log/slog"
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
