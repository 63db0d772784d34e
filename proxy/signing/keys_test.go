package signing

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The files in testdata were made by the minisign tool 0.11 (Debian):
//
//	minisign -G -W -p mini.pub -s mini.key
//	minisign -S -s mini.key -m message.txt -x message.txt.minisig -t "made by minisign 0.11"
//	minisign -S -l -s mini.key -m message.txt -x message.txt.legacy.minisig -t "legacy Ed signature"
//	printf 'correct horse\ncorrect horse\n' | minisign -G -p enc.pub -s enc.key

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyMinisignSignatures(t *testing.T) {
	pub, err := LoadPublicKey(filepath.Join("testdata", "mini.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if pub.ID() != "CF82AA111BF6F307" {
		t.Errorf("ID %s, want CF82AA111BF6F307 (from the file's comment)", pub.ID())
	}
	msg := readTestdata(t, "message.txt")
	for _, tc := range []struct {
		sig       string
		prehashed bool
		comment   string
	}{
		{"message.txt.minisig", true, "made by minisign 0.11"},
		{"message.txt.legacy.minisig", false, "legacy Ed signature"},
	} {
		sig := readTestdata(t, tc.sig)
		if err := pub.Verify(msg, sig); err != nil {
			t.Errorf("%s: %v", tc.sig, err)
		}
		s, err := ParseSignature(sig)
		if err != nil {
			t.Fatal(err)
		}
		if s.Prehashed != tc.prehashed || s.TrustedComment != tc.comment || s.KeyID != pub.ID() {
			t.Errorf("%s: ParseSignature = %+v", tc.sig, s)
		}
		tampered := append(bytes.Clone(msg), '!')
		if err := pub.Verify(tampered, sig); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: tampered message: err = %v, want ErrSignature", tc.sig, err)
		}
		forged := bytes.Replace(sig, []byte(tc.comment), []byte("forged comment"), 1)
		if err := pub.Verify(msg, forged); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: altered trusted comment: err = %v, want ErrSignature", tc.sig, err)
		}
	}
}

func TestLoadMinisignKey(t *testing.T) {
	k, err := LoadKey(filepath.Join("testdata", "mini.key"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := LoadPublicKey(filepath.Join("testdata", "mini.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if !k.Public().Equal(pub) {
		t.Fatalf("public half %s, want %s", k.Public(), pub)
	}
	msg := []byte("signed by zerkalo with a key minisign made")
	if err := pub.Verify(msg, k.Sign(msg)); err != nil {
		t.Error(err)
	}
	// Export writes what minisign wrote.
	got, err := k.Export()
	if err != nil {
		t.Fatal(err)
	}
	want := readTestdata(t, "mini.key")
	if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
		t.Errorf("Export\n%s\nwant (minisign's)\n%s", got, want)
	}
}

func TestEncryptedKey(t *testing.T) {
	path := filepath.Join("testdata", "enc.key")
	if _, err := LoadKey(path); !errors.Is(err, ErrEncrypted) {
		t.Fatalf("LoadKey(encrypted) err = %v, want ErrEncrypted", err)
	}
	if testing.Short() || raceEnabled {
		t.Skip("scrypt with minisign's parameters takes 1 GiB and seconds (a minute with -race); run without -race and -short")
	}
	if _, err := LoadKeyWithPassword(path, "wrong horse"); err == nil || !strings.Contains(err.Error(), "wrong password") {
		t.Errorf("wrong password: err = %v", err)
	}
	k, err := LoadKeyWithPassword(path, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := LoadPublicKey(filepath.Join("testdata", "enc.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if !k.Public().Equal(pub) {
		t.Errorf("decrypted key's public half %s, want %s", k.Public(), pub)
	}
}

func TestGenerateExportParse(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	text, err := k.Export()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseKey(text, "")
	if err != nil {
		t.Fatal(err)
	}
	if back.ID() != k.ID() || !back.Public().Equal(k.Public()) {
		t.Fatalf("round trip changed the key: %s != %s", back.ID(), k.ID())
	}
	pubText, _ := k.Public().MarshalText()
	pub, err := ParsePublicKey(pubText)
	if err != nil || !pub.Equal(k.Public()) {
		t.Fatalf("public key round trip: %v", err)
	}
	bare, err := ParsePublicKey([]byte(k.Public().String()))
	if err != nil || !bare.Equal(k.Public()) {
		t.Fatalf("bare base64 public key: %v", err)
	}
	other, _ := GenerateKey()
	if k.ID() == other.ID() || k.Public().Equal(other.Public()) {
		t.Error("two generated keys are equal")
	}
}

func TestKeyIsNeverShown(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	text, _ := k.Export()
	secret := strings.Split(string(text), "\n")[1]
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("key", "key", k, "value", *k)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("key", "key", k)
	shown := fmt.Sprintf("%v %+v %#v %s %v", k, k, k, k, *k) + logged.String()
	for _, part := range []string{secret[:20], secret[60:80], secret[len(secret)-20:]} {
		if strings.Contains(shown, part) {
			t.Fatalf("the secret key shows in %q", shown)
		}
	}
	if !strings.Contains(shown, k.ID()) {
		t.Errorf("the key ID does not show in %q", shown)
	}
}

func TestWriteNewFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "edge.key")
	k, _ := GenerateKey()
	if err := WriteKeyFile(path, k, ""); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	before, _ := os.ReadFile(path)
	other, _ := GenerateKey()
	err = WriteKeyFile(path, other, "")
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("second write: err = %v, want fs.ErrExist", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the existing key was changed")
	}
	loaded, err := LoadKey(path)
	if err != nil || loaded.ID() != k.ID() {
		t.Errorf("LoadKey = %v, %v; want key %s", loaded, err, k.ID())
	}

	sig := filepath.Join(dir, "list.minisig")
	for _, content := range []string{"one", "two"} {
		if err := ReplaceFile(sig, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(sig); string(b) != content {
			t.Errorf("ReplaceFile: file holds %q, want %q", b, content)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if err := WriteNewFile(filepath.Join(dir, "no", "such", "dir"), nil, 0o644); err == nil {
		t.Error("WriteNewFile into a missing directory succeeded")
	}
}
