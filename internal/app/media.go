package app

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/gemgate/gemgate/internal/api"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/files"
	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/imagehost"
	"github.com/gemgate/gemgate/internal/jobs"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/native"
	"github.com/gemgate/gemgate/internal/resources"
	"github.com/gemgate/gemgate/internal/upstream"
)

// Media is what serves the media and side APIs: image hosting, Imagen on PAID_KEY, the Files API and
// Vertex AI Express.
type Media struct {
	Images *imagehost.Host
	Local  *imagehost.Local
	Files  *files.Handler
	// Resources knows who owns the files and other resources clients created through gemgate.
	Resources *resources.Registry
	// Vertex runs VERTEX_API_KEYS against VERTEX_EXPRESS_BASE_URL with the same retries, cooldowns and
	// logs as the Gemini pool, on its own pool and circuit breaker.
	Vertex     *native.Handler
	VertexPool *keypool.Pool
	// PaidPool holds PAID_KEY when it is not one of API_KEYS, so that it keeps its own state.
	PaidPool *keypool.Pool
	paidExec *upstream.Executor
	exec     *upstream.Executor
}

// resourcesCleanupJob forgets ownership records of resources past their expiry, hourly.
func resourcesCleanupJob(r *resources.Registry) jobs.Job {
	return jobs.Job{
		Name:    "resources_cleanup",
		Every:   func(*config.Snapshot) time.Duration { return time.Hour },
		Timeout: 5 * time.Minute,
		Run: func(ctx context.Context) error {
			_, err := r.DeleteExpired(ctx)
			return err
		},
	}
}

// wireMedia builds the media APIs next to the Gemini executor exec and registers their jobs.
func (a *App) wireMedia(exec *upstream.Executor, backoff func(int) time.Duration, models *gemini.ModelCache) *Media {
	snap := a.Settings.Current()
	maxFailures := config.MaxFailures.Get(snap)
	m := &Media{exec: exec}
	m.Local = imagehost.NewLocal(a.Store)
	m.Images = &imagehost.Host{Settings: a.Settings.Current, Local: m.Local, Logger: a.Logger}
	m.Files = &files.Handler{Exec: exec, Settings: a.Settings.Current,
		Store: files.NewStore(a.Store), Logger: a.Logger}
	m.Resources = resources.NewRegistry(a.Store)
	m.Resources.Files = m.Files.Store.Owner
	m.Resources.FindFiles = m.Files.Store.Find
	m.Files.Owners = m.Resources
	exec.Owners = m.Resources

	m.VertexPool = keypool.New(config.VertexAPIKeys.Get(snap), maxFailures)
	vertexExec := &upstream.Executor{Pool: m.VertexPool, Client: exec.Client, Settings: a.Settings.Current, Backoff: backoff,
		BaseURL: config.VertexExpressBaseURL.Get}
	m.Vertex = &native.Handler{Exec: vertexExec, Settings: a.Settings.Current, Models: models}

	m.PaidPool = keypool.New(paidKeys(snap), maxFailures)
	m.paidExec = &upstream.Executor{Pool: m.PaidPool, Client: exec.Client, Settings: a.Settings.Current, Backoff: backoff}

	a.Settings.OnChange(m.apply)
	for _, job := range []jobs.Job{m.Local.CleanupJob(), m.Files.CleanupJob(), resourcesCleanupJob(m.Resources)} {
		if err := a.Jobs.Register(job); err != nil {
			a.Logger.Error("registering a job", "job", job.Name, "err", err)
		}
	}
	return m
}

func paidKeys(snap *config.Snapshot) []string {
	if k := config.PaidKey.Get(snap); k != "" {
		return []string{k}
	}
	return nil
}

// apply follows settings changes of the media pools.
func (m *Media) apply(old, next *config.Snapshot) {
	if !slices.Equal(config.VertexAPIKeys.Get(old), config.VertexAPIKeys.Get(next)) {
		m.VertexPool.SetKeys(config.VertexAPIKeys.Get(next))
	}
	if config.PaidKey.Get(old) != config.PaidKey.Get(next) {
		m.PaidPool.SetKeys(paidKeys(next))
	}
	m.VertexPool.SetMaxFailures(config.MaxFailures.Get(next))
	m.PaidPool.SetMaxFailures(config.MaxFailures.Get(next))
}

// Paid chooses where Imagen calls go: PAID_KEY exactly (its state shared with the pool when it is one of
// API_KEYS), or the pool when PAID_KEY is unset.
func (m *Media) Paid(snap *config.Snapshot) (*upstream.Executor, *keypool.Key) {
	paid := config.PaidKey.Get(snap)
	if paid == "" {
		return m.exec, nil
	}
	if k, ok := m.exec.Pool.Lookup(paid); ok {
		return m.exec, k
	}
	if k, ok := m.PaidPool.Lookup(paid); ok {
		return m.paidExec, k
	}
	// The settings listener has not run yet for a PAID_KEY that just changed.
	m.PaidPool.SetKeys([]string{paid})
	k, _ := m.PaidPool.Lookup(paid)
	return m.paidExec, k
}

// Routes are the media routes for the API handler.
func (m *Media) Routes() []api.Routes {
	return []api.Routes{m.Files, m.Local, vertexRoutes{m.Vertex}}
}

type vertexRoutes struct{ h *native.Handler }

func (v vertexRoutes) Register(mux *http.ServeMux) { v.h.RegisterVertex(mux) }
