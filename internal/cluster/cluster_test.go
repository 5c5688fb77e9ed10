package cluster_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/gemgate/gemgate/internal/cluster"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/testutil"
)

// The same key strings in the Gemini and the Vertex pool: their IDs are equal, so only the pool name in
// a message keeps a Vertex change off the Gemini key.
var keys = []string{
	"AIzaSyCluster00000000000000000000000000a",
	"AIzaSyCluster00000000000000000000000000b",
	"AIzaSyCluster00000000000000000000000000c",
}

// settingsTable is the settings table the instances of one test share, as they share one database.
type settingsTable struct {
	mu   sync.Mutex
	rows map[string]string
}

func (s *settingsTable) LoadSettings(context.Context) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.rows), nil
}

func (s *settingsTable) SaveSettings(_ context.Context, values map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rows == nil {
		s.rows = map[string]string{}
	}
	maps.Copy(s.rows, values)
	return nil
}

func (s *settingsTable) DeleteSettings(_ context.Context, names []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		delete(s.rows, n)
	}
	return nil
}

// instance is one gemgate's share of the cluster: its key pools and settings, joined through Redis.
type instance struct {
	c        *cluster.Cluster
	pool     *keypool.Pool
	vertex   *keypool.Pool
	settings *config.Manager
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func join(t *testing.T, url, prefix string, db *settingsTable) *instance {
	t.Helper()
	mgr, err := config.NewManager(map[string]string{"AUTH_TOKEN": "sk-cluster-admin-token-0000000"}, db)
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	in := &instance{pool: keypool.New(keys, 3), vertex: keypool.New(keys, 3), settings: mgr}
	in.c, err = cluster.New(context.Background(), url, prefix, in.pool, mgr, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.c.Close() })
	in.c.AddPool("vertex", in.vertex)
	return in
}

// pair starts two instances on one Redis, a prefix of the test's own and one settings table.
func pair(t *testing.T) (url, prefix string, a, b *instance) {
	t.Helper()
	url, prefix = testutil.Redis(t)
	db := &settingsTable{}
	return url, prefix, join(t, url, prefix, db), join(t, url, prefix, db)
}

func key(t *testing.T, p *keypool.Pool, i int) *keypool.Key {
	t.Helper()
	k, ok := p.Lookup(keys[i])
	if !ok {
		t.Fatalf("key %d not in the pool", i)
	}
	return k
}

// client is a plain Redis client, for what the test does beside the cluster.
func client(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	return redis.NewClient(opts)
}

// listen subscribes to the cluster's channel as a bystander and returns the messages in order.
func listen(t *testing.T, url, prefix string) <-chan map[string]any {
	t.Helper()
	rdb := client(t, url)
	sub := rdb.Subscribe(context.Background(), prefix+":events")
	if _, err := sub.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := make(chan map[string]any, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for msg := range sub.Channel() {
			var m map[string]any
			if json.Unmarshal([]byte(msg.Payload), &m) == nil {
				out <- m
			}
		}
	}()
	t.Cleanup(func() {
		sub.Close()
		rdb.Close()
		<-done
	})
	return out
}

func publish(t *testing.T, url, channel string, payloads ...string) {
	t.Helper()
	rdb := client(t, url)
	defer rdb.Close()
	for _, p := range payloads {
		if err := rdb.Publish(context.Background(), channel, p).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNewRefusesABadURL(t *testing.T) {
	t.Parallel()
	mgr, _ := config.NewManager(nil, &settingsTable{})
	if _, err := cluster.New(context.Background(), "mysql://x", "p", keypool.New(keys, 3), mgr, quiet()); err == nil || !strings.Contains(err.Error(), "REDIS_URL") {
		t.Fatalf("error %v: it must name the setting", err)
	}
}

func TestNewFailsWithoutRedis(t *testing.T) {
	t.Parallel()
	addr := testutil.ClosedAddr(t)
	mgr, _ := config.NewManager(nil, &settingsTable{})
	_, err := cluster.New(context.Background(), "redis://"+addr+"/0", "p", keypool.New(keys, 3), mgr, quiet())
	if err == nil || !strings.Contains(err.Error(), "connecting to Redis at "+addr) {
		t.Fatalf("error %v: it must say where it tried", err)
	}
}

// A key disabled, re-enabled or cooled down on one instance is the same on the others.
func TestKeyStateTravels(t *testing.T) {
	t.Parallel()
	_, _, a, b := pair(t)

	a.pool.Disable(key(t, a.pool, 0), "invalid")
	testutil.Eventually(t, "B to disable the key A disabled", func() bool { return key(t, b.pool, 0).Disabled() })
	a.pool.Enable(key(t, a.pool, 0))
	testutil.Eventually(t, "B to enable it again", func() bool { return !key(t, b.pool, 0).Disabled() })

	b.pool.CoolDown(key(t, b.pool, 1), "gemini-2.5-pro", time.Now().Add(time.Hour), "quota")
	testutil.Eventually(t, "A to cool down the key B cooled", func() bool {
		c := key(t, a.pool, 1).Cooldowns()
		return len(c) == 1 && c[0].Model == "gemini-2.5-pro"
	})
}

// Instances on another REDIS_PREFIX hear nothing of this cluster.
func TestPrefixesKeepClustersApart(t *testing.T) {
	t.Parallel()
	_, _, a, b := pair(t)
	_, _, c, d := pair(t) // another prefix

	a.pool.Disable(key(t, a.pool, 0), "invalid")
	testutil.Eventually(t, "B to hear A", func() bool { return key(t, b.pool, 0).Disabled() })
	// Redis delivers to each subscriber in publishing order: once C has D's later news, it would also
	// have had A's had it listened to A's channel.
	d.pool.Disable(key(t, d.pool, 2), "invalid")
	testutil.Eventually(t, "C to hear D", func() bool { return key(t, c.pool, 2).Disabled() })
	if key(t, c.pool, 0).Disabled() {
		t.Fatal("an instance on another prefix applied A's change")
	}
}

// A change to another pool (the Vertex keys) reaches that pool only; news of a pool an instance does not
// have, and what is not a message at all, is ignored.
func TestOtherPoolsByName(t *testing.T) {
	t.Parallel()
	url, prefix, a, b := pair(t)
	id := key(t, a.pool, 1).ID()
	publish(t, url, prefix+":events",
		"not JSON",
		`{"from":"elsewhere","pool":"nope","key":{"kind":"disable","key_ids":["`+id+`"]}}`)

	a.vertex.Disable(key(t, a.vertex, 0), "invalid")
	testutil.Eventually(t, "B to disable the Vertex key", func() bool { return key(t, b.vertex, 0).Disabled() })
	if key(t, b.pool, 0).Disabled() || key(t, b.pool, 1).Disabled() || key(t, b.vertex, 1).Disabled() {
		t.Fatal("a change was applied to a pool it was not about")
	}
}

// A setting saved on one instance is loaded by the others, and their reload is not announced again
// (which would have every instance reload for ever).
func TestSettingsTravelOnce(t *testing.T) {
	t.Parallel()
	url, prefix, a, b := pair(t)
	heard := listen(t, url, prefix)

	if err := a.settings.Update(context.Background(), map[string]string{config.TestModel.Name(): "gemini-cluster-check"}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "B to load the saved setting", func() bool {
		return config.TestModel.Get(b.settings.Current()) == "gemini-cluster-check"
	})
	// OnChange waits for the manager's lock, so B's reload, and whatever it queued, is over when it
	// returns; B's next news is queued behind it.
	b.settings.OnChange(func(_, _ *config.Snapshot) {})
	b.pool.Disable(key(t, b.pool, 2), "sentinel")
	announced := 0
	for m := range heard {
		if m["settings"] == true {
			announced++
		}
		if m["key"] != nil {
			break
		}
	}
	if announced != 1 {
		t.Fatalf("the change was announced %d times, want once", announced)
	}
}

// Requests one instance counts against KEY_MODEL_LIMITS count on the others.
func TestUsageTravels(t *testing.T) {
	t.Parallel()
	_, _, a, b := pair(t)
	limits := map[string]keypool.Limit{"gemini-2.5-flash": {RPD: 10}}
	a.pool.SetLimits(limits)
	b.pool.SetLimits(limits)

	k, err := a.pool.Pick("gemini-2.5-flash", nil)
	if err != nil {
		t.Fatal(err)
	}
	onB, _ := b.pool.LookupID(k.ID())
	testutil.Eventually(t, "B to count A's request", func() bool {
		u := b.pool.UsageOf(onB)
		return len(u) == 1 && u[0].Day == 1
	})
}

// Close stops every goroutine the cluster started and closes its connections.
func TestCloseStopsEverything(t *testing.T) {
	url, prefix := testutil.Redis(t)
	before := goleak.IgnoreCurrent()
	mgr, err := config.NewManager(nil, &settingsTable{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cluster.New(context.Background(), url, prefix, keypool.New(keys, 3), mgr, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, before)
}
