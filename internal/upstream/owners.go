package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/resources"
)

// ownerLookupTimeout bounds the database lookups of one call, so that a slow database delays a call
// that names resources by seconds at most.
const ownerLookupTimeout = 3 * time.Second

// maxNamedResources bounds the lookups one call can cause: Google itself takes few files per request,
// and a body naming thousands must not turn into thousands of queries.
const maxNamedResources = 64

// bindResources applies what gemgate knows about the resources a call names (files, context caches),
// for every API alike since they all arrive here as Gemini bodies:
//   - one owned by another client token (with FILES_USER_ISOLATION_ENABLED) is refused before anything
//     reaches Google, as if it did not exist;
//   - one gemgate recorded goes to the key whose project holds it (only that key can read it);
//   - one gemgate does not know makes the call unvouched: Google is asked once, and whatever it
//     answers, no key is charged (vouched is false).
func (e *Executor) bindResources(ctx context.Context, snap *config.Snapshot, call *Call) (vouched bool, _ *Error) {
	if e.Owners == nil || call.Key != nil || len(call.Body) == 0 {
		return true, nil
	}
	names := resources.Refs(call.Body)
	if len(names) == 0 {
		return true, nil
	}
	if len(names) > maxNamedResources {
		return false, localError(http.StatusBadRequest, fmt.Sprintf("The request names %d files and caches; gemgate accepts at most %d in one call.", len(names), maxNamedResources))
	}
	lctx, cancel := context.WithTimeout(ctx, ownerLookupTimeout)
	defer cancel()
	caller := auth.CallerID(ctx)
	isolated := config.FilesUserIsolationEnabled.Get(snap)
	vouched = true
	var pinned *keypool.Key
	for _, name := range names {
		o, err := e.Owners.Lookup(lctx, name)
		switch {
		case errors.Is(err, resources.ErrUnknown):
			vouched = false
			continue
		case err != nil:
			return false, localError(http.StatusServiceUnavailable, "gemgate could not look up "+name+" (database error); try again.")
		case isolated && o.TokenID != caller:
			return false, localError(http.StatusNotFound, "Requested entity was not found: "+name+".")
		}
		key, ok := e.Pool.LookupID(o.KeyID)
		if !ok {
			return false, localError(http.StatusNotFound, name+" was created with a Gemini key that gemgate no longer has, and only that key's project can use it; create it again.")
		}
		if pinned != nil && pinned != key {
			return false, localError(http.StatusBadRequest, "The request names resources held by different Gemini keys (Google projects), and one call can only use the files and caches of one project; split the call.")
		}
		pinned = key
	}
	call.Key = pinned
	return vouched, nil
}
