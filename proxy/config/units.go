package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written in TOML as a string such as "30s",
// "1m30s" or "250ms" (the syntax of time.ParseDuration). Load refuses a bare
// number, which would otherwise silently mean nanoseconds.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String returns d in time.Duration notation, such as "30s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want a string like \"30s\", \"1m\" or \"500ms\")", b)
	}
	*d = Duration(v)
	return nil
}

// Size is a number of bytes. In TOML it is an integer (bytes) or a string
// with an optional unit: "512KiB", "64MiB", "1GiB", "1TiB" (powers of
// 1024), "500KB", "10MB", "1GB" (powers of 1000), "4096B" or "4096".
type Size int64

// Size units, longest first so that "MiB" is tried before "B".
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// String returns s with the largest binary unit that divides it exactly,
// such as "64MiB", or in bytes.
func (s Size) String() string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if s != 0 && int64(s)%u.mult == 0 {
			return strconv.FormatInt(int64(s)/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// MarshalText implements encoding.TextMarshaler.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

var errSizeRange = errors.New("out of range")

// ParseSize parses a size such as "64MiB", "500KB" or "1048576" (bytes).
// The number is a non-negative integer; spaces between it and the unit are
// not allowed.
func ParseSize(str string) (Size, error) {
	num, mult := str, int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(str, u.suffix) {
			num, mult = strings.TrimSuffix(str, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err == nil && (n < 0 || num[0] == '+') {
		err = errors.New("negative or signed")
	}
	if err == nil && n > math.MaxInt64/mult {
		err = errSizeRange
	}
	if err != nil {
		return 0, fmt.Errorf("invalid size %q (want bytes or a string like \"512KiB\", \"64MiB\" or \"1GiB\")", str)
	}
	return Size(n * mult), nil
}
