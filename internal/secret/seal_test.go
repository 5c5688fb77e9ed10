package secret

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

const testKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func mustSealer(t testing.TB, key string) *Sealer {
	t.Helper()
	s, err := NewSealer(key)
	if err != nil || s == nil {
		t.Fatalf("NewSealer(%q): %v, %v", key, s, err)
	}
	return s
}

func TestSealRoundTrip(t *testing.T) {
	t.Parallel()
	s := mustSealer(t, testKeyHex)
	for _, plain := range []string{"AIzaSyExample0000000000000000000000000", "x", strings.Repeat("é", 5000)} {
		sealed := s.Seal("t_api_keys.api_key", plain)
		if !IsSealed(sealed) || (len(plain) > 8 && strings.Contains(sealed, plain)) {
			t.Fatalf("sealed %q as %q", plain, sealed)
		}
		got, err := s.Open("t_api_keys.api_key", sealed)
		if err != nil || got != plain {
			t.Fatalf("Open = %q, %v; want %q", got, err, plain)
		}
	}
	if a, b := s.Seal("p", "same"), s.Seal("p", "same"); a == b {
		t.Error("two seals of one value are equal: the nonce is not random")
	}
	if s.Seal("p", "") != "" {
		t.Error("the empty value must stay empty (a NULL-like setting)")
	}
}

func TestSealBindsPurposeAndKey(t *testing.T) {
	t.Parallel()
	s := mustSealer(t, testKeyHex)
	sealed := s.Seal("t_settings:API_KEYS", "secret-value")
	if _, err := s.Open("t_settings:PAID_KEY", sealed); !errors.Is(err, ErrWrongKey) {
		t.Errorf("a value moved to another setting decrypted: %v", err)
	}
	other := mustSealer(t, "a passphrase that is long enough")
	if _, err := other.Open("t_settings:API_KEYS", sealed); !errors.Is(err, ErrWrongKey) {
		t.Errorf("another key decrypted the value: %v", err)
	}
	var none *Sealer
	if _, err := none.Open("t_settings:API_KEYS", sealed); !errors.Is(err, ErrNoKey) {
		t.Errorf("without a key: %v", err)
	}
	tampered := sealed[:len(sealed)-2] + "AA"
	if _, err := s.Open("t_settings:API_KEYS", tampered); err == nil {
		t.Error("a tampered value decrypted")
	}
}

func TestPlainValuesPassThrough(t *testing.T) {
	t.Parallel()
	var none *Sealer
	if none.Seal("p", "plain") != "plain" {
		t.Error("a nil sealer changed the value")
	}
	s := mustSealer(t, testKeyHex)
	if got, err := s.Open("p", "stored before encryption"); err != nil || got != "stored before encryption" {
		t.Errorf("plain value read as %q, %v", got, err)
	}
}

func TestKeyFormats(t *testing.T) {
	t.Parallel()
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = byte(i)
	}
	hexKey := mustSealer(t, testKeyHex)
	sealed := hexKey.Seal("p", "v")
	for _, k := range []string{
		base64.StdEncoding.EncodeToString(raw),
		base64.RawURLEncoding.EncodeToString(raw),
		" " + testKeyHex + "\n",
	} {
		if got, err := mustSealer(t, k).Open("p", sealed); err != nil || got != "v" {
			t.Errorf("key %q is not the same 32 bytes as the hex form: %v", k, err)
		}
	}
	if err := CheckKey("short"); err == nil {
		t.Error("a short passphrase was accepted")
	}
	if _, err := NewSealer("short"); err == nil {
		t.Error("NewSealer accepted a short passphrase")
	}
	if s, err := NewSealer("  "); s != nil || err != nil {
		t.Errorf("an empty key must mean no encryption: %v, %v", s, err)
	}
	p1, p2 := mustSealer(t, "correct horse battery staple"), mustSealer(t, "correct horse battery staple")
	if got, err := p2.Open("p", p1.Seal("p", "v")); err != nil || got != "v" {
		t.Errorf("one passphrase derived two keys: %v", err)
	}
}

func TestLookupHash(t *testing.T) {
	t.Parallel()
	s := mustSealer(t, testKeyHex)
	if once, again := s.LookupHash("k"), s.LookupHash("k"); once != again || once == s.LookupHash("l") {
		t.Error("the lookup hash is not a deterministic function of the value")
	}
	var none *Sealer
	if none.LookupHash("k") == s.LookupHash("k") {
		t.Error("the keyed hash equals the plain SHA-256: the database alone would allow testing guesses")
	}
	if len(s.LookupHash("k")) != 64 {
		t.Error("the lookup hash does not fit VARCHAR(64)")
	}
}

// FuzzOpen feeds stored values from a hostile database: Open must never panic, and whatever it
// accepts must be what Seal produced.
func FuzzOpen(f *testing.F) {
	s := mustSealer(f, testKeyHex)
	f.Add("p", s.Seal("p", "AIzaSyExample"))
	f.Add("p", "enc:v1:")
	f.Add("p", "enc:v1:!!!")
	f.Add("", "plain")
	f.Fuzz(func(t *testing.T, purpose, stored string) {
		plain, err := s.Open(purpose, stored)
		if err != nil {
			return
		}
		if !IsSealed(stored) && plain != stored {
			t.Fatalf("a plain value changed: %q -> %q", stored, plain)
		}
		again, err := s.Open(purpose, s.Seal(purpose, plain))
		if err != nil || again != plain {
			t.Fatalf("round trip of %q: %q, %v", plain, again, err)
		}
	})
}
