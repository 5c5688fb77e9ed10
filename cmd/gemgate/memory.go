package main

import (
	"os"
	"runtime/debug"

	"github.com/gemgate/gemgate/internal/config"
)

// applyMemoryLimit sets MEMORY_LIMIT_MB as the runtime's soft memory limit, unless GOMEMLIMIT is set.
// Without a limit the heap may grow to twice what is live, and with 100,000 keys the keys alone are a
// large part of what is live.
func applyMemoryLimit(snap *config.Snapshot) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := int64(config.MemoryLimitMB.Get(snap)) << 20
	if limit == 0 {
		limit = 1<<63 - 1 // the runtime's own "no limit"
	}
	debug.SetMemoryLimit(limit)
}

// releaseStartupMemory hands back to the system what the start used only for a moment (parsing a
// few MB of keys more than once, storing them, building the pool), which the runtime would otherwise
// return over minutes: with 100,000 keys about 30 MB of resident memory at idle.
func releaseStartupMemory() { debug.FreeOSMemory() }
