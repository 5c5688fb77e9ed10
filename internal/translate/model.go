package translate

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/limits"
	"github.com/gemgate/gemgate/internal/models"
)

// ModelError is a model name this gateway cannot serve.
type ModelError struct{ Message string }

func (e *ModelError) Error() string { return e.Message }

// ResolveModel applies aliases and derived suffixes and refuses what this gateway does not offer.
// Model names end up in the upstream URL path, so anything but a plain model id is refused here.
func ResolveModel(snap *config.Snapshot, name string) (models.Resolved, error) {
	model := models.Resolve(snap, name)
	if !PlainModelID(model.Real) {
		return model, &ModelError{fmt.Sprintf("The model %q does not exist.", name)}
	}
	if err := models.Check(snap, model); err != nil {
		return model, &ModelError{fmt.Sprintf("The model %q is not available: %v.", name, err)}
	}
	return model, nil
}

// PlainModelID reports a model id made only of letters, digits, '-', '.' and '_'.
func PlainModelID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// BodyTooLarge is a request body over MAX_REQUEST_BODY_MB.
type BodyTooLarge struct{ LimitMiB int64 }

func (e *BodyTooLarge) Error() string {
	return fmt.Sprintf("The request body is larger than MAX_REQUEST_BODY_MB (%d MiB).", e.LimitMiB)
}

// ReadBody reads a client's body up to MAX_REQUEST_BODY_MB.
func ReadBody(w http.ResponseWriter, r *http.Request, snap *config.Snapshot) ([]byte, error) {
	limit := int64(config.MaxRequestBodyMB.Get(snap)) << 20
	body, err := limits.ReadBody(w, r, limit)
	if err == nil {
		return body, nil
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, &BodyTooLarge{LimitMiB: limit >> 20}
	}
	return nil, fmt.Errorf("could not read the request body: %w", err)
}
