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

// GC headroom with many keys. With GOGC's default the heap may grow to twice what is live, and the
// keys (the pool, the settings' list and text, the scrubber's hashes: about keyHeapBytes each) are live
// for good: with 100,000 keys they are 19 MB of a 28 MB live heap under load, so the runtime left 28 MB
// of garbage where 9 MB of it was the requests'. gcPercent sizes the headroom as if the keys were not
// there: GOGC's 100 % of a working set of gcWorkingSet, spread over working set and keys (63 % with
// 100,000 keys, 99 % with 1,000). Measured with gemgate-bench at 100,000 keys, the build without it in
// the same rounds: RSS under load 102.6 → 89.1 MB, CPU per request 0.99× (a flat GOGC=50 gave 92 MB
// for 8 % more CPU, and 20 % more with 1,000 keys).
const (
	keyHeapBytes = 190
	gcWorkingSet = 32 << 20
	gcPercentMin = 50
)

// gcPercent is the GC percent for a pool of keys.
func gcPercent(keys int) int {
	static := int64(keys) * keyHeapBytes
	return max(int(100*gcWorkingSet/(gcWorkingSet+static)), gcPercentMin)
}

// applyGCPercent sets gcPercent for the configured keys, unless GOGC is set.
func applyGCPercent(snap *config.Snapshot) {
	if os.Getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(gcPercent(len(config.APIKeys.Get(snap)) + len(config.VertexAPIKeys.Get(snap))))
}
