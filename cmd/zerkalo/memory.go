package main

import (
	"log/slog"
	"math"
	"os"
	"runtime/debug"

	"zerkalo/proxy/config"
)

// applyMemory sets the garbage collector's target and the soft memory
// limit from gc_percent and memory_limit, unless the GOGC or GOMEMLIMIT
// environment variable set them for the process. The defaults are Go's
// own (100 %, no limit); 400 % with a limit made a miss cost 5–12 % less
// CPU for a few hundred MB more memory under a flood of misses (see
// bench/README.md).
func applyMemory(cfg *config.Config, log *slog.Logger) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(cfg.GCPercent)
	} else {
		log.Debug("gc_percent left to the GOGC environment variable")
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		limit := int64(cfg.MemoryLimit)
		if limit == 0 {
			limit = math.MaxInt64
		}
		debug.SetMemoryLimit(limit)
	} else {
		log.Debug("memory_limit left to the GOMEMLIMIT environment variable")
	}
}
