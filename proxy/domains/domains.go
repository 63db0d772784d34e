// Package domains says which mirror domains are live at a given time.
//
// Each configured domain has an optional activity window [From, Until).
// Before its window a domain is Pending: its certificate is obtained ahead
// of time, but readers are refused. Inside it the domain is Active and
// served. After it the domain is Retired and refused like any name the
// configuration does not list (Unknown). A Set is immutable and its
// answers depend only on the time given, so callers re-evaluate at
// NextChange instead of polling.
package domains

import (
	"strings"
	"time"

	"zerkalo/proxy/config"
)

// State is where a domain stands in its activity window.
type State int

// The states of a name.
const (
	Unknown State = iota // not configured
	Pending              // before its window: certificate yes, readers no
	Active               // inside its window: served
	Retired              // after its window: refused
)

// String returns the state's name in lower case.
func (s State) String() string {
	switch s {
	case Pending:
		return "pending"
	case Active:
		return "active"
	case Retired:
		return "retired"
	}
	return "unknown"
}

// Set is the configured mirror domains with their windows.
type Set struct {
	list   []config.Domain
	byName map[string]config.Domain
}

// New returns the set of ds. Names are compared in lower case without a
// trailing dot; for a name listed twice the first entry counts.
func New(ds []config.Domain) *Set {
	s := &Set{byName: make(map[string]config.Domain, len(ds))}
	for _, d := range ds {
		n := normalize(d.Name)
		if _, dup := s.byName[n]; dup {
			continue
		}
		d.Name = n
		s.byName[n] = d
		s.list = append(s.list, d)
	}
	return s
}

// State returns the state of the host name at now. The name has no port;
// case and a trailing dot do not matter.
func (s *Set) State(name string, now time.Time) State {
	d, ok := s.byName[normalize(name)]
	if !ok {
		return Unknown
	}
	return stateOf(d, now)
}

// Active returns the names being served at now, in configuration order.
func (s *Set) Active(now time.Time) []string { return s.names(now, Active) }

// Pending returns the names whose window has not opened at now, in
// configuration order.
func (s *Set) Pending(now time.Time) []string { return s.names(now, Pending) }

// Certified returns the names that should hold a certificate at now: the
// active and pending ones, in configuration order.
func (s *Set) Certified(now time.Time) []string { return s.names(now, Active, Pending) }

// Names returns every configured name, whatever its state, in
// configuration order.
func (s *Set) Names() []string {
	names := make([]string, len(s.list))
	for i, d := range s.list {
		names[i] = d.Name
	}
	return names
}

// NextChange returns the first window edge (a From or an Until) strictly
// after now: the next time a State may change. It is the zero time when no
// edge lies ahead.
func (s *Set) NextChange(now time.Time) time.Time {
	var next time.Time
	for _, d := range s.list {
		for _, t := range []time.Time{d.From, d.Until} {
			if !t.IsZero() && t.After(now) && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
	}
	return next
}

func (s *Set) names(now time.Time, states ...State) []string {
	var names []string
	for _, d := range s.list {
		st := stateOf(d, now)
		for _, want := range states {
			if st == want {
				names = append(names, d.Name)
			}
		}
	}
	return names
}

// stateOf places now in d's window: From inclusive, Until exclusive.
func stateOf(d config.Domain, now time.Time) State {
	switch {
	case !d.From.IsZero() && now.Before(d.From):
		return Pending
	case !d.Until.IsZero() && !now.Before(d.Until):
		return Retired
	}
	return Active
}

func normalize(name string) string {
	return strings.TrimSuffix(strings.ToLower(name), ".")
}
