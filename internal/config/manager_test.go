package config

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// memStore is an in-memory t_settings.
type memStore struct {
	mu        sync.Mutex
	rows      map[string]string
	saves     int
	deletes   int
	failLoad  error
	failSave  error
	failDel   error
	lastSaved map[string]string
}

func newMemStore(rows map[string]string) *memStore {
	if rows == nil {
		rows = map[string]string{}
	}
	return &memStore{rows: rows}
}

func (s *memStore) LoadSettings(context.Context) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failLoad != nil {
		return nil, s.failLoad
	}
	return maps.Clone(s.rows), nil
}

func (s *memStore) SaveSettings(_ context.Context, values map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failSave != nil {
		return s.failSave
	}
	s.saves++
	s.lastSaved = maps.Clone(values)
	maps.Copy(s.rows, values)
	return nil
}

func (s *memStore) DeleteSettings(_ context.Context, names []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failDel != nil {
		return s.failDel
	}
	s.deletes++
	for _, n := range names {
		delete(s.rows, n)
	}
	return nil
}

func (s *memStore) row(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.rows[name]
	return v, ok
}

func (s *memStore) counts() (saves, deletes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saves, s.deletes
}

func loaded(t *testing.T, env map[string]string, store *memStore) *Manager {
	t.Helper()
	m, err := NewManager(env, store)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m
}

var tokenRE = regexp.MustCompile(`^sk-[A-Za-z0-9_]{48}$`)

func TestLoadFirstStart(t *testing.T) {
	store := newMemStore(nil)
	m := loaded(t, map[string]string{"MAX_FAILURES": "10", "PORT": "9000", "MYSQL_PASSWORD": "pw"}, store)
	snap := m.Current()

	for _, d := range All() {
		raw, ok := store.row(d.Name)
		if d.Bootstrap {
			if ok {
				t.Errorf("bootstrap setting %s was stored", d.Name)
			}
			continue
		}
		if !ok {
			t.Errorf("%s was not stored on first start", d.Name)
			continue
		}
		if d != AuthToken.def && raw != d.Format(snap.Value(d)) {
			t.Errorf("%s stored as %q, in force %q", d.Name, raw, d.Format(snap.Value(d)))
		}
		if snap.Source(d) != SourceDB {
			t.Errorf("%s: source %s after first store", d.Name, snap.Source(d))
		}
	}
	if raw, _ := store.row("MAX_FAILURES"); raw != "10" {
		t.Errorf("env value not stored: %q", raw)
	}
	if Port.Get(snap) != 9000 || snap.Source(Port.Def()) != SourceEnv {
		t.Error("bootstrap env value lost")
	}

	tok := AuthToken.Get(snap)
	if !tokenRE.MatchString(tok) {
		t.Errorf("generated AUTH_TOKEN %q", tok)
	}
	if m.GeneratedAuthToken != tok {
		t.Errorf("GeneratedAuthToken = %q, in force %q", m.GeneratedAuthToken, tok)
	}
	if raw, _ := store.row("AUTH_TOKEN"); raw != tok {
		t.Errorf("stored AUTH_TOKEN %q", raw)
	}
	if snap.Version() != 2 {
		t.Errorf("version %d after load", snap.Version())
	}

	// The next start finds everything stored: nothing generated, nothing rewritten.
	saves, _ := store.counts()
	m2 := loaded(t, nil, store)
	if m2.GeneratedAuthToken != "" || AuthToken.Get(m2.Current()) != tok {
		t.Errorf("second start: generated %q, token %q", m2.GeneratedAuthToken, AuthToken.Get(m2.Current()))
	}
	if MaxFailures.Get(m2.Current()) != 10 {
		t.Error("stored value not loaded on second start")
	}
	if s2, _ := store.counts(); s2 != saves {
		t.Errorf("second start wrote %d times", s2-saves)
	}
}

func TestLoadKeepsEnvAuthToken(t *testing.T) {
	store := newMemStore(nil)
	m := loaded(t, map[string]string{"AUTH_TOKEN": "my-admin"}, store)
	if m.GeneratedAuthToken != "" || AuthToken.Get(m.Current()) != "my-admin" {
		t.Errorf("generated %q, token %q", m.GeneratedAuthToken, AuthToken.Get(m.Current()))
	}
	if raw, _ := store.row("AUTH_TOKEN"); raw != "my-admin" {
		t.Errorf("stored %q", raw)
	}
}

func TestLoadDatabaseWins(t *testing.T) {
	store := newMemStore(map[string]string{
		"MAX_FAILURES":  "7",
		"LOG_LEVEL":     "debug",
		"API_KEYS":      `["db1","db2"]`,
		"AUTH_TOKEN":    "stored-token",
		"PORT":          "1",     // bootstrap rows (the reference stored MYSQL_*) are ignored
		"DATABASE_TYPE": "mysql", // never read from the database
		"SOMETHING_OLD": "x",     // unknown rows are ignored
	})
	m := loaded(t, map[string]string{"MAX_FAILURES": "5", "PORT": "9000", "API_KEYS": "env1"}, store)
	s := m.Current()
	if MaxFailures.Get(s) != 7 || s.Source(MaxFailures.Def()) != SourceDB {
		t.Errorf("MAX_FAILURES = %d from %s, want the stored 7", MaxFailures.Get(s), s.Source(MaxFailures.Def()))
	}
	if LogLevel.Get(s) != "DEBUG" {
		t.Errorf("LOG_LEVEL = %q", LogLevel.Get(s))
	}
	if got := APIKeys.Get(s); len(got) != 2 || got[0] != "db1" {
		t.Errorf("API_KEYS = %q", got)
	}
	if Port.Get(s) != 9000 || DatabaseType.Get(s) != "sqlite" {
		t.Error("bootstrap settings must come from env")
	}
	if m.GeneratedAuthToken != "" || AuthToken.Get(s) != "stored-token" {
		t.Error("stored AUTH_TOKEN must be kept")
	}
	if len(m.Warnings) != 0 {
		t.Errorf("warnings: %q", m.Warnings)
	}
	if v, ok := m.Env("MAX_FAILURES"); !ok || v != "5" {
		t.Errorf("Env = %q, %v", v, ok)
	}
}

func TestLoadBadStoredRow(t *testing.T) {
	store := newMemStore(map[string]string{"MAX_FAILURES": "lots", "TIME_OUT": "5"})
	m := loaded(t, map[string]string{"MAX_FAILURES": "5"}, store)
	s := m.Current()
	if MaxFailures.Get(s) != 5 || s.Source(MaxFailures.Def()) != SourceEnv {
		t.Errorf("MAX_FAILURES = %d from %s, want the env 5", MaxFailures.Get(s), s.Source(MaxFailures.Def()))
	}
	if TimeOut.Get(s) != 5 {
		t.Error("good rows must still load")
	}
	if len(m.Warnings) != 1 || !strings.Contains(m.Warnings[0], "MAX_FAILURES") {
		t.Errorf("warnings = %q", m.Warnings)
	}
}

func TestLoadStoreErrors(t *testing.T) {
	store := newMemStore(nil)
	store.failLoad = errors.New("db down")
	m, err := NewManager(nil, store)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Load(context.Background()); err == nil || !strings.Contains(err.Error(), "db down") {
		t.Errorf("Load = %v", err)
	}
	store.failLoad, store.failSave = nil, errors.New("read only")
	if err := m.Load(context.Background()); err == nil || !strings.Contains(err.Error(), "read only") {
		t.Errorf("Load = %v", err)
	}
	if m.Current().Version() != 1 {
		t.Error("a failed load must not swap the snapshot")
	}
}

func TestNewManagerBadEnv(t *testing.T) {
	if _, err := NewManager(map[string]string{"LOG_LEVEL": "LOUD"}, newMemStore(nil)); err == nil || !strings.Contains(err.Error(), "LOG_LEVEL") {
		t.Errorf("NewManager = %v", err)
	}
}

func TestUpdate(t *testing.T) {
	ctx := context.Background()
	store := newMemStore(nil)
	m := loaded(t, nil, store)
	before := m.Current()
	saves, _ := store.counts()

	err := m.Update(ctx, map[string]string{"MAX_FAILURES": "9", "TIME_OUT": "0", "NO_SUCH": "1"})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, name := range []string{"TIME_OUT", "NO_SUCH"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	if m.Current() != before {
		t.Error("a rejected update must not swap the snapshot")
	}
	if s, _ := store.counts(); s != saves {
		t.Error("a rejected update must not store anything")
	}
	if raw, _ := store.row("MAX_FAILURES"); raw != "3" {
		t.Errorf("MAX_FAILURES row = %q", raw)
	}

	for name, raw := range map[string]string{"AUTH_TOKEN": "", "PORT": "9000", "DATABASE_TYPE": "mysql"} {
		if err := m.Update(ctx, map[string]string{name: raw}); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Update(%s=%q) = %v", name, raw, err)
		}
	}
	if err := m.Update(ctx, map[string]string{"AUTH_TOKEN": "   "}); err == nil {
		t.Error("a blank AUTH_TOKEN must be refused")
	}

	if err := m.Update(ctx, map[string]string{"MAX_FAILURES": "9.0", "LOG_LEVEL": "error", "THINKING_BUDGET_MAP": "{'m': 100}"}); err != nil {
		t.Fatal(err)
	}
	s := m.Current()
	if MaxFailures.Get(s) != 9 || LogLevel.Get(s) != "ERROR" || ThinkingBudgetMap.Get(s)["m"] != 100 {
		t.Error("update not applied")
	}
	if s.Version() != before.Version()+1 {
		t.Errorf("version %d, want %d", s.Version(), before.Version()+1)
	}
	// Stored in canonical form, so the database reads like one written by the admin form.
	want := map[string]string{"MAX_FAILURES": "9", "LOG_LEVEL": "ERROR", "THINKING_BUDGET_MAP": `{"m":100}`}
	if !maps.Equal(store.lastSaved, want) {
		t.Errorf("stored %q, want %q", store.lastSaved, want)
	}

	store.failSave = errors.New("disk full")
	if err := m.Update(ctx, map[string]string{"MAX_FAILURES": "4"}); err == nil {
		t.Error("want the store's error")
	}
	if MaxFailures.Get(m.Current()) != 9 {
		t.Error("a value that could not be stored must not be applied")
	}
}

func TestOnChange(t *testing.T) {
	m := loaded(t, nil, newMemStore(nil))
	var calls []string
	m.OnChange(func(old, new *Snapshot) {
		calls = append(calls, fmt.Sprintf("%d:%d->%d:%d", old.Version(), MaxFailures.Get(old), new.Version(), MaxFailures.Get(new)))
	})
	if err := m.Update(context.Background(), map[string]string{"MAX_FAILURES": "4"}); err != nil {
		t.Fatal(err)
	}
	_ = m.Update(context.Background(), map[string]string{"MAX_FAILURES": "0"}) // rejected: no call
	if err := m.Update(context.Background(), map[string]string{"MAX_FAILURES": "6"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"2:3->3:4", "3:4->4:6"}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Errorf("calls %q, want %q", calls, want)
	}
}

func TestRevert(t *testing.T) {
	ctx := context.Background()
	store := newMemStore(nil)
	m := loaded(t, map[string]string{"MAX_FAILURES": "5"}, store)
	if err := m.Update(ctx, map[string]string{"MAX_FAILURES": "9", "TIME_OUT": "60", "LOG_LEVEL": "DEBUG"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Revert(ctx, []string{"MAX_FAILURES", "TIME_OUT"}); err != nil {
		t.Fatal(err)
	}
	s := m.Current()
	if MaxFailures.Get(s) != 5 {
		t.Errorf("MAX_FAILURES = %d, want the env 5", MaxFailures.Get(s))
	}
	if TimeOut.Get(s) != 300 {
		t.Errorf("TIME_OUT = %d, want the default 300", TimeOut.Get(s))
	}
	if LogLevel.Get(s) != "DEBUG" {
		t.Error("a setting not reverted changed")
	}
	if raw, _ := store.row("MAX_FAILURES"); raw != "5" {
		t.Errorf("MAX_FAILURES row %q, want 5 so the next start keeps it", raw)
	}
	if raw, _ := store.row("TIME_OUT"); raw != "300" {
		t.Errorf("TIME_OUT row %q", raw)
	}

	for _, name := range []string{"PORT", "NO_SUCH"} {
		if err := m.Revert(ctx, []string{name}); err == nil {
			t.Errorf("Revert(%s) should fail", name)
		}
	}

	// Without an env AUTH_TOKEN a revert would lock the admin out; the stored token must survive.
	tok := AuthToken.Get(m.Current())
	_, deletes := store.counts()
	if err := m.Revert(ctx, []string{"AUTH_TOKEN", "TIME_OUT"}); err == nil {
		t.Error("reverting AUTH_TOKEN to empty should fail")
	}
	if raw, ok := store.row("AUTH_TOKEN"); !ok || raw != tok {
		t.Errorf("AUTH_TOKEN row = %q, %v", raw, ok)
	}
	if _, d := store.counts(); d != deletes {
		t.Error("a refused revert must not delete rows")
	}

	store.failDel = errors.New("locked")
	if err := m.Revert(ctx, []string{"LOG_LEVEL"}); err == nil {
		t.Error("want the store's error")
	}
	if LogLevel.Get(m.Current()) != "DEBUG" {
		t.Error("failed revert applied")
	}
}

func TestConcurrentUpdates(t *testing.T) {
	m := loaded(t, nil, newMemStore(nil))
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				_ = m.Update(ctx, map[string]string{
					"MAX_FAILURES": fmt.Sprint(1 + (w*50+i)%20),
					"API_KEYS":     fmt.Sprintf("k%d,k%d", w, i),
				})
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			var last uint64
			for range 500 {
				s := m.Current()
				if s.Version() < last {
					t.Error("version went backwards")
					return
				}
				last = s.Version()
				if MaxFailures.Get(s) < 1 || len(APIKeys.Get(s)) > 2 {
					t.Error("torn snapshot")
					return
				}
			}
		})
	}
	wg.Wait()
	if got := m.Current().Version(); got != 2+4*50 {
		t.Errorf("version %d after %d updates", got, 4*50)
	}
}

// BenchmarkReload100kKeys is the periodic settings reload of an instance whose stored API_KEYS holds
// 100,000 keys and did not change.
func BenchmarkReload100kKeys(b *testing.B) {
	keys := make([]string, 100_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("AIzaSyReload%027d", i)
	}
	st := newMemStore(map[string]string{APIKeys.Name(): APIKeys.def.Format(keys)})
	m, err := NewManager(map[string]string{APIKeys.Name(): strings.Join(keys, ",")}, st)
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Load(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Load(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

func TestReloadKeepsUnchangedValues(t *testing.T) {
	keys := []string{"AIzaSyKeepKey000000000000000000000000001", "AIzaSyKeepKey000000000000000000000000002"}
	st := newMemStore(map[string]string{APIKeys.Name(): APIKeys.def.Format(keys)})
	m, err := NewManager(nil, st)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	first := m.Current()
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if m.Current() != first {
		t.Error("a reload that found nothing new swapped the snapshot")
	}
	// Another instance stores a new list: the reload must see it.
	st.SaveSettings(ctx, map[string]string{APIKeys.Name(): APIKeys.def.Format(keys[:1])})
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if got := APIKeys.Get(m.Current()); len(got) != 1 {
		t.Fatalf("after another instance's change: %v", got)
	}
	// This instance changes it, another one writes the earlier text back: seen again, it must apply.
	if err := m.Update(ctx, map[string]string{APIKeys.Name(): strings.Join(keys, ",")}); err != nil {
		t.Fatal(err)
	}
	st.SaveSettings(ctx, map[string]string{APIKeys.Name(): APIKeys.def.Format(keys[:1])})
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if got := APIKeys.Get(m.Current()); len(got) != 1 {
		t.Fatalf("a stored text seen before was not applied again: %v", got)
	}
}

// The first start stores the env's API_KEYS; the first periodic reload then reads that very text back
// and must know it: parsing 100,000 keys again was a 30 MB spike of garbage that set the process's peak
// RSS under load.
func TestFirstReloadKnowsTheTextTheStartStored(t *testing.T) {
	const n = 20_000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("AIzaSyFirstReload%022d", i)
	}
	m, err := NewManager(map[string]string{APIKeys.Name(): strings.Join(keys, ",")}, newMemStore(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	first := m.Current()
	if got := reloadAllocs(t, m); got >= n {
		t.Errorf("the first reload allocated %d times: it parsed the %d stored keys again", got, n)
	}
	if m.Current() != first {
		t.Error("the first reload swapped a snapshot that did not change")
	}
	// An admin's change of another setting, or of the list itself, stores texts this instance knows
	// too: the reload after it must not parse the list again either.
	for _, change := range []map[string]string{
		{MaxFailures.Name(): "7"},
		{APIKeys.Name(): strings.Join(keys[1:], ",")},
	} {
		if err := m.Update(t.Context(), change); err != nil {
			t.Fatal(err)
		}
		if got := reloadAllocs(t, m); got >= n/2 {
			t.Errorf("the reload after updating %v allocated %d times: it parsed the stored keys again", slices.Collect(maps.Keys(change)), got)
		}
	}
	if err := m.Revert(t.Context(), []string{APIKeys.Name()}); err != nil {
		t.Fatal(err)
	}
	if got := reloadAllocs(t, m); got >= n/2 {
		t.Errorf("the reload after reverting API_KEYS allocated %d times: it parsed the stored keys again", got)
	}
	if got := APIKeys.Get(m.Current()); len(got) != n {
		t.Errorf("after the revert %d keys, want the env's %d", len(got), n)
	}
}

// reloadAllocs is the number of allocations of one periodic reload.
func reloadAllocs(t *testing.T, m *Manager) uint64 {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := m.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	return after.Mallocs - before.Mallocs
}
