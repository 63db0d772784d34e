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
// environment variable set them for the process. The defaults (400 %,
// 512 MiB) make the collector run about four times less often than Go's
// own, which cost the edge about an eighth of its CPU on misses (see
// bench/README.md), while the limit keeps a small machine's memory in
// bounds.
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
