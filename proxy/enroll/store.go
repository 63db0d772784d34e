package enroll

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"zerkalo/proxy/signing"
)

// Files in the store's directory.
const (
	keyFile   = "invite.key"       // the edge's enrollment key (minisign, 0600)
	stateFile = "enrollments.json" // relays, used invitations, revocations
	lockFile  = ".lock"
)

// A Store is the edge's record of enrolled relays, kept in a directory
// shared by the edge process and the invite and revoke commands (an
// advisory file lock orders their writes). It is safe for concurrent use.
type Store struct {
	dir string
	key *signing.Key
	now func() time.Time // tests replace it

	mu   sync.Mutex
	st   state
	stat fileStamp // of stateFile when st was read
}

// Relay is one enrolled relay as the edge records it.
type Relay struct {
	Domain   string    `json:"domain"`
	Public   bool      `json:"public"` // the volunteer opted in to public listing
	Enrolled time.Time `json:"enrolled"`
	Secret   string    `json:"secret_sha256"` // hash of the relay's credential
}

type state struct {
	Relays  map[string]Relay     `json:"relays"`  // by domain
	Used    map[string]time.Time `json:"used"`    // invitation ID → its expiry
	Revoked map[string]time.Time `json:"revoked"` // domain → when; older invitations are void
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// OpenStore opens (creating it if needed) the store in stateDir/enroll,
// with the edge's enrollment key.
func OpenStore(stateDir string) (*Store, error) {
	dir := filepath.Join(stateDir, "enroll")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("enroll store: %w", err)
	}
	key, err := loadOrCreateKey(filepath.Join(dir, keyFile))
	if err != nil {
		return nil, fmt.Errorf("enroll store: %w", err)
	}
	s := &Store{dir: dir, key: key, now: time.Now}
	if err := s.reload(); err != nil {
		return nil, err
	}
	return s, nil
}

func loadOrCreateKey(path string) (*signing.Key, error) {
	k, err := signing.LoadKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if k, err = signing.GenerateKey(); err != nil {
		return nil, err
	}
	if err := signing.WriteKeyFile(path, k, ""); errors.Is(err, fs.ErrExist) {
		return signing.LoadKey(path) // another process made it first
	} else if err != nil {
		return nil, err
	}
	return k, nil
}

// PublicKey returns the edge's enrollment public key, which invitations
// pin.
func (s *Store) PublicKey() signing.PublicKey { return s.key.Public() }

// IssueInvite returns a signed invitation token for domain, valid for ttl
// (DefaultTTL if 0), naming the edge's address and the mirror domain to
// enroll through.
func (s *Store) IssueInvite(domain, edge, mirror string, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	now := s.now()
	inv := Invitation{
		ID: newID(), Domain: strings.ToLower(domain), Edge: edge, Mirror: strings.ToLower(mirror),
		Pin: s.key.Public().String(), Issued: now.UTC(), Expires: now.Add(ttl).UTC(),
	}
	if err := inv.check(now); err != nil {
		return "", err
	}
	return inv.Token(s.key)
}

// Enroll checks a token presented by a relay and records the relay. It
// returns the relay's new credential.
func (s *Store) Enroll(token string, public bool) (secret string, err error) {
	now := s.now()
	inv, payload, sig, err := splitToken(token)
	if err != nil {
		return "", err
	}
	if err := s.key.Public().Verify(payload, sig); err != nil {
		return "", fmt.Errorf("%w: not signed by this edge", ErrInvitation)
	}
	if err := inv.check(now); err != nil {
		return "", err
	}
	secret = newSecret()
	err = s.update(func(st *state) error {
		if _, used := st.Used[inv.ID]; used {
			return fmt.Errorf("%w: it was used already", ErrInvitation)
		}
		if t, ok := st.Revoked[inv.Domain]; ok && !inv.Issued.After(t) {
			return fmt.Errorf("%w: %s was revoked after it was issued", ErrInvitation, inv.Domain)
		}
		st.Used[inv.ID] = inv.Expires
		st.Relays[inv.Domain] = Relay{Domain: inv.Domain, Public: public, Enrolled: now.UTC(), Secret: hashSecret(secret)}
		return nil
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// Check reports whether secret is the credential of the relay enrolled
// for domain.
func (s *Store) Check(domain, secret string) bool {
	s.refresh()
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.st.Relays[domain]
	return ok && subtle.ConstantTimeCompare([]byte(r.Secret), []byte(hashSecret(secret))) == 1
}

// Revoke ends the enrollment of domain at once and voids every invitation
// for it issued until now. It reports whether a relay was enrolled.
func (s *Store) Revoke(domain string) (bool, error) {
	domain = strings.ToLower(domain)
	if err := CheckDomain(domain); err != nil {
		return false, err
	}
	var was bool
	err := s.update(func(st *state) error {
		_, was = st.Relays[domain]
		delete(st.Relays, domain)
		st.Revoked[domain] = s.now().UTC()
		return nil
	})
	return was, err
}

// Domains returns the enrolled relays' domains, sorted.
func (s *Store) Domains() []string {
	return s.list(func(Relay) bool { return true })
}

// Public returns the domains of the enrolled relays whose volunteers
// opted in to public listing, sorted.
func (s *Store) Public() []string {
	return s.list(func(r Relay) bool { return r.Public })
}

func (s *Store) list(keep func(Relay) bool) []string {
	s.refresh()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for d, r := range s.st.Relays {
		if keep(r) {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}

// Watch calls changed whenever the set of enrolled relays changes, by
// this process or another (such as "zerkalo revoke"), checking every
// interval until ctx is done.
func (s *Store) Watch(ctx context.Context, interval time.Duration, changed func()) {
	last := s.Domains()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if now := s.Domains(); !slices.Equal(now, last) {
			last = now
			changed()
		}
	}
}

// refresh re-reads the state file if it changed on disk; errors keep the
// last good state.
func (s *Store) refresh() {
	fi, err := os.Stat(filepath.Join(s.dir, stateFile))
	if err != nil {
		return
	}
	s.mu.Lock()
	same := s.stat == fileStamp{fi.ModTime(), fi.Size()}
	s.mu.Unlock()
	if !same {
		s.reload()
	}
}

// reload reads the state file under the shared lock.
func (s *Store) reload() error {
	unlock, err := s.lock(syscall.LOCK_SH)
	if err != nil {
		return err
	}
	defer unlock()
	st, stamp, err := s.read()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.st, s.stat = st, stamp
	s.mu.Unlock()
	return nil
}

// update applies f to the state on disk under the exclusive lock and
// writes it back atomically.
func (s *Store) update(f func(*state) error) error {
	unlock, err := s.lock(syscall.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	st, _, err := s.read()
	if err != nil {
		return err
	}
	if err := f(&st); err != nil {
		return err
	}
	now := s.now()
	for id, exp := range st.Used {
		if now.After(exp.Add(24 * time.Hour)) {
			delete(st.Used, id) // expired anyway: no need to remember
		}
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(s.dir, stateFile)
	if err := signing.ReplaceFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("enroll store: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("enroll store: %w", err)
	}
	s.mu.Lock()
	s.st, s.stat = st, fileStamp{fi.ModTime(), fi.Size()}
	s.mu.Unlock()
	return nil
}

func (s *Store) read() (state, fileStamp, error) {
	st := state{Relays: map[string]Relay{}, Used: map[string]time.Time{}, Revoked: map[string]time.Time{}}
	path := filepath.Join(s.dir, stateFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, fileStamp{}, nil
	}
	if err != nil {
		return st, fileStamp{}, fmt.Errorf("enroll store: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return st, fileStamp{}, fmt.Errorf("enroll store: %w", err)
	}
	if err := json.NewDecoder(f).Decode(&st); err != nil {
		return st, fileStamp{}, fmt.Errorf("enroll store %s: %w", path, err)
	}
	for _, m := range []*map[string]time.Time{&st.Used, &st.Revoked} {
		if *m == nil {
			*m = map[string]time.Time{}
		}
	}
	if st.Relays == nil {
		st.Relays = map[string]Relay{}
	}
	return st, fileStamp{fi.ModTime(), fi.Size()}, nil
}

// lock takes the advisory lock that orders processes sharing the store.
func (s *Store) lock(how int) (func(), error) {
	f, err := os.OpenFile(filepath.Join(s.dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("enroll store lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, fmt.Errorf("enroll store lock: %w", err)
	}
	return func() { f.Close() }, nil // closing releases the lock
}

func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}
