package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// SealedPrefix marks a value encrypted by a Sealer; the version lets a later format coexist with this
// one in the same database.
const SealedPrefix = "enc:v1:"

// MinPassphrase is the shortest ENCRYPTION_KEY accepted as a passphrase (anything that is not 32
// bytes in hex or base64). Below it, guessing the passphrase beats any key derivation.
const MinPassphrase = 16

// passphraseIterations is OWASP's 2023 figure for PBKDF2-HMAC-SHA256. The salt has to be fixed:
// every instance sharing a database must derive the same key from the same passphrase, with nothing
// but the passphrase to go on.
const passphraseIterations = 600_000

var passphraseSalt = []byte("gemgate ENCRYPTION_KEY v1")

// Errors of Open.
var (
	ErrNoKey     = errors.New("the value is encrypted (" + SealedPrefix + "...) but ENCRYPTION_KEY is not set")
	ErrWrongKey  = errors.New("the value cannot be decrypted with this ENCRYPTION_KEY (another key encrypted it, or it was altered)")
	errMalformed = errors.New("the encrypted value is malformed")
)

// Sealer encrypts secrets for storage (AES-256-GCM with a random nonce per value) and derives the
// deterministic lookup hashes that let an encrypted column still carry a unique index. A nil *Sealer
// stores everything as plain text. Safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
	mac  []byte
}

// derived caches the key material per ENCRYPTION_KEY: deriving from a passphrase takes a noticeable
// fraction of a second, and the CLI, tests and restarts build sealers from the same value again.
var derived sync.Map // string -> [32]byte

// NewSealer builds a Sealer from ENCRYPTION_KEY: 32 bytes written as 64 hex digits or in base64
// (standard or URL alphabet, padded or not), or else a passphrase of at least MinPassphrase
// characters stretched with PBKDF2. An empty key means no encryption (nil, nil).
func NewSealer(key string) (*Sealer, error) {
	key = strings.TrimSpace(key)
	if key == "" {
		return nil, nil
	}
	master, err := masterKey(key)
	if err != nil {
		return nil, err
	}
	encKey, err := hkdf.Key(sha256.New, master[:], nil, "gemgate at-rest encryption v1", 32)
	if err != nil {
		return nil, fmt.Errorf("deriving the encryption key: %w", err)
	}
	macKey, err := hkdf.Key(sha256.New, master[:], nil, "gemgate lookup hash v1", 32)
	if err != nil {
		return nil, fmt.Errorf("deriving the lookup key: %w", err)
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, fmt.Errorf("ENCRYPTION_KEY: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("ENCRYPTION_KEY: %w", err)
	}
	return &Sealer{aead: aead, mac: macKey}, nil
}

// CheckKey validates an ENCRYPTION_KEY without deriving it.
func CheckKey(key string) error {
	key = strings.TrimSpace(key)
	if key == "" {
		return nil
	}
	if _, ok := rawKey(key); ok {
		return nil
	}
	if len([]rune(key)) < MinPassphrase {
		return fmt.Errorf("neither 32 bytes in hex (64 digits) or base64, nor a passphrase of at least %d characters", MinPassphrase)
	}
	return nil
}

func masterKey(key string) ([32]byte, error) {
	if v, ok := derived.Load(key); ok {
		return v.([32]byte), nil
	}
	if err := CheckKey(key); err != nil {
		return [32]byte{}, fmt.Errorf("ENCRYPTION_KEY: %w", err)
	}
	out, ok := rawKey(key)
	if !ok {
		k, err := pbkdf2.Key(sha256.New, key, passphraseSalt, passphraseIterations, 32)
		if err != nil {
			return [32]byte{}, fmt.Errorf("ENCRYPTION_KEY: %w", err)
		}
		copy(out[:], k)
	}
	derived.Store(key, out)
	return out, nil
}

// rawKey decodes a key given as exactly 32 bytes.
func rawKey(key string) ([32]byte, bool) {
	var out [32]byte
	if len(key) == 64 {
		if b, err := hex.DecodeString(key); err == nil {
			copy(out[:], b)
			return out, true
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(key); err == nil && len(b) == 32 {
			copy(out[:], b)
			return out, true
		}
	}
	return out, false
}

// IsSealed reports a value written by Seal.
func IsSealed(v string) bool { return strings.HasPrefix(v, SealedPrefix) }

// Seal encrypts plain for the place named by purpose (e.g. "t_settings:API_KEYS"): the purpose is
// authenticated, so a ciphertext copied into another column or setting does not decrypt. The empty
// string stays empty, and a nil Sealer returns plain unchanged.
func (s *Sealer) Seal(purpose, plain string) string {
	if s == nil || plain == "" {
		return plain
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails on supported platforms
	sealed := s.aead.Seal(nonce, nonce, []byte(plain), []byte(purpose))
	return SealedPrefix + base64.RawURLEncoding.EncodeToString(sealed)
}

// Open returns the plain text of a stored value. Values without the prefix were stored before
// encryption was turned on and come back as they are, so a database is readable while it is being
// migrated.
func (s *Sealer) Open(purpose, stored string) (string, error) {
	if !IsSealed(stored) {
		return stored, nil
	}
	if s == nil {
		return "", ErrNoKey
	}
	raw, err := base64.RawURLEncoding.DecodeString(stored[len(SealedPrefix):])
	if err != nil || len(raw) < s.aead.NonceSize()+s.aead.Overhead() {
		return "", errMalformed
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(purpose))
	if err != nil {
		return "", ErrWrongKey
	}
	return string(plain), nil
}

// LookupHash is the deterministic stand-in for a secret in a unique index: HMAC-SHA256 under a key
// derived from ENCRYPTION_KEY, so that the database alone does not allow testing guesses. Without a
// Sealer it is plain SHA-256.
func (s *Sealer) LookupHash(v string) string {
	if s == nil {
		sum := sha256.Sum256([]byte(v))
		return hex.EncodeToString(sum[:])
	}
	m := hmac.New(sha256.New, s.mac)
	m.Write([]byte(v))
	return hex.EncodeToString(m.Sum(nil))
}
