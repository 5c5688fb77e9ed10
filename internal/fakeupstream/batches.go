package fakeupstream

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Batch Mode as Google runs it: models/{model}:batchGenerateContent answers a batch operation at once;
// the batch belongs to the key's project, finishes on a later poll with one answer per inlined request,
// and only that key can read, list, cancel or delete it.

const batchMetaType = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"

type storedBatch struct {
	key      string
	name     string
	model    string
	display  string
	created  string
	polls    int
	state    string
	requests []json.RawMessage
	input    string // files/<id> of a file-input batch
	results  string // files/<id> of its results, once done
}

type batchStore struct {
	mu      sync.Mutex
	batches map[string]*storedBatch
}

// Batches are created through models/{model}:batchGenerateContent, not the collection.
var batchCollection = collection{prefix: "/v1beta/batches", list: kindBatchList, get: kindBatchGet,
	remove: kindBatchDelete, cancel: kindBatchCancel}

func (s *Server) serveBatches(c *call) {
	bs := &s.batches
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if bs.batches == nil {
		bs.batches = map[string]*storedBatch{}
	}
	switch c.rt.kind {
	case kindBatchCreate:
		s.batchCreate(c)
		return
	case kindBatchList:
		var ops []json.RawMessage
		for _, b := range bs.batches {
			if b.key == c.key {
				ops = append(ops, s.batchJSON(b))
			}
		}
		slices.SortFunc(ops, func(a, b json.RawMessage) int { return strings.Compare(string(a), string(b)) })
		writeJSON(c.w, map[string]any{"operations": ops})
		return
	}
	name := strings.TrimSuffix(strings.TrimPrefix(c.r.URL.Path, "/v1beta/"), ":cancel")
	b := bs.batches[name]
	if b == nil || b.key != c.key {
		writeErrorBody(c.w, http.StatusNotFound, bodyNotFound, false)
		return
	}
	switch c.rt.kind {
	case kindBatchCancel:
		if b.state == "BATCH_STATE_PENDING" || b.state == "BATCH_STATE_RUNNING" {
			b.state = "BATCH_STATE_CANCELLED"
		}
		writeRaw(c.w, []byte("{}"))
	case kindBatchDelete:
		delete(bs.batches, name)
		writeRaw(c.w, []byte("{}"))
	default:
		b.polls++
		if b.polls > pollsUntilDone && b.state == "BATCH_STATE_PENDING" {
			b.state = "BATCH_STATE_SUCCEEDED"
			if b.input != "" {
				// One results line for the input file, as Google writes them (JSONL, keyed).
				line, _ := json.Marshal(map[string]any{"key": b.input, "response": newAnswer(b.model, &genRequest{}, OK).full()})
				b.results = "files/" + s.addGenerated(b.key, "application/jsonl", append(line, '\n'))
			}
		}
		writeRaw(c.w, s.batchJSON(b))
	}
}

func (s *Server) batchCreate(c *call) {
	var req struct {
		Batch struct {
			DisplayName string `json:"displayName"`
			InputConfig struct {
				FileName string `json:"fileName"`
				Requests struct {
					Requests []struct {
						Request json.RawMessage `json:"request"`
					} `json:"requests"`
				} `json:"requests"`
			} `json:"inputConfig"`
		} `json:"batch"`
	}
	if json.Unmarshal(c.body, &req) != nil {
		writeErrorBody(c.w, http.StatusBadRequest, bodyBadJSON, false)
		return
	}
	input := req.Batch.InputConfig.FileName
	if input != "" {
		s.files.mu.Lock()
		s.files.init()
		f := s.files.files[input]
		s.files.mu.Unlock()
		if f == nil || f.key != c.key {
			s.writeError(c, fileDenied(input))
			return
		}
	}
	if len(req.Batch.InputConfig.Requests.Requests) == 0 && input == "" {
		s.writeError(c, badRequest("* BatchGenerateContentRequest.batch.input_config: the batch has no requests."))
		return
	}
	b := &storedBatch{key: c.key, name: "batches/" + strings.ToLower(randomID(12)), model: c.model, display: req.Batch.DisplayName,
		created: time.Now().UTC().Format(time.RFC3339Nano), state: "BATCH_STATE_PENDING", input: req.Batch.InputConfig.FileName}
	for _, r := range req.Batch.InputConfig.Requests.Requests {
		b.requests = append(b.requests, r.Request)
	}
	s.batches.batches[b.name] = b
	writeRaw(c.w, s.batchJSON(b))
}

// batchJSON is the batch as Google shows it: an operation whose metadata is the batch.
func (s *Server) batchJSON(b *storedBatch) json.RawMessage {
	meta := map[string]any{"@type": batchMetaType, "model": "models/" + b.model, "displayName": b.display,
		"createTime": b.created, "updateTime": b.created, "state": b.state, "name": b.name}
	op := map[string]any{"name": b.name, "metadata": meta}
	if b.state == "BATCH_STATE_SUCCEEDED" && b.results != "" {
		meta["output"] = map[string]any{"responsesFile": b.results}
		op["done"] = true
		op["response"] = map[string]any{"@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput",
			"responsesFile": b.results}
	} else if b.state == "BATCH_STATE_SUCCEEDED" {
		var answers []any
		for _, raw := range b.requests {
			var g genRequest
			_ = json.Unmarshal(raw, &g)
			answers = append(answers, map[string]any{"response": newAnswer(b.model, &g, OK).full()})
		}
		out := map[string]any{"inlinedResponses": map[string]any{"inlinedResponses": answers}}
		meta["output"] = out
		op["done"] = true
		op["response"] = map[string]any{"@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput",
			"inlinedResponses": out["inlinedResponses"]}
	}
	enc, _ := json.Marshal(op)
	return enc
}

// BatchOwner returns the key that created the batch name (batches/<id>).
func (s *Server) BatchOwner(name string) (string, bool) {
	s.batches.mu.Lock()
	defer s.batches.mu.Unlock()
	b := s.batches.batches[name]
	if b == nil {
		return "", false
	}
	return b.key, true
}
