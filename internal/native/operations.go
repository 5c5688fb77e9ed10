package native

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/resources"
	"github.com/gemgate/gemgate/internal/upstream"
)

// Long-running operations (Veo's predictLongRunning) live in the project of the key that started them,
// and so do the videos they produce: gemgate records the operation under its key and client token,
// polls it with that key, and records each finished video file the same way, for the download.

// operationTTL is how long an operation is remembered; generatedFileTTL is Google's lifetime of a
// generated file (two days).
const (
	operationTTL     = 48 * time.Hour
	generatedFileTTL = 48 * time.Hour
)

// rememberOperation records the operation (or batch) in Google's answer as the caller's, held by key.
func (h *Handler) rememberOperation(r *http.Request, answer []byte, key *keypool.Key) error {
	var op struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(answer, &op); err != nil || (resources.Kind(op.Name) != "operations" && resources.Kind(op.Name) != "batches") {
		return errors.New("no operation or batch name in Google's answer")
	}
	return h.Resources.Record(r.Context(), resources.Owner{Name: op.Name, KeyID: key.ID(),
		TokenID: auth.CallerID(r.Context()), Expires: time.Now().Add(operationTTL)})
}

// operationCall polls one of the caller's operations with the key that started it; once it is done,
// the files it produced are recorded as the caller's too.
func (h *Handler) operationCall(w http.ResponseWriter, r *http.Request) {
	name := "models/" + r.PathValue("model") + "/operations/" + r.PathValue("id")
	key, ok := h.ownedResource(w, r, name)
	if !ok {
		return
	}
	resp, err := h.Exec.Do(r.Context(), upstream.Call{Method: http.MethodGet, Path: name, Key: key})
	if err != nil {
		upstream.WriteError(w, err)
		return
	}
	if resp.StatusCode == http.StatusOK {
		h.rememberFiles(r, key, generatedFiles(resp.Body))
	}
	writeBody(w, resp)
}

// rememberFiles records files Google generated for the caller (videos, batch results) under key, for
// their download.
func (h *Handler) rememberFiles(r *http.Request, key *keypool.Key, files []string) {
	for _, file := range files {
		_ = h.Resources.Record(r.Context(), resources.Owner{Name: file, KeyID: key.ID(),
			TokenID: auth.CallerID(r.Context()), Expires: time.Now().Add(generatedFileTTL)})
	}
}

// batchResultsFile is the results file of a finished file-input batch, if any.
func batchResultsFile(answer []byte) []string {
	var op struct {
		Metadata struct {
			Output struct {
				ResponsesFile string `json:"responsesFile"`
			} `json:"output"`
		} `json:"metadata"`
	}
	if json.Unmarshal(answer, &op) != nil {
		return nil
	}
	if name := resources.FileName(op.Metadata.Output.ResponsesFile); name != "" {
		return []string{name}
	}
	return nil
}

// generatedFiles lists the files/<id> names of the videos in a finished operation.
func generatedFiles(answer []byte) []string {
	var op struct {
		Done     bool `json:"done"`
		Response struct {
			GenerateVideoResponse struct {
				GeneratedSamples []struct {
					Video struct {
						URI string `json:"uri"`
					} `json:"video"`
				} `json:"generatedSamples"`
			} `json:"generateVideoResponse"`
		} `json:"response"`
	}
	if json.Unmarshal(answer, &op) != nil || !op.Done {
		return nil
	}
	var out []string
	for _, s := range op.Response.GenerateVideoResponse.GeneratedSamples {
		uri, _, _ := strings.Cut(s.Video.URI, "?")
		if name := resources.FileName(strings.TrimSuffix(uri, ":download")); name != "" {
			out = append(out, name)
		}
	}
	return out
}
