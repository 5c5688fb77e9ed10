package app_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/gemgate/gemgate/internal/app"
	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/testutil"
)

// TestTwoInstancesShareStateThroughRedis runs two gemgate instances on one database and one Redis
// (GEMGATE_TEST_REDIS, e.g. redis://127.0.0.1:6379/0; .ci/run sets it).
func TestTwoInstancesShareStateThroughRedis(t *testing.T) {
	url := os.Getenv("GEMGATE_TEST_REDIS")
	if url == "" {
		t.Skip("GEMGATE_TEST_REDIS not set")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	bad := "AIzaSyBad000000000000000000000000000000"
	env := map[string]string{
		"REDIS_URL":    url,
		"REDIS_PREFIX": "gemgate-test-" + hex.EncodeToString(b[:]),
		"API_KEYS":     bad + "," + goodKey(0) + "," + goodKey(1),
	}
	a := newHarness(t, fakeupstream.Config{Keys: map[string]fakeupstream.Behavior{bad: fakeupstream.Invalid}}, env)
	other, err := app.New(context.Background(), app.Options{Env: a.env})
	if err != nil {
		t.Fatal(err)
	}
	srvB := httptest.NewServer(other.Handler)
	t.Cleanup(func() { srvB.Close(); other.Close() })
	bh := &harness{t: t, fake: a.fake, srv: srvB, app: other}

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
