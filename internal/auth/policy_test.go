package auth

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/secret"
)

func testTokens(t *testing.T, env map[string]string, now *time.Time) *Tokens {
	t.Helper()
	snap, err := config.FromEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	tok := NewTokens(snap)
	tok.now = func() time.Time { return *now }
	return tok
}

func TestPolicyValidity(t *testing.T) {
	now := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	tok := testTokens(t, map[string]string{"ALLOWED_TOKENS": "sk-unlimited-token-000000"}, &now)
	tok.SetPolicies([]Policy{
		{ID: 1, Token: "sk-active-00000000000000", Enabled: true},
		{ID: 2, Token: "sk-disabled-000000000000", Enabled: false},
		{ID: 3, Token: "sk-expiring-000000000000", Enabled: true, ExpiresAt: now.Add(time.Hour)},
	})
	for token, want := range map[string]bool{
		"sk-unlimited-token-000000": true, "sk-active-00000000000000": true, "sk-disabled-000000000000": false,
		"sk-expiring-000000000000": true, "sk-unknown-0000000000000": false, "": false,
	} {
		if got := tok.Valid(token); got != want {
			t.Errorf("Valid(%q) = %v, want %v", token, got, want)
		}
	}
	now = now.Add(2 * time.Hour)
	if tok.Valid("sk-expiring-000000000000") {
		t.Error("an expired token is still valid")
	}
}

func TestResolveGrants(t *testing.T) {
	now := time.Now()
	tok := testTokens(t, map[string]string{"ALLOWED_TOKENS": "sk-unlimited-token-000000"}, &now)
	tok.SetPolicies([]Policy{{ID: 1, Token: "sk-active-00000000000000", Enabled: true}, {ID: 2, Token: "sk-off-0000000000000000"}})
	if g := tok.Resolve("sk-unlimited-token-000000"); g == nil || g.policy != nil || g.ID() != secret.ID("sk-unlimited-token-000000") {
		t.Errorf("a token without limits: %+v", g)
	}
	if g := tok.Resolve("sk-active-00000000000000"); g == nil || g.policy.ID != 1 {
		t.Fatalf("grant %+v", g)
	}
	for _, refused := range []string{"sk-off-0000000000000000", "sk-unknown-0000000000000", ""} {
		if g := tok.Resolve(refused); g != nil {
			t.Errorf("%q resolved to %+v", refused, g)
		}
	}
}

func TestModelAllowList(t *testing.T) {
	p := &Policy{Name: "n", Models: []string{"gemini-2.5-*", "my-alias"}}
	for _, c := range []struct {
		names []string
		want  bool
	}{
		{[]string{"gemini-2.5-flash"}, true},
		{[]string{"models/gemini-2.5-pro", ""}, true},
		{[]string{"my-alias", "gemini-2.0-flash"}, true}, // an alias the admin listed, resolved to another model
		{[]string{"gemini-2.0-flash"}, false},
		{[]string{"gemini-2.5"}, false},
		{[]string{""}, false},
	} {
		if got := p.allows(c.names...); got != c.want {
			t.Errorf("allows(%q) = %v", c.names, got)
		}
	}
	if !(&Policy{}).allows("anything") {
		t.Error("an empty list must allow every model")
	}
}

func TestDailyQuotaResetsAtMidnightInTimezone(t *testing.T) {
	// 15:59 UTC is 23:59 in Shanghai: one minute before the quota day ends there.
	now := time.Date(2030, 5, 1, 15, 59, 0, 0, time.UTC)
	tok := testTokens(t, map[string]string{"TIMEZONE": "Asia/Shanghai"}, &now)
	tok.SetPolicies([]Policy{{ID: 9, Name: "q", Token: "sk-quota-000000000000000", Enabled: true, DailyQuota: 2}})
	admit := func() *Denial { return tok.Resolve("sk-quota-000000000000000").Admit("m") }
	if first, second := admit(), admit(); first != nil || second != nil {
		t.Fatal("within the quota")
	}
	d := admit()
	if d == nil || d.Status != http.StatusTooManyRequests || d.RetryAfter != time.Minute {
		t.Fatalf("over the quota: %+v", d)
	}
	now = now.Add(time.Minute)
	if d := admit(); d != nil {
		t.Fatalf("after midnight in TIMEZONE: %+v", d)
	}
	if tok.Used(9) != 1 {
		t.Errorf("used today = %d", tok.Used(9))
	}
}

func TestSyncUsageSharesCounts(t *testing.T) {
	now := time.Date(2030, 5, 1, 8, 0, 0, 0, time.UTC)
	tok := testTokens(t, map[string]string{"TIMEZONE": "UTC"}, &now)
	tok.SetPolicies([]Policy{{ID: 1, Token: "sk-shared-00000000000000", Enabled: true, DailyQuota: 5}})
	admit := func() *Denial { return tok.Resolve("sk-shared-00000000000000").Admit("m") }
	shared := int64(3) // another instance's requests, already in the database
	store := func(_ context.Context, day string, deltas map[int64]int64) (map[int64]int64, error) {
		if day != "2030-05-01" {
			t.Errorf("day %q", day)
		}
		shared += deltas[1]
		return map[int64]int64{1: shared}, nil
	}
	if admit() != nil {
		t.Fatal("first request")
	}
	if err := tok.SyncUsage(t.Context(), store); err != nil {
		t.Fatal(err)
	}
	if tok.Used(1) != 4 || shared != 4 {
		t.Fatalf("after sync: used %d, shared %d", tok.Used(1), shared)
	}
	if admit() != nil || admit() == nil {
		t.Fatal("the other instance's requests must count toward the quota")
	}
	failing := func(context.Context, string, map[int64]int64) (map[int64]int64, error) {
		return nil, errors.New("db down")
	}
	if err := tok.SyncUsage(t.Context(), failing); err == nil {
		t.Fatal("sync error swallowed")
	}
	if err := tok.SyncUsage(t.Context(), store); err != nil || shared != 5 {
		t.Fatalf("requests counted while the database was down were lost: shared %d (%v)", shared, err)
	}
}
