package config

import "github.com/gemgate/gemgate/internal/secret"

// checkEncryptionKey refuses an ENCRYPTION_KEY that is neither 32 bytes nor a passphrase long enough
// to resist guessing, before anything is encrypted with it.
func checkEncryptionKey(v any) error { return secret.CheckKey(v.(string)) }
