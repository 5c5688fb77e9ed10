package fakeupstream

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
)

// Long-running video generation (Veo), as Google runs it: predictLongRunning answers an operation at
// once, the operation is polled until done, and the video is a file of the key's project, downloaded
// with files/{id}:download?alt=media by that key only.

// videoBytes stands for a generated MP4: an ftyp box is enough for a client to tell the type.
var videoBytes = []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isomfake video from the gemgate fake upstream")

// pollsUntilDone is how many polls an operation answers "not done" before it finishes.
const pollsUntilDone = 1

type videoOp struct {
	key    string
	name   string
	polls  int
	fileID string
}

type videoStore struct {
	mu    sync.Mutex
	ops   map[string]*videoOp
	files map[string]generated // generated file id -> its key and bytes
}

// generated is a file Google made (a video, a batch's results), readable only by its key.
type generated struct {
	key  string
	mime string
	data []byte
}

// addGenerated stores a generated file for key and returns its id.
func (s *Server) addGenerated(key, mime string, data []byte) string {
	s.videos.mu.Lock()
	defer s.videos.mu.Unlock()
	if s.videos.files == nil {
		s.videos.files = map[string]generated{}
	}
	id := strings.ToLower(randomID(12))
	s.videos.files[id] = generated{key: key, mime: mime, data: data}
	return id
}

// operationRoute reads /v1beta/models/{model}/operations/{id}.
func operationRoute(p string) (route, bool) {
	rest, ok := strings.CutPrefix(p, "/v1beta/models/")
	if !ok {
		return route{}, false
	}
	model, id, ok := strings.Cut(rest, "/operations/")
	if !ok || model == "" || id == "" || strings.Contains(id, "/") {
		return route{}, false
	}
	return route{kind: kindOperationGet, version: "v1beta"}, true
}

func (s *Server) servePredictLongRunning(c *call) {
	var req predictRequest
	if err := unmarshalBody(c.body, &req); err != nil {
		s.writeError(c, badJSON())
		return
	}
	if len(req.Instances) == 0 || req.Instances[0].Prompt == "" {
		s.writeError(c, badRequest("The prompt is empty."))
		return
	}
	v := &s.videos
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ops == nil {
		v.ops = map[string]*videoOp{}
	}
	op := &videoOp{key: c.key, name: "models/" + c.model + "/operations/" + strings.ToLower(randomID(12))}
	v.ops[op.name] = op
	writeJSON(c.w, map[string]any{"name": op.name})
}

func (s *Server) serveOperation(c *call) {
	name := strings.TrimPrefix(c.r.URL.Path, "/v1beta/")
	v := &s.videos
	v.mu.Lock()
	defer v.mu.Unlock()
	op := v.ops[name]
	if op == nil || op.key != c.key {
		writeErrorBody(c.w, http.StatusNotFound, bodyNotFound, false)
		return
	}
	op.polls++
	if op.polls <= pollsUntilDone {
		writeJSON(c.w, map[string]any{"name": op.name})
		return
	}
	if op.fileID == "" {
		op.fileID = strings.ToLower(randomID(12))
		if v.files == nil {
			v.files = map[string]generated{}
		}
		v.files[op.fileID] = generated{key: op.key, mime: "video/mp4", data: videoBytes}
	}
	uri := "http://" + c.r.Host + "/v1beta/files/" + op.fileID + ":download?alt=media"
	b, _ := json.Marshal(map[string]any{"name": op.name, "done": true, "response": map[string]any{
		"@type":                 "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
		"generateVideoResponse": map[string]any{"generatedSamples": []any{map[string]any{"video": map[string]any{"uri": uri}}}},
	}})
	writeRaw(c.w, b)
}

func (s *Server) serveDownload(c *call) {
	p := strings.TrimPrefix(strings.TrimPrefix(c.r.URL.Path, "/download"), "/v1beta/files/")
	id := strings.TrimSuffix(p, ":download")
	v := &s.videos
	v.mu.Lock()
	f, ok := v.files[id]
	v.mu.Unlock()
	if !ok || f.key != c.key {
		s.writeError(c, fileDenied("files/"+id))
		return
	}
	c.w.Header().Set("Content-Type", f.mime)
	_, _ = c.w.Write(f.data)
}

// VideoFileOwner returns the key whose operation generated the file id.
func (s *Server) VideoFileOwner(id string) (string, bool) {
	s.videos.mu.Lock()
	defer s.videos.mu.Unlock()
	f, ok := s.videos.files[id]
	return f.key, ok
}
