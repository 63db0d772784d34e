package domains

import (
	"slices"
	"testing"
	"time"

	"zerkalo/proxy/config"
)

var (
	t0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	t1 = time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	t2 = time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
)

// testSet holds one domain of each kind of window.
func testSet() *Set {
	return New([]config.Domain{
		{Name: "always.test"},
		{Name: "window.test", From: t0, Until: t1},
		{Name: "later.test", From: t1},
		{Name: "ending.test", Until: t2},
		{Name: "Upper.Test"},
		{Name: "window.test"}, // a duplicate: the first entry counts
	})
}

func TestState(t *testing.T) {
	s := testSet()
	sec := time.Second
	tests := []struct {
		name string
		now  time.Time
		want State
	}{
		{"always.test", time.Time{}, Active},
		{"always.test", t2.Add(100 * 24 * time.Hour), Active},
		{"window.test", t0.Add(-sec), Pending},
		{"window.test", t0, Active}, // from is inclusive
		{"window.test", t1.Add(-sec), Active},
		{"window.test", t1, Retired}, // until is exclusive
		{"window.test", t2, Retired},
		{"later.test", t0, Pending},
		{"later.test", t1, Active},
		{"later.test", t2.Add(1000 * time.Hour), Active},
		{"ending.test", t0, Active},
		{"ending.test", t2, Retired},
		{"WINDOW.test.", t0, Active},
		{"upper.test", t0, Active},
		{"other.test", t0, Unknown},
		{"", t0, Unknown},
		{"window.test:443", t0, Unknown}, // names have no port
	}
	for _, tt := range tests {
		if got := s.State(tt.name, tt.now); got != tt.want {
			t.Errorf("State(%q, %v) = %v, want %v", tt.name, tt.now, got, tt.want)
		}
	}
	// Windows in other time zones are instants: 03:00+03:00 is t0.
	msk := time.FixedZone("MSK", 3*3600)
	z := New([]config.Domain{{Name: "tz.test", From: time.Date(2026, 12, 1, 3, 0, 0, 0, msk)}})
	if got := z.State("tz.test", t0); got != Active {
		t.Errorf("window in +03:00 at its start: %v, want active", got)
	}
	if got := z.State("tz.test", t0.Add(-time.Nanosecond)); got != Pending {
		t.Errorf("window in +03:00 just before: %v, want pending", got)
	}
}

func TestLists(t *testing.T) {
	s := testSet()
	tests := []struct {
		now                        time.Time
		active, pending, certified []string
	}{
		{t0.Add(-time.Hour),
			[]string{"always.test", "ending.test", "upper.test"},
			[]string{"window.test", "later.test"},
			[]string{"always.test", "window.test", "later.test", "ending.test", "upper.test"}},
		{t0,
			[]string{"always.test", "window.test", "ending.test", "upper.test"},
			[]string{"later.test"},
			[]string{"always.test", "window.test", "later.test", "ending.test", "upper.test"}},
		{t1,
			[]string{"always.test", "later.test", "ending.test", "upper.test"},
			nil,
			[]string{"always.test", "later.test", "ending.test", "upper.test"}},
		{t2,
			[]string{"always.test", "later.test", "upper.test"},
			nil,
			[]string{"always.test", "later.test", "upper.test"}},
	}
	for _, tt := range tests {
		if got := s.Active(tt.now); !slices.Equal(got, tt.active) {
			t.Errorf("Active(%v) = %q, want %q", tt.now, got, tt.active)
		}
		if got := s.Pending(tt.now); !slices.Equal(got, tt.pending) {
			t.Errorf("Pending(%v) = %q, want %q", tt.now, got, tt.pending)
		}
		if got := s.Certified(tt.now); !slices.Equal(got, tt.certified) {
			t.Errorf("Certified(%v) = %q, want %q", tt.now, got, tt.certified)
		}
	}
	want := []string{"always.test", "window.test", "later.test", "ending.test", "upper.test"}
	if got := s.Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
}

func TestNextChange(t *testing.T) {
	s := testSet()
	tests := []struct {
		now, want time.Time
	}{
		{time.Time{}, t0},
		{t0.Add(-time.Nanosecond), t0},
		{t0, t1},                 // strictly after now
		{t1.Add(-time.Hour), t1}, // window.test ends and later.test starts
		{t1, t2},
		{t2, time.Time{}}, // nothing ahead
	}
	for _, tt := range tests {
		if got := s.NextChange(tt.now); !got.Equal(tt.want) {
			t.Errorf("NextChange(%v) = %v, want %v", tt.now, got, tt.want)
		}
	}
	if got := New(nil).NextChange(t0); !got.IsZero() {
		t.Errorf("empty set NextChange = %v", got)
	}
}

// TestNextChangeIsAnEdge walks the windows edge by edge: the states never
// change strictly between two consecutive NextChange answers, and do
// change at each of them.
func TestNextChangeIsAnEdge(t *testing.T) {
	s := testSet()
	snapshot := func(now time.Time) []State {
		var st []State
		for _, n := range s.Names() {
			st = append(st, s.State(n, now))
		}
		return st
	}
	now := t0.Add(-48 * time.Hour)
	edges := 0
	for next := s.NextChange(now); !next.IsZero() && edges < 10; next = s.NextChange(now) {
		before, mid, at := snapshot(now), snapshot(now.Add(next.Sub(now)/2)), snapshot(next)
		if !slices.Equal(before, mid) {
			t.Errorf("states changed between %v and %v without an edge", now, next)
		}
		if slices.Equal(before, at) {
			t.Errorf("no state changed at the edge %v", next)
		}
		now = next
		edges++
	}
	if edges != 3 {
		t.Errorf("walked %d edges, want 3 (t0, t1, t2)", edges)
	}
}

func TestStateString(t *testing.T) {
	for st, want := range map[State]string{Unknown: "unknown", Pending: "pending", Active: "active", Retired: "retired", State(9): "unknown"} {
		if got := st.String(); got != want {
			t.Errorf("State(%d).String() = %q, want %q", st, got, want)
		}
	}
}
