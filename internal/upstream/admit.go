package upstream

import (
	"context"

	"github.com/gemgate/gemgate/internal/auth"
)

// admit applies the client token's limits (model allow-list, daily quota) at the one place every API
// passes through with its model known, so each API refuses in its own error shape and a new API gets
// the limits without code of its own. Calls without a model (listings, files) spend no quota.
func admit(ctx context.Context, call Call) *Error {
	g := auth.GrantFrom(ctx)
	if g == nil || call.Key != nil {
		return nil
	}
	model := quotaModel(call)
	if call.Model == "" && model == "" {
		return nil
	}
	d := g.Admit(call.Model, model)
	if d == nil {
		return nil
	}
	e := localError(d.Status, d.Message)
	e.RetryAfter = d.RetryAfter
	return e
}
