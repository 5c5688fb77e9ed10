package fakeupstream

import (
	"cmp"
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

// Embedding batches (models/{model}:asyncBatchEmbedContent) are the same kind of resource, holding
// EmbedContentRequests and answering embeddings.

const (
	batchMetaType      = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"
	embedBatchMetaType = "type.googleapis.com/google.ai.generativelanguage.v1main.EmbedContentBatch"
)

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
	embed    bool   // an asyncBatchEmbedContent batch
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
	case kindBatchCreate, kindBatchEmbedCreate:
		s.batchCreate(c, c.rt.kind == kindBatchEmbedCreate)
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
				line, _ := json.Marshal(map[string]any{"key": b.input, "response": b.answer(nil)})
				b.results = "files/" + s.addGenerated(b.key, "application/jsonl", append(line, '\n'))
			}
		}
		writeRaw(c.w, s.batchJSON(b))
	}
}

func (s *Server) batchCreate(c *call, embed bool) {
	// Google's JSON reader takes both spellings of every field; the SDK sends file_name for embeddings.
	type batchInput struct {
		FileName      string `json:"fileName"`
		FileNameSnake string `json:"file_name"`
		Requests      struct {
			Requests []struct {
				Request json.RawMessage `json:"request"`
			} `json:"requests"`
		} `json:"requests"`
	}
	var req struct {
		Batch struct {
			DisplayName      string     `json:"displayName"`
			InputConfig      batchInput `json:"inputConfig"`
			InputConfigSnake batchInput `json:"input_config"`
		} `json:"batch"`
	}
	if json.Unmarshal(c.body, &req) != nil {
		writeErrorBody(c.w, http.StatusBadRequest, bodyBadJSON, false)
		return
	}
	in := req.Batch.InputConfig
	if in.FileName == "" && in.FileNameSnake == "" && len(in.Requests.Requests) == 0 {
		in = req.Batch.InputConfigSnake
	}
	input := cmp.Or(in.FileName, in.FileNameSnake)
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
	if len(in.Requests.Requests) == 0 && input == "" {
		s.writeError(c, badRequest("* BatchGenerateContentRequest.batch.input_config: the batch has no requests."))
		return
	}
	b := &storedBatch{key: c.key, name: "batches/" + strings.ToLower(randomID(12)), model: c.model, display: req.Batch.DisplayName,
		created: time.Now().UTC().Format(time.RFC3339Nano), state: "BATCH_STATE_PENDING", input: input, embed: embed}
	for _, r := range in.Requests.Requests {
		b.requests = append(b.requests, r.Request)
	}
	s.batches.batches[b.name] = b
	writeRaw(c.w, s.batchJSON(b))
}

// batchJSON is the batch as Google shows it: an operation whose metadata is the batch.
func (s *Server) batchJSON(b *storedBatch) json.RawMessage {
	metaType, outType, inlined := batchMetaType, "GenerateContentBatchOutput", "inlinedResponses"
	if b.embed {
		metaType, outType, inlined = embedBatchMetaType, "EmbedContentBatchOutput", "inlinedEmbedContentResponses"
	}
	meta := map[string]any{"@type": metaType, "model": "models/" + b.model, "displayName": b.display,
		"createTime": b.created, "updateTime": b.created, "state": b.state, "name": b.name}
	op := map[string]any{"name": b.name, "metadata": meta}
	if b.state != "BATCH_STATE_SUCCEEDED" {
		enc, _ := json.Marshal(op)
		return enc
	}
	output := map[string]any{}
	if b.results != "" {
		output["responsesFile"] = b.results
	} else {
		answers := make([]any, 0, len(b.requests))
		for _, raw := range b.requests {
			answers = append(answers, map[string]any{"response": b.answer(raw)})
		}
		output[inlined] = map[string]any{"inlinedResponses": answers}
	}
	meta["output"] = output
	op["done"] = true
	response := map[string]any{"@type": "type.googleapis.com/google.ai.generativelanguage.v1main." + outType}
	for k, v := range output {
		response[k] = v
	}
	op["response"] = response
	enc, _ := json.Marshal(op)
	return enc
}

// answer is the batch's answer to one of its requests: a generate answer, or an embedding.
func (b *storedBatch) answer(raw json.RawMessage) any {
	if b.embed {
		var r embedRequest
		_ = json.Unmarshal(raw, &r)
		text := ""
		if r.Content != nil {
			text = joinText(r.Content.Parts)
		}
		return map[string]any{"embedding": embedding{Values: embedVector(text, r.dims(modelByID[b.model]))}}
	}
	var g genRequest
	_ = json.Unmarshal(raw, &g)
	return newAnswer(b.model, &g, OK).full()
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
