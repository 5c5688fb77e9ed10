package app

import (
	"context"
	"time"

	"github.com/gemgate/gemgate/internal/admin"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/jobs"
	"github.com/gemgate/gemgate/internal/keypool"
)

// keyJobs are the scheduled jobs of the key pool.
func (a *App) keyJobs() []jobs.Job {
	return []jobs.Job{{
		Name: "check_failed_keys",
		Every: func(s *config.Snapshot) time.Duration {
			return time.Duration(config.CheckIntervalHours.Get(s)) * time.Hour
		},
		Timeout: 30 * time.Minute,
		Run:     a.recheckKeys,
	}}
}

// recheckKeys verifies the keys taken out of rotation by Google's answers (not those an admin
// disabled) and brings back the ones that work again: a suspended project restored, a key re-enabled.
func (a *App) recheckKeys(ctx context.Context) error {
	var candidates []*keypool.Key
	for _, k := range a.Pool.Keys() {
		if k.Disabled() && keypool.StateOf(k).DisabledReason != admin.DisabledByAdmin {
			candidates = append(candidates, k)
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	results := admin.Verify(ctx, a.Exec, a.Pool, config.TestModel.Get(a.Settings.Current()), candidates)
	revived := 0
	for _, r := range results {
		if r.Valid {
			revived++
		}
	}
	a.Logger.Info("re-checked disabled keys", "checked", len(candidates), "revived", revived)
	return ctx.Err()
}

// coolingKeys counts keys with at least one running cooldown, for the key gauge.
func (a *App) coolingKeys() float64 {
	n := 0
	for _, k := range a.Pool.Keys() {
		if !k.Disabled() && len(k.Cooldowns()) > 0 {
			n++
		}
	}
	return float64(n)
}
