package app

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/gemgate/gemgate/internal/auth"
)

// tokenSyncEvery is how often the managed client tokens are re-read (changes made on another
// instance) and the daily quota counts exchanged through the database.
const tokenSyncEvery = 5 * time.Second

// tokenSync remembers whether the last sync failed, so a database outage is reported once, not every
// few seconds.
type tokenSync struct{ failing atomic.Bool }

// startClientTokens loads the managed client tokens and keeps them and their quota counts in step
// with the database. A database that fails here only delays them: the loop tries again.
func (a *App) startClientTokens(ctx context.Context) {
	if err := a.reloadClientTokens(ctx); err != nil {
		a.Logger.Warn("could not load the client tokens; trying again shortly", "err", err)
	}
	a.wg.Add(1)
	go a.clientTokenLoop(&tokenSync{})
}

func (a *App) clientTokenLoop(s *tokenSync) {
	defer a.wg.Done()
	t := time.NewTicker(tokenSyncEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			a.syncClientTokens(s)
		case <-a.stop:
			// The last counts of this instance, before the database closes.
			a.syncClientTokens(s)
			return
		}
	}
}

func (a *App) syncClientTokens(s *tokenSync) {
	ctx, cancel := context.WithTimeout(context.Background(), tokenSyncEvery)
	defer cancel()
	err := a.Tokens.SyncUsage(ctx, a.Store.AddTokenUsage)
	if err == nil {
		err = a.reloadClientTokens(ctx)
	}
	switch {
	case err != nil && !s.failing.Swap(true):
		a.Logger.Warn("could not sync the client tokens and their quotas; counting in memory meanwhile", "err", err)
	case err == nil && s.failing.Swap(false):
		a.Logger.Info("client tokens and quotas are in sync with the database again")
	}
}

// reloadClientTokens applies the stored tokens and their stored counts of today.
func (a *App) reloadClientTokens(ctx context.Context) error {
	list, err := a.Store.ListClientTokens(ctx)
	if err != nil {
		return err
	}
	ps := make([]auth.Policy, len(list))
	for i, ct := range list {
		ps[i] = auth.Policy{ID: ct.ID, Name: ct.Name, Token: ct.Token, Enabled: ct.Enabled, ExpiresAt: ct.ExpiresAt,
			Models: ct.Models, DailyQuota: ct.DailyQuota}
		a.Tokens.SeedUsage(ct.ID, ct.UsedDay, ct.UsedCount)
	}
	a.Tokens.SetPolicies(ps)
	return nil
}
