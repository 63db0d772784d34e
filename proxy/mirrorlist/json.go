package mirrorlist

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// timeLayout is how timestamps are written: what Python's isoformat()
// gives for an aware UTC datetime with microseconds, as in the published
// lists.
const timeLayout = "2006-01-02T15:04:05.000000-07:00"

// readLayouts are the timestamp forms Parse accepts: ISO 8601 with "T" or a
// space, optional fraction, with an offset or without (then UTC).
var readLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
}

// The wire form, in the field order of the format's documentation.
type (
	wireList struct {
		Version string     `json:"version"`
		Sites   []wireSite `json:"sites"`
	}
	wireSite struct {
		MainDomain   string            `json:"main_domain"`
		Alternatives []wireAlternative `json:"available_alternatives"`
		// Version 1 fields the format still allows beside version 2's;
		// read and dropped.
		V1Mirrors []string `json:"available_mirrors,omitempty"`
		V1Onions  []string `json:"available_onions,omitempty"`
	}
	wireAlternative struct {
		Proto     string `json:"proto"`
		Type      string `json:"type"`
		URL       string `json:"url"`
		CreatedAt string `json:"created_at"`
		UpdatedAt string `json:"updated_at"`
	}
)

// MarshalJSON returns the list as compact JSON. It fails if the list is
// not valid (see Validate), so an invalid list is never published.
func (l List) MarshalJSON() ([]byte, error) {
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("mirror list: %w", err)
	}
	w := wireList{Version: l.Version, Sites: make([]wireSite, len(l.Sites))}
	for i, s := range l.Sites {
		ws := wireSite{MainDomain: s.MainDomain, Alternatives: make([]wireAlternative, len(s.Alternatives))}
		for j, a := range s.Alternatives {
			ws.Alternatives[j] = wireAlternative{
				Proto:     a.Proto,
				Type:      a.Type,
				URL:       a.URL,
				CreatedAt: a.CreatedAt.UTC().Format(timeLayout),
				UpdatedAt: a.UpdatedAt.UTC().Format(timeLayout),
			}
		}
		w.Sites[i] = ws
	}
	return json.Marshal(w)
}

// Encode writes the list as indented JSON followed by a newline: the
// bytes an edge serves and signs.
func (l List) Encode(w io.Writer) error {
	b, err := l.MarshalJSON()
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return fmt.Errorf("mirror list: %w", err)
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}

// Bytes returns what Encode writes.
func (l List) Bytes() ([]byte, error) {
	var b bytes.Buffer
	err := l.Encode(&b)
	return b.Bytes(), err
}

// UnmarshalJSON parses b as Parse does.
func (l *List) UnmarshalJSON(b []byte) error {
	parsed, err := Parse(b)
	if err != nil {
		return err
	}
	*l = parsed
	return nil
}

// Parse parses a version 2 list strictly: unknown fields, missing fields,
// a version other than "2.0", malformed URLs or timestamps and trailing
// data are errors. The version 1 fields available_mirrors and
// available_onions are allowed and ignored.
func Parse(b []byte) (List, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var w wireList
	if err := dec.Decode(&w); err != nil {
		return List{}, fmt.Errorf("mirror list: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return List{}, errors.New("mirror list: data after the JSON object")
	}
	if w.Sites == nil {
		return List{}, errors.New("mirror list: no sites array")
	}
	l := List{Version: w.Version, Sites: make([]Site, len(w.Sites))}
	for i, ws := range w.Sites {
		s, err := ws.site()
		if err != nil {
			return List{}, fmt.Errorf("mirror list: sites[%d]: %w", i, err)
		}
		l.Sites[i] = s
	}
	if err := l.Validate(); err != nil {
		return List{}, fmt.Errorf("mirror list: %w", err)
	}
	return l, nil
}

func (ws wireSite) site() (Site, error) {
	if ws.Alternatives == nil {
		return Site{}, errors.New("no available_alternatives array")
	}
	s := Site{MainDomain: ws.MainDomain, Alternatives: make([]Alternative, len(ws.Alternatives))}
	for j, wa := range ws.Alternatives {
		created, err := parseTime(wa.CreatedAt)
		if err != nil {
			return Site{}, fmt.Errorf("available_alternatives[%d]: created_at: %w", j, err)
		}
		updated, err := parseTime(wa.UpdatedAt)
		if err != nil {
			return Site{}, fmt.Errorf("available_alternatives[%d]: updated_at: %w", j, err)
		}
		s.Alternatives[j] = Alternative{Proto: wa.Proto, Type: wa.Type, URL: wa.URL, CreatedAt: created, UpdatedAt: updated}
	}
	return s, nil
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("missing")
	}
	for _, layout := range readLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 timestamp", s)
}
