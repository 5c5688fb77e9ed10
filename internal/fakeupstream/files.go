package fakeupstream

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"hash"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The Files API as Google runs it: a resumable upload (start answers an X-Goog-Upload-URL; chunks go
// there with X-Goog-Upload-Command upload / finalize / query and X-Goog-Upload-Offset), then
// files.get, files.list and files.delete. A file can be read only with the key that uploaded it, and
// a generate call that references another key's file is refused as Google refuses it.

// uploadGranularity is what Google announces in X-Goog-Upload-Chunk-Granularity.
const uploadGranularity = "8388608"

// fileTTL is how long Google keeps an uploaded file.
const fileTTL = 48 * time.Hour

// FileMeta is Google's File resource.
type FileMeta struct {
	Name           string `json:"name"`
	DisplayName    string `json:"displayName,omitempty"`
	MimeType       string `json:"mimeType"`
	SizeBytes      string `json:"sizeBytes"`
	CreateTime     string `json:"createTime"`
	UpdateTime     string `json:"updateTime"`
	ExpirationTime string `json:"expirationTime"`
	SHA256Hash     string `json:"sha256Hash"`
	URI            string `json:"uri"`
	State          string `json:"state"`
	Source         string `json:"source"`
}

type storedFile struct {
	key  string
	meta FileMeta
}

type uploadSession struct {
	key         string
	displayName string
	mimeType    string
	received    int64
	sum         hash.Hash
	head        []byte // the first bytes, to sniff a type the client did not declare
}

type fileStore struct {
	mu      sync.Mutex
	uploads map[string]*uploadSession
	files   map[string]*storedFile
}

func (fs *fileStore) init() {
	if fs.files == nil {
		fs.uploads, fs.files = map[string]*uploadSession{}, map[string]*storedFile{}
	}
}

// FileOwner returns the key that uploaded the file name (files/<id>).
func (s *Server) FileOwner(name string) (key string, ok bool) {
	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	s.files.init()
	f, ok := s.files.files[name]
	if !ok {
		return "", false
	}
	return f.key, true
}

// routeOf extends parseRoute with the routes whose kind depends on more than the path: the Files API
// (method, upload_id) and Vertex AI Express's publisher paths.
func routeOf(r *http.Request) route {
	p := r.URL.Path
	switch {
	case p == "/upload/v1beta/files":
		if r.URL.Query().Get("upload_id") != "" {
			return route{kind: kindUploadChunk, version: "v1beta"}
		}
		return route{kind: kindUploadStart, version: "v1beta"}
	case p == "/v1beta/files":
		return route{kind: kindFileList, version: "v1beta"}
	case strings.HasSuffix(p, ":download") && (strings.HasPrefix(p, "/v1beta/files/") || strings.HasPrefix(p, "/download/v1beta/files/")):
		return route{kind: kindFileDownload, version: "v1beta"}
	case strings.HasPrefix(p, "/v1beta/files/"):
		id := strings.TrimPrefix(p, "/v1beta/files/")
		if id == "" || strings.Contains(id, "/") {
			return route{version: "v1beta"}
		}
		if r.Method == http.MethodDelete {
			return route{kind: kindFileDelete, version: "v1beta"}
		}
		return route{kind: kindFileGet, version: "v1beta"}
	}
	if rt, ok := batchCollection.route(r); ok {
		return rt
	}
	if rt, ok := operationRoute(p); ok {
		return rt
	}
	if rt, ok := cacheCollection.route(r); ok {
		return rt
	}
	if rt, ok := vertexRoute(p); ok {
		return rt
	}
	return parseRoute(p)
}

// vertexRoute reads Vertex AI Express paths (VERTEX_EXPRESS_BASE_URL is .../v1beta1/publishers/google),
// which take the same generateContent bodies and API keys (?key= or x-goog-api-key).
func vertexRoute(p string) (route, bool) {
	for _, v := range []string{"v1beta1", "v1"} {
		rest, ok := strings.CutPrefix(p, "/"+v+"/publishers/google/")
		if !ok {
			continue
		}
		rt := parseNativeRoute(v, rest)
		if rt.kind != kindGenerate && rt.kind != kindStream && rt.kind != kindCount {
			rt.kind = kindNone
		}
		return rt, true
	}
	return route{}, false
}

func (s *Server) serveFiles(c *call) {
	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	s.files.init()
	switch c.rt.kind {
	case kindUploadStart:
		s.uploadStart(c)
	case kindUploadChunk:
		s.uploadChunk(c)
	case kindFileList:
		s.fileList(c)
	case kindFileGet, kindFileDelete:
		s.fileGetDelete(c)
	}
}

func (s *Server) uploadStart(c *call) {
	h := c.r.Header
	if !strings.EqualFold(h.Get("X-Goog-Upload-Protocol"), "resumable") || !strings.EqualFold(h.Get("X-Goog-Upload-Command"), "start") {
		s.writeError(c, badRequest("Invalid upload request: expected X-Goog-Upload-Protocol: resumable and X-Goog-Upload-Command: start."))
		return
	}
	var meta struct {
		File struct {
			DisplayName string `json:"displayName"`
			Snake       string `json:"display_name"`
		} `json:"file"`
	}
	if len(bytes.TrimSpace(c.body)) > 0 && json.Unmarshal(c.body, &meta) != nil {
		s.writeError(c, badJSON())
		return
	}
	id := randomID(32)
	name := meta.File.DisplayName
	if name == "" {
		name = meta.File.Snake
	}
	s.files.uploads[id] = &uploadSession{key: c.key, displayName: name, mimeType: h.Get("X-Goog-Upload-Header-Content-Type"), sum: sha256.New()}
	out := c.w.Header()
	out.Set("X-Goog-Upload-URL", "http://"+c.r.Host+"/upload/v1beta/files?upload_id="+id+"&upload_protocol=resumable")
	out.Set("X-Goog-Upload-Status", "active")
	out.Set("X-Goog-Upload-Chunk-Granularity", uploadGranularity)
	out.Set("X-GUploader-UploadID", id)
	c.w.WriteHeader(http.StatusOK)
}

func (s *Server) uploadChunk(c *call) {
	id := c.r.URL.Query().Get("upload_id")
	up := s.files.uploads[id]
	switch {
	case up == nil:
		s.writeError(c, newError(http.StatusNotFound, "NOT_FOUND", "Upload session not found."))
		return
	case up.key != c.key:
		s.writeError(c, newError(http.StatusForbidden, "PERMISSION_DENIED", "The caller does not have permission"))
		return
	}
	cmds := commands(c.r.Header.Get("X-Goog-Upload-Command"))
	out := c.w.Header()
	if slices.Contains(cmds, "query") {
		out.Set("X-Goog-Upload-Status", "active")
		out.Set("X-Goog-Upload-Size-Received", strconv.FormatInt(up.received, 10))
		c.w.WriteHeader(http.StatusOK)
		return
	}
	if slices.Contains(cmds, "upload") {
		if off, err := strconv.ParseInt(c.r.Header.Get("X-Goog-Upload-Offset"), 10, 64); err != nil || off != up.received {
			s.writeError(c, badRequest("Invalid X-Goog-Upload-Offset: expected "+strconv.FormatInt(up.received, 10)+"."))
			return
		}
		up.sum.Write(c.body)
		if len(up.head) < 512 {
			up.head = append(up.head, c.body[:min(len(c.body), 512-len(up.head))]...)
		}
		up.received += int64(len(c.body))
	}
	if !slices.Contains(cmds, "finalize") {
		out.Set("X-Goog-Upload-Status", "active")
		c.w.WriteHeader(http.StatusOK)
		return
	}
	f := s.newFile(c, up)
	delete(s.files.uploads, id)
	out.Set("X-Goog-Upload-Status", "final")
	writeJSON(c.w, map[string]any{"file": f.meta})
}

func commands(h string) []string {
	var out []string
	for _, p := range strings.Split(h, ",") {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (s *Server) newFile(c *call, up *uploadSession) *storedFile {
	id := strings.ToLower(randomID(12))
	now := time.Now().UTC()
	mt := up.mimeType
	if mt == "" {
		mt = http.DetectContentType(up.head)
	}
	f := &storedFile{key: up.key, meta: FileMeta{
		Name: "files/" + id, DisplayName: up.displayName, MimeType: mt, SizeBytes: strconv.FormatInt(up.received, 10),
		CreateTime: now.Format(time.RFC3339Nano), UpdateTime: now.Format(time.RFC3339Nano),
		ExpirationTime: now.Add(fileTTL).Format(time.RFC3339Nano),
		SHA256Hash:     base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(up.sum.Sum(nil)))),
		URI:            "http://" + c.r.Host + "/v1beta/files/" + id, State: "ACTIVE", Source: "UPLOADED",
	}}
	s.files.files[f.meta.Name] = f
	return f
}

func (s *Server) fileList(c *call) {
	var out []FileMeta
	for _, f := range s.files.files {
		if f.key == c.key {
			out = append(out, f.meta)
		}
	}
	slices.SortFunc(out, func(a, b FileMeta) int { return strings.Compare(a.CreateTime+a.Name, b.CreateTime+b.Name) })
	writeJSON(c.w, map[string]any{"files": out})
}

func (s *Server) fileGetDelete(c *call) {
	name := "files/" + strings.TrimPrefix(c.r.URL.Path, "/v1beta/files/")
	f := s.files.files[name]
	if f == nil || f.key != c.key {
		s.writeError(c, fileDenied(name))
		return
	}
	if c.rt.kind == kindFileDelete {
		delete(s.files.files, name)
		writeRaw(c.w, []byte("{}"))
		return
	}
	writeJSON(c.w, f.meta)
}

func fileDenied(name string) *apiError {
	return newError(http.StatusForbidden, "PERMISSION_DENIED",
		"You do not have permission to access the File "+strings.TrimPrefix(name, "files/")+" or it may not exist.")
}

// fileAccess refuses a generate call that references a file its key did not upload, as Google does, and
// one naming a context cache (the fake holds none, so every name is one the key cannot see).
func (s *Server) fileAccess(c *call) *apiError {
	if c.rt.kind != kindGenerate && c.rt.kind != kindStream && c.rt.kind != kindCount {
		return nil
	}
	if bytes.Contains(c.body, []byte("cachedContents/")) {
		var req struct {
			Cached      string `json:"cachedContent"`
			CachedSnake string `json:"cached_content"`
		}
		if json.Unmarshal(c.body, &req) == nil && req.Cached+req.CachedSnake != "" && !s.cacheUsable(req.Cached+req.CachedSnake, c.key) {
			return cachedContentDenied()
		}
	}
	if !bytes.Contains(c.body, []byte("files/")) {
		return nil
	}
	var req struct {
		Contents []struct {
			Parts []struct {
				FileData *struct {
					FileURI string `json:"fileUri"`
				} `json:"fileData"`
			} `json:"parts"`
		} `json:"contents"`
	}
	if json.Unmarshal(c.body, &req) != nil {
		return nil
	}
	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	s.files.init()
	for _, ct := range req.Contents {
		for _, p := range ct.Parts {
			if p.FileData == nil {
				continue
			}
			i := strings.LastIndex(p.FileData.FileURI, "files/")
			if i < 0 {
				continue
			}
			name := p.FileData.FileURI[i:]
			if f := s.files.files[name]; f == nil || f.key != c.key {
				return fileDenied(name)
			}
		}
	}
	return nil
}

// randomID is n characters of [a-z0-9A-Z], like Google's ids.
func randomID(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
