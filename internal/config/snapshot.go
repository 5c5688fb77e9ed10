package config

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gemgate/gemgate/internal/secret"
	"github.com/joho/godotenv"
)

// Source tells where a setting's current value came from.
type Source uint8

const (
	SourceDefault Source = iota
	SourceEnv
	SourceDB
)

func (s Source) String() string { return [...]string{"default", "env", "database"}[s] }

// Snapshot is an immutable set of setting values. Readers get it from Manager.Current and never lock.
type Snapshot struct {
	values  []any
	sources []Source
	version uint64
}

// Value returns the typed value of d.
func (s *Snapshot) Value(d *Def) any { return s.values[d.index] }

// Source returns where d's value came from.
func (s *Snapshot) Source(d *Def) Source { return s.sources[d.index] }

// Version increases with every change; 1 is the first snapshot.
func (s *Snapshot) Version() uint64 { return s.version }

// Defaults is a snapshot holding every default, for tests and tools.
func Defaults() *Snapshot {
	s := &Snapshot{values: make([]any, len(registry)), sources: make([]Source, len(registry)), version: 1}
	for i, d := range registry {
		s.values[i] = d.Default
	}
	return s
}

// ReadEnv merges the .env file at path (when it exists) under the process environment: a variable set in
// the environment wins over the same name in .env, as in the reference. Only known settings are kept.
func ReadEnv(path string, environ []string) (map[string]string, error) {
	out := map[string]string{}
	if path != "" {
		f, err := os.Open(path)
		switch {
		case err == nil:
			vals, perr := godotenv.Parse(bufio.NewReader(f))
			f.Close()
			if perr != nil {
				return nil, fmt.Errorf("reading %s: %w", path, perr)
			}
			for k, v := range vals {
				if _, ok := byName[k]; ok {
					out[k] = v
				}
			}
		case !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
	}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if _, known := byName[k]; known {
			out[k] = v
		}
	}
	return out, nil
}

// FromEnv builds a snapshot from defaults overridden by env. Invalid env values are errors: a setting the
// operator wrote wrongly must stop the start with a message naming it, not be silently ignored.
func FromEnv(env map[string]string) (*Snapshot, error) {
	s := Defaults()
	var errs []error
	for i, d := range registry {
		raw, ok := env[d.Name]
		if !ok {
			continue
		}
		v, err := d.Parse(raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.values[i], s.sources[i] = v, SourceEnv
	}
	return s, errors.Join(errs...)
}

// Store persists settings as text rows (the reference's t_settings table).
type Store interface {
	LoadSettings(ctx context.Context) (map[string]string, error)
	SaveSettings(ctx context.Context, values map[string]string) error
	DeleteSettings(ctx context.Context, names []string) error
}

// Manager owns the current snapshot and swaps it atomically when settings change.
type Manager struct {
	store Store
	env   map[string]string
	cur   atomic.Pointer[Snapshot]

	mu        sync.Mutex // serialises writers and subscriber registration
	listeners []func(old, new *Snapshot)
	// Warnings collects what the operator should know about the last load (unparseable rows, ...).
	Warnings []string
	// GeneratedAuthToken is set when Load had to create AUTH_TOKEN; the caller prints it once.
	GeneratedAuthToken string

	started bool     // the first Load (the start) is done: ENV_OVERRIDES apply only then
	notices []Notice // what the start found about admin access, for the log and the panel

	// seen holds, per setting, a hash of the stored text the current value was parsed from, so that a
	// reload (every 15 s) skips the rows that did not change: with 100,000 keys, parsing API_KEYS again
	// took 90 ms and 28 MB of garbage each time. What this instance stores itself it knows (know).
	seen     map[string]uint64
	seenSeed maphash.Seed
}

// Notice is something about the start an admin must see, in both languages of the panel.
type Notice struct {
	EN, ZH string
}

// Notices returns what the start found about admin access (token from ALLOWED_TOKENS, an env
// AUTH_TOKEN that the stored one overrides, ENV_OVERRIDES applied), for the panel's banner.
func (m *Manager) Notices() []Notice {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.notices)
}

// NewManager returns a manager holding the env-only snapshot; Load merges the database into it.
func NewManager(env map[string]string, store Store) (*Manager, error) {
	snap, err := FromEnv(env)
	if err != nil {
		return nil, err
	}
	m := &Manager{store: store, env: maps.Clone(env), seen: map[string]uint64{}, seenSeed: maphash.MakeSeed()}
	m.cur.Store(snap)
	return m, nil
}

// Current returns the snapshot in force. It never blocks.
func (m *Manager) Current() *Snapshot { return m.cur.Load() }

// Env returns the raw env value of a setting, if env set it.
func (m *Manager) Env(name string) (string, bool) {
	v, ok := m.env[name]
	return v, ok
}

// OnChange registers fn to run after every snapshot swap (in the writer's goroutine).
func (m *Manager) OnChange(fn func(old, new *Snapshot)) {
	m.mu.Lock()
	m.listeners = append(m.listeners, fn)
	m.mu.Unlock()
}

// Load merges the database into the snapshot: a stored row wins over env (the reference's rule); a
// setting without a row gets its env or default value written, so the first start stores everything.
// Bootstrap settings are never read from or written to the database.
func (m *Manager) Load(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	rows, err := m.store.LoadSettings(ctx)
	if err != nil {
		return fmt.Errorf("loading settings: %w", err)
	}
	old := m.cur.Load()
	next := old.clone()
	missing := map[string]string{}
	m.Warnings = nil
	for i, d := range registry {
		if d.Bootstrap {
			continue
		}
		raw, ok := rows[d.Name]
		if !ok {
			missing[d.Name] = d.Format(next.values[i])
			continue
		}
		sum := maphash.String(m.seenSeed, raw)
		if h, ok := m.seen[d.Name]; ok && h == sum && old.sources[i] == SourceDB {
			continue // next already holds the value parsed from this very text
		}
		v, err := d.Parse(raw)
		if err != nil {
			m.Warnings = append(m.Warnings, fmt.Sprintf("ignoring stored value: %v", err))
			continue
		}
		if reflect.DeepEqual(v, old.values[i]) {
			v = old.values[i] // one copy of a large list, not one per snapshot
		}
		next.values[i], next.sources[i] = v, SourceDB
		m.seen[d.Name] = sum
	}
	if !m.started {
		m.started = true
		m.overrideFromEnv(next, missing)
		m.adminAccess(next, missing)
	}
	for name := range missing {
		delete(m.seen, name) // its value did not come from the text read above
	}
	if token := AuthToken.Get(next); token == "" {
		token = NewToken()
		next.values[AuthToken.def.index], next.sources[AuthToken.def.index] = token, SourceDB
		missing[AuthToken.Name()] = token
		m.GeneratedAuthToken = token
	}
	if len(missing) > 0 {
		if err := m.store.SaveSettings(ctx, missing); err != nil {
			return fmt.Errorf("storing settings: %w", err)
		}
		for name := range missing {
			next.sources[byName[name].index] = SourceDB
		}
		// The next reload reads these very texts back (with 100,000 keys parsing the list again was
		// the largest burst of garbage of the first minutes).
		m.know(missing)
	}
	if next.equal(old) {
		return nil // a periodic reload that found nothing new must not wake every listener
	}
	m.swap(old, next)
	return nil
}

// overrideFromEnv applies ENV_OVERRIDES at start: each named setting that env sets takes its env
// value, which is stored too, so every instance and later starts agree.
func (m *Manager) overrideFromEnv(next *Snapshot, store map[string]string) {
	for _, name := range EnvOverrides.Get(next) {
		d, ok := byName[strings.TrimSpace(name)]
		raw, set := m.env[strings.TrimSpace(name)]
		if !ok || d.Bootstrap || !set {
			continue
		}
		v, err := d.Parse(raw)
		if err != nil {
			m.Warnings = append(m.Warnings, fmt.Sprintf("ENV_OVERRIDES: ignoring env %s: %v", d.Name, err))
			continue
		}
		changed := !reflect.DeepEqual(v, next.values[d.index])
		next.values[d.index], next.sources[d.index] = v, SourceEnv
		store[d.Name] = d.Format(v)
		if !changed {
			continue
		}
		m.Warnings = append(m.Warnings, fmt.Sprintf("ENV_OVERRIDES: %s taken from the environment, replacing the stored value; remove it from ENV_OVERRIDES once done, or every start will replace panel changes again", d.Name))
		m.notices = append(m.notices, Notice{
			EN: "ENV_OVERRIDES: " + d.Name + " was taken from the environment at this start, replacing the stored value. Remove it from ENV_OVERRIDES once done, or every start will undo changes made here.",
			ZH: "ENV_OVERRIDES：本次启动时 " + d.Name + " 已采用环境变量的值，替换了数据库中保存的值。用完后请从 ENV_OVERRIDES 中删除，否则每次启动都会覆盖在此处所做的修改。",
		})
	}
}

// adminAccess keeps Gemini Balance's admin login and says when env and database disagree on it.
// Gemini Balance used the first of ALLOWED_TOKENS as the admin token when AUTH_TOKEN was empty; an
// adopted database that stores an empty AUTH_TOKEN keeps working that way, with a warning, since every
// client holding that token can then administer gemgate. A fresh start without AUTH_TOKEN still gets a
// random token (Load), the safer default. An env AUTH_TOKEN that the stored one overrides is said loudly:
// it looks like a new token but is not in force.
func (m *Manager) adminAccess(next *Snapshot, store map[string]string) {
	tokens := AllowedTokens.Get(next)
	storedEmpty := AuthToken.Get(next) == "" && next.Source(AuthToken.def) == SourceDB
	if storedEmpty && len(tokens) > 0 && tokens[0] != "" {
		next.values[AuthToken.def.index], next.sources[AuthToken.def.index] = tokens[0], SourceDB
		store[AuthToken.Name()] = tokens[0]
		m.Warnings = append(m.Warnings, "AUTH_TOKEN is empty: as in Gemini Balance, the admin token is the first of ALLOWED_TOKENS, which every client using it can log in with. Set a separate admin token: gemgate token reset, the panel's settings, or env AUTH_TOKEN with ENV_OVERRIDES=AUTH_TOKEN")
		m.notices = append(m.notices, Notice{
			EN: "The admin token is the first of ALLOWED_TOKENS (AUTH_TOKEN was empty, as Gemini Balance allowed): every client using that token can log in here. Set a separate AUTH_TOKEN in the settings (or run gemgate token reset).",
			ZH: "管理令牌是 ALLOWED_TOKENS 的第一个值（AUTH_TOKEN 为空，Gemini Balance 允许这样）：使用该令牌的所有客户端都能登录后台。请在配置中设置单独的 AUTH_TOKEN（或运行 gemgate token reset）。",
		})
	}
	env, set := m.env[AuthToken.Name()]
	if !set || env == "" || env == AuthToken.Get(next) {
		return
	}
	m.Warnings = append(m.Warnings, "AUTH_TOKEN in the environment ("+secret.Mask(env)+") differs from the stored admin token ("+secret.Mask(AuthToken.Get(next))+"), which stays in force: stored settings win over env. To use the env token, set ENV_OVERRIDES=AUTH_TOKEN and restart, run gemgate token reset, or change it in the panel")
	m.notices = append(m.notices, Notice{
		EN: "AUTH_TOKEN in the environment differs from the stored admin token, which stays in force (stored settings win over env). To use the env value, add ENV_OVERRIDES=AUTH_TOKEN to the environment and restart.",
		ZH: "环境变量中的 AUTH_TOKEN 与数据库中保存的管理令牌不同，当前生效的是保存的令牌（已保存的配置优先于环境变量）。如需使用环境变量的值，请在环境变量中添加 ENV_OVERRIDES=AUTH_TOKEN 并重启。",
	})
}

func (s *Snapshot) equal(o *Snapshot) bool {
	return reflect.DeepEqual(s.values, o.values) && slices.Equal(s.sources, o.sources)
}

// Update validates and stores the given textual values, then swaps the snapshot. Nothing is applied
// unless every value is valid.
func (m *Manager) Update(ctx context.Context, changes map[string]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.cur.Load()
	next, stored, err := m.prepare(old, changes)
	if err != nil {
		return err
	}
	if err := m.store.SaveSettings(ctx, stored); err != nil {
		return fmt.Errorf("storing settings: %w", err)
	}
	m.know(stored)
	m.swap(old, next)
	return nil
}

// know records that the current values of stored were parsed from (or formatted to) these texts, just
// stored: the next reload reads them back and must not parse them again. The other settings' texts
// are unchanged and stay known.
func (m *Manager) know(stored map[string]string) {
	for name, text := range stored {
		m.seen[name] = maphash.String(m.seenSeed, text)
	}
}

// prepare parses and checks changes against old; the caller holds m.mu.
func (m *Manager) prepare(old *Snapshot, changes map[string]string) (*Snapshot, map[string]string, error) {
	next := old.clone()
	stored := make(map[string]string, len(changes))
	var errs []error
	for name, raw := range changes {
		d, ok := byName[name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: unknown setting", name))
			continue
		}
		if d.Bootstrap {
			errs = append(errs, fmt.Errorf("%s: can only be set in the environment", name))
			continue
		}
		v, err := d.Parse(raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if d == AuthToken.def && v.(string) == "" {
			errs = append(errs, fmt.Errorf("%s: may not be empty (it would lock you out)", name))
			continue
		}
		next.values[d.index], next.sources[d.index] = v, SourceDB
		stored[name] = d.Format(v)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return next, stored, nil
}

// Revert deletes the stored rows of names so that they fall back to env or default, and stores that
// value again, so that later starts keep it.
func (m *Manager) Revert(ctx context.Context, names []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	changes := map[string]string{}
	for _, name := range names {
		d, ok := byName[name]
		if !ok || d.Bootstrap {
			return fmt.Errorf("%s: not a stored setting", name)
		}
		if raw, ok := m.env[name]; ok {
			changes[name] = raw
		} else {
			changes[name] = d.DefaultText()
		}
	}
	// Checked before deleting: reverting AUTH_TOKEN without an env value must fail without having
	// removed the stored token (the next start would otherwise generate a new one).
	old := m.cur.Load()
	next, stored, err := m.prepare(old, changes)
	if err != nil {
		return err
	}
	if err := m.store.DeleteSettings(ctx, names); err != nil {
		return fmt.Errorf("deleting settings: %w", err)
	}
	if err := m.store.SaveSettings(ctx, stored); err != nil {
		return fmt.Errorf("storing settings: %w", err)
	}
	m.know(stored)
	m.swap(old, next)
	return nil
}

func (m *Manager) swap(old, next *Snapshot) {
	next.version = old.version + 1
	m.cur.Store(next)
	for _, fn := range m.listeners {
		fn(old, next)
	}
}

func (s *Snapshot) clone() *Snapshot {
	return &Snapshot{values: append([]any(nil), s.values...), sources: append([]Source(nil), s.sources...), version: s.version}
}

// NewToken returns a random token in the reference's format: "sk-" and 48 characters of [A-Za-z0-9_].
func NewToken() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
	out := make([]byte, 0, 48)
	buf := make([]byte, 64)
	for len(out) < 48 {
		_, _ = rand.Read(buf) // crypto/rand.Read never fails on supported platforms
		for _, c := range buf {
			// Rejection sampling keeps every character equally likely.
			if int(c) < 256/len(alphabet)*len(alphabet) && len(out) < 48 {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return "sk-" + string(out)
}
