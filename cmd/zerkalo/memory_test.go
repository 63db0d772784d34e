package main

import (
	"io"
	"log/slog"
	"math"
	"runtime/debug"
	"slices"
	"testing"

	"zerkalo/proxy/config"
)

// TestApplyMemory: gc_percent and memory_limit set the collector, unless
// GOGC or GOMEMLIMIT did.
func TestApplyMemory(t *testing.T) {
	gc := debug.SetGCPercent(100)
	limit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(gc); debug.SetMemoryLimit(limit) })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		gogc, gomemlimit string
		percent          int
		limit            config.Size
		wantPercent      int
		wantLimit        int64
	}{
		{"", "", 400, 512 << 20, 400, 512 << 20},
		{"", "", 250, 0, 250, math.MaxInt64},
		{"150", "", 400, 512 << 20, 100, 512 << 20},          // GOGC wins: left as it was
		{"", "1GiB", 300, 512 << 20, 300, math.MaxInt64 - 1}, // GOMEMLIMIT wins
	} {
		t.Setenv("GOGC", tc.gogc)
		t.Setenv("GOMEMLIMIT", tc.gomemlimit)
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64 - 1)
		cfg := config.Default()
		cfg.GCPercent, cfg.MemoryLimit = tc.percent, tc.limit
		applyMemory(cfg, log)
		if got := debug.SetGCPercent(100); got != tc.wantPercent {
			t.Errorf("GOGC=%q gc_percent=%d: collector at %d %%, want %d", tc.gogc, tc.percent, got, tc.wantPercent)
		}
		if got := debug.SetMemoryLimit(-1); got != tc.wantLimit {
			t.Errorf("GOMEMLIMIT=%q memory_limit=%d: limit %d, want %d", tc.gomemlimit, tc.limit, got, tc.wantLimit)
		}
	}
}

func TestMemSize(t *testing.T) {
	for _, tc := range []struct {
		memory config.Size
		want   int64
	}{
		{0, -1}, // none: the cache's 0 would mean its default
		{64 << 20, 64 << 20},
		{1, 1},
	} {
		if got := memSize(tc.memory); got != tc.want {
			t.Errorf("memSize(%d) = %d, want %d", tc.memory, got, tc.want)
		}
	}
}

// TestRestartOnly: a reload names the settings it cannot apply, among
// them the cache store's, which lives across reloads.
func TestRestartOnly(t *testing.T) {
	base := config.Default
	for _, tc := range []struct {
		change func(*config.Config)
		want   string
	}{
		{func(c *config.Config) { c.Cache.MaxSize *= 2 }, "cache.max_size, max_object and memory"},
		{func(c *config.Config) { c.Cache.Memory = 0 }, "cache.max_size, max_object and memory"},
		{func(c *config.Config) { c.Cache.Dir = "/elsewhere" }, "cache.dir"},
		{func(c *config.Config) { c.Listen = "127.0.0.1:1" }, "listen"},
		{func(c *config.Config) { c.Cache.WarmMaxItems = 3 }, "cache.warm*"},
		{func(c *config.Config) { c.Origin.RateLimit = 1 }, ""}, // applied by a reload
	} {
		old, changed := base(), base()
		tc.change(changed)
		got := restartOnly(old, changed)
		if tc.want == "" && len(got) != 0 || tc.want != "" && !slices.Contains(got, tc.want) {
			t.Errorf("restartOnly = %q, want %q", got, tc.want)
		}
	}
}
