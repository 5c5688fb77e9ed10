package store

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/testutil"
)

const testEncryptionKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func testSealer(t *testing.T, key string) *secret.Sealer {
	t.Helper()
	s, err := secret.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func secretNames(names ...string) func(string) bool {
	return func(n string) bool {
		for _, x := range names {
			if x == n {
				return true
			}
		}
		return false
	}
}

func openWith(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawColumn reads one column of every row as stored, bypassing decryption.
func rawColumn(t *testing.T, s *Store, query string) []string {
	t.Helper()
	rows, err := s.DB().QueryContext(t.Context(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v *string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != nil {
			out = append(out, *v)
		} else {
			out = append(out, "")
		}
	}
	return out
}

func TestSealedKeyStatesAndSettings(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, cfg Config) {
		cfg.Sealer, cfg.SecretSetting = testSealer(t, testEncryptionKey), secretNames("API_KEYS")
		s := openWith(t, cfg)
		ctx := t.Context()
		keys := []string{"AIzaSySealedKey000000000000000000000001", "AIzaSySealedKey000000000000000000000002"}
		for round := range 3 { // upserts must find the rows again although every ciphertext is new
			if err := s.SaveKeyStates(ctx, []KeyState{{Key: keys[0], FailureCount: round}, {Key: keys[1]}}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.LoadKeyStates(ctx)
		if err != nil || len(got) != 2 || got[0].Key != keys[0] || got[0].FailureCount != 2 || got[1].Key != keys[1] {
			t.Fatalf("loaded %+v, %v", got, err)
		}
		for _, v := range rawColumn(t, s, "SELECT api_key FROM t_api_keys") {
			if !secret.IsSealed(v) || strings.Contains(v, "AIza") {
				t.Errorf("t_api_keys.api_key stored as %q", v)
			}
		}
		if err := s.DeleteKeyStates(ctx, keys[:1]); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.LoadKeyStates(ctx); len(got) != 1 || got[0].Key != keys[1] {
			t.Fatalf("after delete: %+v", got)
		}

		if err := s.SaveSettings(ctx, map[string]string{"API_KEYS": `["` + keys[0] + `"]`, "TIME_OUT": "30"}); err != nil {
			t.Fatal(err)
		}
		raw := strings.Join(rawColumn(t, s, "SELECT value FROM t_settings ORDER BY value"), "|")
		if strings.Contains(raw, keys[0]) || !strings.Contains(raw, "30") || !strings.Contains(raw, secret.SealedPrefix) {
			t.Errorf("t_settings holds %q: secrets must be sealed, other values plain", raw)
		}
		vals, err := s.LoadSettings(ctx)
		if err != nil || vals["API_KEYS"] != `["`+keys[0]+`"]` || vals["TIME_OUT"] != "30" {
			t.Fatalf("settings read back as %v, %v", vals, err)
		}

		// The same database without the key refuses to start rather than read ciphertext as a key.
		plain := cfg
		plain.Sealer = nil
		s2 := openWith(t, plain)
		if _, err := s2.LoadSettings(ctx); !errors.Is(err, secret.ErrNoKey) {
			t.Errorf("LoadSettings without the key: %v", err)
		}
		if _, err := s2.LoadKeyStates(ctx); !errors.Is(err, secret.ErrNoKey) {
			t.Errorf("LoadKeyStates without the key: %v", err)
		}
	})
}

func TestSealExisting(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, cfg Config) {
		ctx := t.Context()
		cfg.SecretSetting = secretNames("API_KEYS", "AUTH_TOKEN")
		plain := openWith(t, cfg)
		key := "AIzaSyPlainKey0000000000000000000000001"
		if err := plain.SaveKeyStates(ctx, []KeyState{{Key: key, FailureCount: 1}}); err != nil {
			t.Fatal(err)
		}
		if err := plain.SaveSettings(ctx, map[string]string{"API_KEYS": key, "AUTH_TOKEN": "sk-admin-token-0000000000", "TIME_OUT": "9"}); err != nil {
			t.Fatal(err)
		}
		tok, err := plain.CreateClientToken(ctx, ClientToken{Token: "sk-client-token-000000000001", Name: "a", Enabled: true})
		if err != nil {
			t.Fatal(err)
		}

		sealedCfg := cfg
		sealedCfg.Sealer = testSealer(t, testEncryptionKey)
		s := openWith(t, sealedCfg)
		rep, err := s.SealExisting(ctx, true)
		if err != nil || rep.Settings != 2 || rep.Keys != 1 || rep.Tokens != 1 {
			t.Fatalf("first run: %+v, %v", rep, err)
		}
		if rep, err := s.SealExisting(ctx, true); err != nil || rep.Changed() {
			t.Fatalf("second run changed %+v (%v): it must be idempotent", rep, err)
		}
		dump := strings.Join(append(append(rawColumn(t, s, "SELECT value FROM t_settings"),
			rawColumn(t, s, "SELECT api_key FROM t_api_keys")...), rawColumn(t, s, "SELECT token FROM t_client_tokens")...), "|")
		if strings.Contains(dump, key) || strings.Contains(dump, "sk-admin") || strings.Contains(dump, "sk-client") {
			t.Fatalf("a secret is still in plain text: %s", dump)
		}
		states, err := s.LoadKeyStates(ctx)
		if err != nil || len(states) != 1 || states[0].Key != key || states[0].FailureCount != 1 {
			t.Fatalf("keys after sealing: %+v, %v", states, err)
		}
		// Writes after sealing update the sealed row, not a new one.
		if err := s.SaveKeyStates(ctx, []KeyState{{Key: key, FailureCount: 5}}); err != nil {
			t.Fatal(err)
		}
		if states, _ := s.LoadKeyStates(ctx); len(states) != 1 || states[0].FailureCount != 5 {
			t.Fatalf("upsert after sealing: %+v", states)
		}
		toks, err := s.ListClientTokens(ctx)
		if err != nil || len(toks) != 1 || toks[0].Token != tok.Token {
			t.Fatalf("tokens after sealing: %+v, %v", toks, err)
		}
		if _, err := s.CreateClientToken(ctx, ClientToken{Token: tok.Token, Name: "dup"}); !errors.Is(err, ErrTokenExists) {
			t.Errorf("a sealed token was created twice: %v", err)
		}

		wrongCfg := cfg
		wrongCfg.Sealer = testSealer(t, "another passphrase, long enough")
		wrong := openWith(t, wrongCfg)
		if _, err := wrong.SealExisting(ctx, true); !errors.Is(err, secret.ErrWrongKey) {
			t.Errorf("the wrong key: %v", err)
		}

		rep, err = s.SealExisting(ctx, false)
		if err != nil || rep.Settings != 2 || rep.Keys != 1 || rep.Tokens != 1 {
			t.Fatalf("decrypting: %+v, %v", rep, err)
		}
		back := openWith(t, cfg)
		vals, err := back.LoadSettings(ctx)
		if err != nil || vals["API_KEYS"] != key {
			t.Fatalf("plain store after decrypting: %v, %v", vals, err)
		}
		if toks, err := back.ListClientTokens(ctx); err != nil || len(toks) != 1 || toks[0].Token != tok.Token {
			t.Fatalf("plain tokens after decrypting: %+v, %v", toks, err)
		}
		if _, err := back.CreateClientToken(ctx, ClientToken{Token: tok.Token, Name: "dup"}); !errors.Is(err, ErrTokenExists) {
			t.Errorf("the plain hash was not restored: %v", err)
		}
	})
}

func TestClientTokens(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, cfg Config) {
		ctx := t.Context()
		s := openWith(t, cfg)
		exp := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
		a, err := s.CreateClientToken(ctx, ClientToken{Token: "sk-token-a-0000000000000000", Name: "alice", Enabled: true,
			ExpiresAt: exp, Models: []string{"gemini-2.5-*"}, DailyQuota: 10})
		if err != nil || a.ID == 0 {
			t.Fatalf("create: %+v, %v", a, err)
		}
		b, err := s.CreateClientToken(ctx, ClientToken{Token: "sk-token-b-0000000000000000", Name: "bob"})
		if err != nil || b.ID == a.ID {
			t.Fatalf("create b: %+v, %v", b, err)
		}
		list, err := s.ListClientTokens(ctx)
		if err != nil || len(list) != 2 || !list[0].ExpiresAt.Equal(exp) || list[0].Models[0] != "gemini-2.5-*" ||
			list[0].DailyQuota != 10 || !list[0].Enabled || list[1].Enabled || list[1].Models != nil {
			t.Fatalf("list: %+v, %v", list, err)
		}
		a.Name, a.Enabled, a.ExpiresAt, a.Models = "alice2", false, time.Time{}, nil
		if err := s.UpdateClientToken(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateClientToken(ctx, ClientToken{ID: 999999, Name: "x"}); !errors.Is(err, ErrTokenNotFound) {
			t.Errorf("update of a missing token: %v", err)
		}
		day1, day2 := "2030-01-01", "2030-01-02"
		for _, step := range []struct {
			day   string
			delta int64
			want  int64
		}{{day1, 3, 3}, {day1, 2, 5}, {day1, 0, 5}, {day2, 1, 1}} {
			got, err := s.AddTokenUsage(ctx, step.day, map[int64]int64{a.ID: step.delta})
			if err != nil || got[a.ID] != step.want {
				t.Fatalf("usage %s +%d = %v, %v; want %d", step.day, step.delta, got, err, step.want)
			}
		}
		if err := s.DeleteClientToken(ctx, b.ID); err != nil {
			t.Fatal(err)
		}
		list, _ = s.ListClientTokens(ctx)
		if len(list) != 1 || list[0].Name != "alice2" || list[0].Enabled || !list[0].ExpiresAt.IsZero() || list[0].UsedDay != day2 || list[0].UsedCount != 1 {
			t.Fatalf("after update and delete: %+v", list)
		}
		if err := s.DeleteClientToken(ctx, b.ID); !errors.Is(err, ErrTokenNotFound) {
			t.Errorf("deleting twice: %v", err)
		}
	})
}

func TestOpenRetry(t *testing.T) {
	t.Parallel()
	t.Run("sqlite fails at once", func(t *testing.T) {
		cfg := freshSQLite(t)
		cfg.SQLitePath = t.TempDir() // a folder is not a database file
		calls := 0
		_, err := OpenRetry(t.Context(), cfg, 10*time.Second, func(int, error, time.Duration) { calls++ })
		if err == nil || calls > 0 {
			t.Fatalf("err %v after %d retries: a broken file has no server to wait for", err, calls)
		}
	})
	t.Run("a server that never answers", func(t *testing.T) {
		cfg := Config{Type: "postgres", PostgresDSN: "postgres://gg:pw@" + testutil.ClosedAddr(t) + "/gg?sslmode=disable&connect_timeout=2"}
		start := time.Now()
		var attempts []int
		_, err := OpenRetry(t.Context(), cfg, 2*time.Second, func(n int, _ error, _ time.Duration) { attempts = append(attempts, n) })
		took := time.Since(start)
		if err == nil || !strings.Contains(err.Error(), "gave up after") || !strings.Contains(err.Error(), "DB_CONNECT_TIMEOUT") {
			t.Fatalf("error %v: the message must say how long it tried and which setting to raise", err)
		}
		// A lower bound only: a busy machine makes the wait longer, never shorter than the setting.
		if len(attempts) < 2 || took < time.Second {
			t.Fatalf("%d retries in %s: want several, within the wait", len(attempts), took)
		}
	})
}
