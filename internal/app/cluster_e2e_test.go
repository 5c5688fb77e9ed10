package app_test

import (
	"context"
	"maps"
	"net/http/httptest"
	"testing"

	"github.com/gemgate/gemgate/internal/app"
	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/testutil"
)

// withRedis adds REDIS_URL (GEMGATE_TEST_REDIS; .ci/run sets it) and a REDIS_PREFIX of the test's own
// to env, skipping the test when the variable is unset.
func withRedis(t *testing.T, env map[string]string) map[string]string {
	t.Helper()
	url, prefix := testutil.Redis(t)
	out := map[string]string{"REDIS_URL": url, "REDIS_PREFIX": prefix}
	maps.Copy(out, env)
	return out
}

// second starts another gemgate on h's database, settings and Redis: a second instance behind the
// same load balancer. It stops when the test ends.
func (h *harness) second() *harness {
	h.t.Helper()
	other, err := app.New(context.Background(), app.Options{Env: h.env})
	if err != nil {
		h.t.Fatal(err)
	}
	srv := httptest.NewServer(other.Handler)
	h.t.Cleanup(func() { srv.Close(); other.Close() })
	return &harness{t: h.t, fake: h.fake, up: h.up, srv: srv, app: other, env: h.env}
}

// TestTwoInstancesShareStateThroughRedis runs two gemgate instances on one database and one Redis.
func TestTwoInstancesShareStateThroughRedis(t *testing.T) {
	t.Parallel()
	bad := "AIzaSyBad000000000000000000000000000000"
	env := withRedis(t, map[string]string{"API_KEYS": bad + "," + goodKey(0) + "," + goodKey(1)})
	a := newHarness(t, fakeupstream.Config{Keys: map[string]fakeupstream.Behavior{bad: fakeupstream.Invalid}}, env)
	bh := a.second()
	other := bh.app

	// Instance A meets the invalid key and disables it; B must skip it from then on.
	for range 3 {
		a.generate("gemini-2.5-flash", "hi")
	}
	if a.fake.Calls(bad) != 1 {
		t.Fatalf("A called the bad key %d times", a.fake.Calls(bad))
	}
	testutil.Eventually(t, "B to learn that the key is disabled", func() bool {
		_, usable := other.Pool.Counts()
		return usable == 2
	})
	for range 6 {
		if r := bh.generate("gemini-2.5-flash", "hi"); r.status != 200 {
			t.Fatalf("B: %d %s", r.status, r.body)
		}
	}
	if a.fake.Calls(bad) != 1 {
		t.Fatalf("B used a key A had disabled (%d calls)", a.fake.Calls(bad))
	}
	// A setting saved through A applies on B without restart.
	if r := a.do("PUT", "/api/config", map[string]any{"TEST_MODEL": "gemini-cluster-check"}, adminHeader); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	testutil.Eventually(t, "B to apply the saved setting", func() bool {
		return settingOf(t, bh, "TEST_MODEL")["value"] == "gemini-cluster-check"
	})
	// And a cooldown seen by B reaches A.
	k, _ := other.Pool.Lookup(goodKey(1))
	other.Pool.CoolDown(k, "gemini-2.5-pro", other.Pool.Now().Add(3600e9), "test cooldown")
	testutil.Eventually(t, "A to honour B's cooldown", func() bool {
		ka, _ := a.app.Pool.Lookup(goodKey(1))
		return len(ka.Cooldowns()) == 1
	})
}
