package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/store"
)

// rawSecrets returns every stored secret column as written, without decryption.
func rawSecrets(t *testing.T) string {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{SQLitePath: filepath.Join("data", "gg.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var out []string
	for _, q := range []string{"SELECT value FROM t_settings", "SELECT api_key FROM t_api_keys"} {
		rows, err := st.DB().Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var v *string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			if v != nil {
				out = append(out, *v)
			}
		}
		rows.Close()
	}
	return strings.Join(out, "\n")
}

func TestEncryptExisting(t *testing.T) {
	dir := inTempDir(t)
	t.Setenv("ENCRYPTION_KEY", "")
	runErr(t, "ENCRYPTION_KEY is not set", "encrypt-existing", "--db", "gg.db")
	t.Setenv("ENCRYPTION_KEY", "a passphrase that is long enough")
	runErr(t, "no database", "encrypt-existing", "--db", "gg.db")
	runErr(t, "takes no arguments", "encrypt-existing", "extra")
	t.Setenv("ENCRYPTION_KEY", "")

	file := filepath.Join(dir, "keys.txt")
	if err := os.WriteFile(file, []byte(key1+"\n"+key2+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runOK(t, "keys", "import", file, "--db", "gg.db")
	st, err := store.Open(context.Background(), store.Config{SQLitePath: filepath.Join("data", "gg.db")})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveKeyStates(context.Background(), []store.KeyState{{Key: key1, FailureCount: 2}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if raw := rawSecrets(t); !strings.Contains(raw, key1) {
		t.Fatal("the test needs plain keys to start from")
	}

	t.Setenv("ENCRYPTION_KEY", "a passphrase that is long enough")
	out := runOK(t, "encrypt-existing", "--db", "gg.db")
	if !strings.Contains(out, "Encrypted:") || !strings.Contains(out, "1 API keys") {
		t.Fatalf("first run:\n%s", out)
	}
	if raw := rawSecrets(t); strings.Contains(raw, key1) || strings.Contains(raw, key2) || !strings.Contains(raw, "enc:v1:") {
		t.Fatalf("keys still in plain text after encrypt-existing:\n%s", raw)
	}
	if out := runOK(t, "encrypt-existing", "--db", "gg.db"); !strings.Contains(out, "Nothing to do") {
		t.Fatalf("second run must change nothing:\n%s", out)
	}
	if out := runOK(t, "keys", "export", "--db", "gg.db"); out != key1+"\n"+key2+"\n" {
		t.Fatalf("export with the key:\n%s", out)
	}
	t.Setenv("ENCRYPTION_KEY", "")
	runErr(t, "ENCRYPTION_KEY is not set", "keys", "export", "--db", "gg.db")

	t.Setenv("ENCRYPTION_KEY", "the wrong passphrase, long enough")
	runErr(t, "cannot be decrypted", "encrypt-existing", "--db", "gg.db")
	t.Setenv("ENCRYPTION_KEY", "a passphrase that is long enough")
	if out := runOK(t, "encrypt-existing", "--db", "gg.db", "--decrypt"); !strings.Contains(out, "Decrypted:") {
		t.Fatalf("--decrypt:\n%s", out)
	}
	t.Setenv("ENCRYPTION_KEY", "")
	if out := runOK(t, "keys", "export", "--db", "gg.db"); out != key1+"\n"+key2+"\n" {
		t.Fatalf("export after --decrypt, without the key:\n%s", out)
	}
}
