// Package app wires gemgate together from settings: database, settings manager, key pool, upstream
// executor and HTTP handler, and owns their lifecycle.
package app

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gemgate/gemgate/internal/admin"
	"github.com/gemgate/gemgate/internal/anthropic"
	"github.com/gemgate/gemgate/internal/api"
	"github.com/gemgate/gemgate/internal/applog"
	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/cluster"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/importer"
	"github.com/gemgate/gemgate/internal/jobs"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/live"
	"github.com/gemgate/gemgate/internal/logs"
	"github.com/gemgate/gemgate/internal/metrics"
	"github.com/gemgate/gemgate/internal/native"
	"github.com/gemgate/gemgate/internal/openai"
	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/store"
	"github.com/gemgate/gemgate/internal/upstream"
	"github.com/gemgate/gemgate/internal/version"
	"github.com/gemgate/gemgate/internal/web"
)

// keyFlushEvery is how often changed key state is written to the database, in batches of
// keyFlushPart keys.
const (
	keyFlushEvery = 5 * time.Second
	// keyUsesEvery is how often keys whose only change is their last use are written: every 60th
	// flush, 5 minutes. With 100,000 keys in rotation (each used every half minute or so) a key-state
	// row per use took 6% of the CPU; in 5 minutes a key is written once for its dozen uses. Only
	// "last used" waits: the panel reads it from memory, a crash loses at most 5 minutes of it, and
	// a shutdown writes it all.
	keyUsesEvery = 60
	keyFlushPart = 2000
)

// liveShutdownGrace bounds the wait for Live sessions to close both their sides at shutdown (each
// close waits for its peer's answer, up to 5 seconds).
const liveShutdownGrace = 10 * time.Second

// releaseCheckEvery is how often GitHub is asked for a newer release (never on a page load).
const releaseCheckEvery = 12 * time.Hour

// settingsReloadEvery is how often stored settings are re-read, so that a change made by another
// instance or by "gemgate token reset" applies without restart.
const settingsReloadEvery = 15 * time.Second

// Options configure an App.
type Options struct {
	Env    map[string]string // settings from env and .env (see config.ReadEnv)
	Logger *slog.Logger
	// Client overrides the upstream client (tests, demo); nil builds the real one.
	Client *upstream.Client
	// Backoff overrides the pause between retries after transient errors (tests).
	Backoff func(attempt int) time.Duration
	// Version is the build's version, shown in the admin panel.
	Version string
}

// App is a running gemgate.
type App struct {
	Settings *config.Manager
	Store    *store.Store
	Pool     *keypool.Pool
	Exec     *upstream.Executor
	Tokens   *auth.Tokens
	Handler  http.Handler
	Admin    *admin.Handler // the admin API, also part of Handler
	Logger   *slog.Logger   // scrubs keys and tokens, adds request ids

	// Observability (observe.go): the request and error logs, their writer, metrics, and the one
	// scheduler of periodic work, where other features register their jobs too.
	Logs      *logs.Store
	LogWriter *logs.Writer
	Metrics   *metrics.Metrics
	Jobs      *jobs.Scheduler
	Scrubber  *secret.Scrubber
	sink      reqlog.Sink

	// Media serves images, the Files API and Vertex Express (media.go).
	Media *Media
	// Live serves the Live API's WebSocket sessions, which Close ends before anything they log to.
	Live *live.Handler

	// Releases is the background check for a newer gemgate release, shown in the panel.
	Releases *version.Checker

	panel    *web.Panel
	cluster  *cluster.Cluster
	stop     chan struct{}
	wg       sync.WaitGroup
	closeMu  sync.Once
	closeErr error
}

// StoreConfig turns the bootstrap settings into the database configuration.
func StoreConfig(snap *config.Snapshot) store.Config {
	dsn := config.PostgresDSN.Get(snap)
	if dsn == "" {
		dsn = config.DatabaseURL.Get(snap)
	}
	return store.Config{
		Type:          config.DatabaseType.Get(snap),
		SQLitePath:    config.SQLiteDatabase.Get(snap),
		MySQLHost:     config.MySQLHost.Get(snap),
		MySQLPort:     config.MySQLPort.Get(snap),
		MySQLUser:     config.MySQLUser.Get(snap),
		MySQLPassword: config.MySQLPassword.Get(snap),
		MySQLDatabase: config.MySQLDatabase.Get(snap),
		MySQLSocket:   config.MySQLSocket.Get(snap),
		PostgresDSN:   dsn,
		Sealer:        sealerOf(snap),
		SecretSetting: secretSetting,
	}
}

// OpenSettings opens the database and loads the settings (first start stores them all).
func OpenSettings(ctx context.Context, env map[string]string) (*config.Manager, *store.Store, error) {
	return openSettings(ctx, env, slog.Default())
}

func openSettings(ctx context.Context, env map[string]string, logger *slog.Logger) (*config.Manager, *store.Store, error) {
	boot, err := config.FromEnv(env)
	if err != nil {
		return nil, nil, fmt.Errorf("invalid setting: %w", err)
	}
	st, err := openStore(ctx, boot, logger)
	if err != nil {
		return nil, nil, err
	}
	mgr, err := config.NewManager(env, st)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	if err := mgr.Load(ctx); err != nil {
		st.Close()
		return nil, nil, err
	}
	if t := mgr.GeneratedAuthToken; t != "" {
		if err := st.MarkTokenUnclaimed(ctx, t); err != nil {
			st.Close()
			return nil, nil, err
		}
	}
	return mgr, st, nil
}

// UnclaimedAuthToken returns the admin token when gemgate generated it and no one has logged in with
// it yet, for the start-up message: printed on every start until then, it cannot be lost to a first
// start that failed after generating it. "" otherwise.
func (a *App) UnclaimedAuthToken(ctx context.Context) string {
	token := config.AuthToken.Get(a.Settings.Current())
	if ok, err := a.Store.TokenUnclaimed(ctx, token); err != nil || !ok {
		return ""
	}
	return token
}

// New opens the database, loads settings and key state, and builds the handler.
func New(ctx context.Context, opts Options) (*App, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	scrub := secret.NewScrubber()
	logger = slog.New(applog.NewGuard(logger.Handler(), scrub))
	mgr, st, err := openSettings(ctx, opts.Env, logger)
	if err != nil {
		return nil, err
	}
	for _, w := range mgr.Warnings {
		logger.Warn(w)
	}
	// A Gemini Balance database opened in place: its log rows get masked keys and key ids. A failure
	// leaves them as they were, to be retried at the next start, rather than keeping the gateway down.
	history, err := importer.NewHistory(mgr.Current(), st)
	if err != nil {
		st.Close()
		return nil, err
	}
	if sum, err := importer.Adopt(ctx, st, history); err != nil {
		logger.Warn("could not finish adopting the Gemini Balance database; retrying at the next start", "err", err)
	} else if sum != nil {
		logger.Info(sum.String())
	}
	snap := mgr.Current()
	scrub.Update(secretValues(snap)...)
	pool := keypool.New(config.APIKeys.Get(snap), config.MaxFailures.Get(snap))
	states, err := st.LoadKeyStates(ctx)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("loading key state: %w", err)
	}
	pool.Restore(fromStore(states))
	pool.SetModelTags(config.ModelKeyTags.Get(snap))
	pool.SetLimits(keyLimits(snap))

	client := opts.Client
	if client == nil {
		client = upstream.NewClient()
	}
	exec := &upstream.Executor{Pool: pool, Client: client, Settings: mgr.Current, Backoff: opts.Backoff, Logger: logger}
	tokens := auth.NewTokens(snap)
	a := &App{Settings: mgr, Store: st, Pool: pool, Exec: exec, Tokens: tokens, Logger: logger, stop: make(chan struct{})}
	mgr.OnChange(a.apply)
	ver := opts.Version
	if ver == "" {
		ver = "dev"
	}
	a.Releases = version.NewChecker(ver, func() string { return version.Repo(mgr.Current()) }, version.Options{Every: releaseCheckEvery})
	a.panel, err = web.New(web.Options{Settings: mgr, Store: st, Version: ver, Releases: a.Releases.Latest, Logger: logger,
		OnLogin: func(ctx context.Context) {
			if err := st.ClaimToken(ctx); err != nil {
				logger.Warn("could not record the first admin login", "err", err)
			}
		}})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("admin panel: %w", err)
	}
	if url := config.RedisURL.Get(snap); url != "" {
		c, err := cluster.New(ctx, url, config.RedisPrefix.Get(snap), pool, mgr, logger)
		if err != nil {
			st.Close()
			return nil, err
		}
		a.cluster = c
	}
	a.observe(scrub)
	a.startClientTokens(ctx)
	modelCache := &gemini.ModelCache{Exec: exec}
	a.Media = a.wireMedia(exec, opts.Backoff, modelCache)
	// Vertex keys keep their state in the same table as Gemini keys (rows are by key), and share it
	// through Redis like them.
	a.Media.VertexPool.Restore(fromStore(states))
	if a.cluster != nil {
		a.cluster.AddPool("vertex", a.Media.VertexPool)
	}
	a.Admin = a.adminHandler(modelCache)
	a.Live = &live.Handler{Exec: exec, Settings: mgr.Current, Resources: a.Media.Resources, Tokens: tokens}
	anthropicAPI := &anthropic.Handler{Exec: exec, Settings: mgr.Current, Models: modelCache}
	a.Handler = api.New(api.Deps{
		Gemini: &native.Handler{Exec: exec, Settings: mgr.Current, Models: modelCache, Resources: a.Media.Resources},
		Tokens: tokens,
		OpenAI: &openai.Handler{Exec: exec, Settings: mgr.Current, Models: modelCache,
			AnthropicModels: anthropicAPI.ModelRoutes(), Images: a.Media.Images, Paid: a.Media.Paid},
		Anthropic: anthropicAPI,
		Admin:     a.Admin,
		Web:       a.panel,
		WebRoutes: web.Routes,
		Logger:    logger,
		Sink:      a.sink,
		Metrics:   a.Metrics.Handler(mgr.Current),
		More:      append(a.Media.Routes(), a.Live),
	})
	a.wg.Add(2)
	go a.flushLoop()
	go func() {
		defer a.wg.Done()
		a.Releases.Run(a.stop)
	}()
	return a, nil
}

// apply reacts to a settings change; everything else reads the snapshot per request.
func (a *App) apply(old, next *config.Snapshot) {
	if !slices.Equal(config.APIKeys.Get(old), config.APIKeys.Get(next)) {
		a.Pool.SetKeys(config.APIKeys.Get(next))
	}
	a.Pool.SetMaxFailures(config.MaxFailures.Get(next))
	if !maps.Equal(config.ModelKeyTags.Get(old), config.ModelKeyTags.Get(next)) {
		a.Pool.SetModelTags(config.ModelKeyTags.Get(next))
	}
	if !maps.Equal(config.KeyModelLimits.Get(old), config.KeyModelLimits.Get(next)) {
		a.Pool.SetLimits(keyLimits(next))
	}
	a.Tokens.Update(next)
}

// keyLimits reads KEY_MODEL_LIMITS for the key pool (the setting's validation already refused bad values).
func keyLimits(snap *config.Snapshot) map[string]keypool.Limit {
	out := map[string]keypool.Limit{}
	for model, s := range config.KeyModelLimits.Get(snap) {
		if rpm, rpd, err := config.ParseKeyLimit(s); err == nil {
			out[model] = keypool.Limit{RPM: rpm, RPD: rpd}
		}
	}
	return out
}

func (a *App) flushLoop() {
	defer a.wg.Done()
	flush := time.NewTicker(keyFlushEvery)
	defer flush.Stop()
	reload := time.NewTicker(settingsReloadEvery)
	defer reload.Stop()
	for n := 1; ; {
		select {
		case <-flush.C:
			a.flushKeys(n%keyUsesEvery == 0)
			n++
		case <-reload.C:
			a.reloadSettings()
		case <-a.stop:
			return
		}
	}
}

// reloadSettings re-reads stored settings; while the database is unreachable the last snapshot
// stays in force.
func (a *App) reloadSettings() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Settings.Load(ctx); err != nil {
		a.Logger.Warn("could not reload settings; keeping the current ones", "err", err)
	}
}

// flushKeys writes changed key state, and with uses the last use of keys used since. A database
// outage must not touch requests: the state stays in memory and is marked dirty again for the next
// round.
func (a *App) flushKeys(uses bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	failed := 0
	var firstErr error
	// In parts of keyFlushPart: the states of a whole pool in rotation would be held at once otherwise.
	for _, pool := range a.keyPools() {
		pool.DrainEach(keyFlushPart, uses, func(states []keypool.State) {
			err := a.Store.SaveKeyStates(ctx, toStore(states))
			if err == nil {
				return
			}
			failed += len(states)
			firstErr = cmp.Or(firstErr, err)
			for _, s := range states {
				if k, ok := pool.Lookup(s.Key); ok {
					pool.MarkDirty(k)
				}
			}
		})
	}
	if failed > 0 {
		a.Logger.Warn("could not save key state; will retry", "keys", failed, "err", firstErr)
	}
}

// keyPools are the pools whose key state is stored: the Gemini keys and the Vertex AI Express keys.
func (a *App) keyPools() []*keypool.Pool {
	if a.Media == nil {
		return []*keypool.Pool{a.Pool}
	}
	return []*keypool.Pool{a.Pool, a.Media.VertexPool}
}

// Close stops background work, writes the last key state and closes the database.
func (a *App) Close() error {
	a.closeMu.Do(func() {
		if a.Live != nil {
			ctx, cancel := context.WithTimeout(context.Background(), liveShutdownGrace)
			a.closeErr = a.Live.Shutdown(ctx)
			cancel()
		}
		close(a.stop)
		a.wg.Wait()
		if a.cluster != nil {
			a.closeErr = a.cluster.Close()
		}
		a.stopObserving()
		a.flushKeys(true)
		a.closeErr = errors.Join(a.closeErr, a.Store.Close())
		if a.Exec.Client != nil {
			a.Exec.Client.CloseIdle()
		}
	})
	return a.closeErr
}

func fromStore(in []store.KeyState) []keypool.State {
	out := make([]keypool.State, len(in))
	for i, s := range in {
		out[i] = keypool.State{Key: s.Key, FailureCount: s.FailureCount, LastError: s.LastError, LastErrorCode: s.LastErrorCode,
			LastErrorAt: s.LastErrorAt, LastUsedAt: s.LastUsedAt, Disabled: s.Disabled, DisabledReason: s.DisabledReason,
			Weight: s.Weight, Project: s.Project}
		if s.Tags != "" {
			out[i].Tags = strings.Split(s.Tags, ",")
		}
		if s.Cooldowns != "" {
			// A row written by an older or newer version may not parse; the key then simply has no cooldown.
			_ = json.Unmarshal([]byte(s.Cooldowns), &out[i].Cooldowns)
		}
	}
	return out
}

func toStore(in []keypool.State) []store.KeyState {
	out := make([]store.KeyState, len(in))
	for i, s := range in {
		out[i] = store.KeyState{Key: s.Key, FailureCount: s.FailureCount, LastError: s.LastError, LastErrorCode: s.LastErrorCode,
			LastErrorAt: s.LastErrorAt, LastUsedAt: s.LastUsedAt, Disabled: s.Disabled, DisabledReason: s.DisabledReason,
			Tags: strings.Join(s.Tags, ","), Weight: s.Weight, Project: s.Project}
		if len(s.Cooldowns) > 0 {
			b, _ := json.Marshal(s.Cooldowns)
			out[i].Cooldowns = string(b)
		}
	}
	return out
}

func (a *App) adminHandler(models admin.ModelLister) *admin.Handler {
	h := admin.New(a.Settings, a.Pool)
	h.Session = a.panel.Check
	h.Alerts = a.Exec.BlameAlerts
	vertex := &admin.KeySet{Pool: a.Media.VertexPool, List: config.VertexAPIKeys, Exec: a.Media.Vertex.Exec, Vertex: true}
	h.VertexPool = vertex.Pool
	keys := &admin.Keys{Settings: a.Settings, Pool: a.Pool, Exec: a.Exec, Store: a.Store, Vertex: vertex}
	keys.Register(h)
	panel := &admin.Panel{Settings: a.Settings, Pool: a.Pool, Models: models, Store: a.Store, Vertex: vertex}
	panel.Register(h)
	(&admin.GeminiBalance{Settings: a.Settings, Pool: a.Pool, Keys: keys, Panel: panel, Logs: a.Logs, Jobs: a.Jobs,
		Releases: a.Releases}).Register(h)
	(&admin.Version{Checker: a.Releases}).Register(h)
	(&admin.Logs{Settings: a.Settings, Store: a.Logs, Writer: a.LogWriter, Pool: a.Pool, Jobs: a.Jobs}).Register(h)
	tokens := &admin.Tokens{Settings: a.Settings, Store: a.Store, Tokens: a.Tokens, Reload: a.reloadClientTokens}
	tokens.Register(h)
	(&admin.Resources{Registry: a.Media.Resources, Pool: a.Pool, Tokens: tokens}).Register(h)
	return h
}
