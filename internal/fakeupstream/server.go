// Package fakeupstream simulates Google's Gemini API (generativelanguage.googleapis.com) closely enough
// for a key-pooling gateway to be tested, benchmarked and demonstrated without real keys: native and
// OpenAI-compatible routes, SSE and JSON-array streaming, and the error bodies Google sends for
// invalid, suspended, disabled, rate-limited and overloaded keys.
package fakeupstream

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config sets up a Server. The zero value answers every key normally.
type Config struct {
	Keys map[string]Behavior // explicit behaviour per key
	// UnknownKeys is the behaviour of keys not in Keys (default OK); use Invalid to be strict.
	// When KeysByName is true, BehaviorFromKeyName decides instead.
	UnknownKeys    Behavior
	KeysByName     bool
	Latency        time.Duration // before every answer, errors included; for streams, before the first event
	StreamChunks   int           // SSE events a streamed answer is split into (default 3, min 1)
	StreamInterval time.Duration // pause between stream events
	RetryDelay     string        // RetryInfo.retryDelay for RateLimitMinute (default "37s")
	// InputTokenLimit, when set, is the per-minute input-token quota of every key: a generate call whose
	// prompt alone is larger gets Google's 429 on that quota, on every key.
	InputTokenLimit int
	// Delay, when set, replaces Latency on the routes that spend quota (generate, stream, count,
	// embed, chat, ...): the wait before answering the n-th such request (counted from 1) made with
	// key. A script for tests (hold one call, answer the next at once) or a distribution for the
	// bench (a long tail); the real API's latency is mostly not the request's doing.
	Delay func(n int, key string) time.Duration
	// OnAbandon, when set, is called with n and key when the client of a delayed request went away
	// before the delay was over: the event a test waits for to see that a gateway cancelled a call.
	OnAbandon func(n int, key string)
}

// Recorded is one request as the fake upstream saw it.
type Recorded struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
	Key                    string // from x-goog-api-key, ?key= or (OpenAI routes) Authorization: Bearer
	Model                  string // without "models/"
	// Action is the native method ("generateContent", "streamGenerateContent", "countTokens",
	// "embedContent", "batchEmbedContents"), "list" or "get" for models, or the OpenAI-compatible
	// path ("chat/completions", "embeddings", "models"); "predict" for Imagen; "upload.start",
	// "upload.chunk", "files.list", "files.get", "files.delete" for the Files API; "" for unknown routes.
	Action string
}

const (
	recordLimit   = 1000
	maxBodyBytes  = 64 << 20
	defaultChunks = 3
	defaultRetry  = "37s"
)

// Server is an http.Handler that behaves like the Gemini API. All methods are safe for concurrent use.
type Server struct {
	unknown        Behavior
	byName         bool
	latency        time.Duration
	chunks         int
	streamInterval time.Duration
	retryDelay     string
	inputLimit     int
	delay          func(n int, key string) time.Duration
	onAbandon      func(n int, key string)
	delayed        atomic.Int64 // requests that Delay applied to
	abandoned      atomic.Int64 // of those, requests whose client left during the delay

	behMu     sync.RWMutex
	behaviors map[string]Behavior

	hook      atomic.Pointer[func(context.Context, int)]
	cancelled atomic.Int64

	recMu   sync.Mutex
	calls   map[string]int
	total   int
	records []Recorded
	next    int // oldest record once records is full

	flaky sync.Map // key -> *atomic.Int64: calls seen by a Flaky key

	// quotaBodies caches encoded 429/500/503 bodies per behaviour and model; the catalogue bounds it.
	quotaBodies sync.Map

	files   fileStore  // the Files API's uploads and files (files.go)
	caches  cacheStore // context caches (caches.go)
	videos  videoStore // long-running video operations and their files (video.go)
	batches batchStore // Batch Mode jobs (batches.go)
	live    liveStore  // Live API sessions and ephemeral tokens (live.go)
}

// New builds a Server from cfg, filling defaults.
func New(cfg Config) *Server {
	s := &Server{
		unknown:        cfg.UnknownKeys,
		byName:         cfg.KeysByName,
		latency:        cfg.Latency,
		chunks:         max(cfg.StreamChunks, 1),
		streamInterval: cfg.StreamInterval,
		retryDelay:     cfg.RetryDelay,
		inputLimit:     cfg.InputTokenLimit,
		delay:          cfg.Delay,
		onAbandon:      cfg.OnAbandon,
		behaviors:      make(map[string]Behavior, len(cfg.Keys)),
		calls:          make(map[string]int),
	}
	if cfg.StreamChunks == 0 {
		s.chunks = defaultChunks
	}
	if s.retryDelay == "" {
		s.retryDelay = defaultRetry
	}
	for k, b := range cfg.Keys {
		s.behaviors[k] = b
	}
	return s
}

// SetBehavior changes how key is answered from the next request on.
func (s *Server) SetBehavior(key string, b Behavior) {
	s.behMu.Lock()
	s.behaviors[key] = b
	s.behMu.Unlock()
}

func (s *Server) behaviorFor(key string) Behavior {
	s.behMu.RLock()
	b, ok := s.behaviors[key]
	s.behMu.RUnlock()
	switch {
	case ok:
		return b
	case s.byName:
		return BehaviorFromKeyName(key)
	default:
		return s.unknown
	}
}

// SetStreamHook installs fn, called with the request context before each stream event after the first,
// so a test can hold the stream open and prove the gateway already forwarded the first event. nil removes it.
func (s *Server) SetStreamHook(fn func(ctx context.Context, event int)) {
	if fn == nil {
		s.hook.Store(nil)
		return
	}
	s.hook.Store(&fn)
}

// Calls is the number of requests seen with key, on any route.
func (s *Server) Calls(key string) int {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	return s.calls[key]
}

// TotalCalls is the number of requests seen, with or without a key.
func (s *Server) TotalCalls() int {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	return s.total
}

// Requests returns the last 1000 requests, oldest first.
func (s *Server) Requests() []Recorded {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	out := make([]Recorded, 0, len(s.records))
	out = append(out, s.records[s.next:]...)
	return append(out, s.records[:s.next]...)
}

// LastRequest returns the most recent request, if any.
func (s *Server) LastRequest() (Recorded, bool) {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	if len(s.records) == 0 {
		return Recorded{}, false
	}
	last := s.next - 1
	if last < 0 {
		last = len(s.records) - 1
	}
	return s.records[last], true
}

// Reset clears call counters, recorded requests and the cancelled-stream count.
func (s *Server) Reset() {
	s.recMu.Lock()
	s.calls = make(map[string]int)
	s.total = 0
	s.records = nil
	s.next = 0
	s.recMu.Unlock()
	s.cancelled.Store(0)
}

// Cancelled is the number of streams whose client went away before the stream finished.
func (s *Server) Cancelled() int { return int(s.cancelled.Load()) }

func (s *Server) record(c *call) { s.recordAs(c, c.rt.kind.info().action) }

// recordAs records c under action (routes outside the route table: the Live API).
func (s *Server) recordAs(c *call, action string) {
	rec := Recorded{
		Method: c.r.Method, Path: c.r.URL.Path, RawQuery: c.r.URL.RawQuery,
		Header: c.r.Header.Clone(), Body: c.body, Key: c.key, Model: c.model, Action: action,
	}
	s.recMu.Lock()
	defer s.recMu.Unlock()
	s.total++
	if c.key != "" {
		s.calls[c.key]++
	}
	if len(s.records) < recordLimit {
		s.records = append(s.records, rec)
		return
	}
	s.records[s.next] = rec
	s.next = (s.next + 1) % recordLimit
}

// call carries one request through the pipeline.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	rt     route
	body   []byte
	key    string
	bearer bool // an Authorization: Bearer credential came without an API key
	model  string
	req    any   // the decoded body, type depending on the route
	reqErr error // the body was not valid JSON for the route
	b      Behavior
}

// ServeHTTP records the request before answering it, so tests see it even when the answer is an error
// or a stream that never ends.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.serveLive(w, r) {
		return
	}
	c := &call{w: w, r: r, rt: routeOf(r)}
	c.body, c.reqErr = io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	c.key, c.bearer = credentials(r, c.rt.openai)
	c.model = c.rt.model
	if c.reqErr == nil && c.rt.kind.info().method == http.MethodPost && r.Method == http.MethodPost {
		c.decode()
	}
	s.record(c)
	// Latency applies to errors too: a real round trip costs the same whatever the answer.
	if !s.wait(c) {
		if c.streaming() {
			s.cancelled.Add(1)
		}
		return
	}
	s.dispatch(c)
}

// wait holds the request for its latency; it reports whether the client is still there.
func (s *Server) wait(c *call) bool {
	if s.delay == nil || !c.rt.kind.info().quota {
		return wait(c.r.Context(), s.latency)
	}
	n := int(s.delayed.Add(1))
	if wait(c.r.Context(), s.delay(n, c.key)) {
		return true
	}
	s.abandoned.Add(1)
	if s.onAbandon != nil {
		s.onAbandon(n, c.key)
	}
	return false
}

// Abandoned is the number of requests held by Config.Delay whose client went away during the delay.
func (s *Server) Abandoned() int { return int(s.abandoned.Load()) }

func (c *call) streaming() bool {
	if chat, ok := c.req.(*chatRequest); ok {
		return chat.Stream
	}
	return c.rt.kind == kindStream
}

// credentials reads the key where Google does. On native routes a bearer token is taken as OAuth, never
// as an API key; the OpenAI-compatible endpoint takes the API key as a bearer token.
func credentials(r *http.Request, openai bool) (key string, bearer bool) {
	token, hasBearer := bearerToken(r)
	if openai && hasBearer {
		return token, false
	}
	if k := r.Header.Get("x-goog-api-key"); k != "" {
		return k, false
	}
	if k := r.URL.Query().Get("key"); k != "" {
		return k, false
	}
	return "", hasBearer && !openai
}

func bearerToken(r *http.Request) (string, bool) {
	auth := r.Header.Get("Authorization")
	if len(auth) < len("Bearer ") || !strings.EqualFold(auth[:len("Bearer ")], "Bearer ") {
		return "", false
	}
	tok := strings.TrimSpace(auth[len("Bearer "):])
	return tok, tok != ""
}

// dispatch checks a request in the order Google's front end does: route, HTTP method, credentials,
// key state, body syntax, model, quota, then the handler validates the request itself.
func (s *Server) dispatch(c *call) {
	info := c.rt.kind.info()
	switch {
	case c.rt.kind == kindNone:
		writeErrorBody(c.w, http.StatusNotFound, bodyNotFound, c.rt.openai)
		return
	case c.r.Method != info.method:
		c.w.Header().Set("Allow", info.method)
		writeErrorBody(c.w, http.StatusMethodNotAllowed, bodyNotAllowed, c.rt.openai)
		return
	}
	if !s.admit(c, info) {
		return
	}
	s.handlers(c.rt.kind)(s, c)
}

// admit sends the error that stops the request, if any, and reports whether the handler should run.
func (s *Server) admit(c *call, info *kindInfo) bool {
	if c.bearer {
		s.writeError(c, oauthError(c.rt.version, c.rt.kind))
		return false
	}
	if c.key == "" {
		writeErrorBody(c.w, http.StatusForbidden, bodyUnregistered, c.rt.openai)
		return false
	}
	c.b = s.behaviorFor(c.key)
	b := c.b
	if isKeyLevel(b) {
		s.writeKeyError(c, b)
		return false
	}
	if c.reqErr != nil {
		writeErrorBody(c.w, http.StatusBadRequest, bodyBadJSON, c.rt.openai)
		return false
	}
	if e := modelError(c, info); e != nil {
		s.writeError(c, e)
		return false
	}
	if e := s.fileAccess(c); e != nil {
		s.writeError(c, e)
		return false
	}
	if e := s.inputQuota(c); e != nil {
		s.writeError(c, e)
		return false
	}
	if info.quota && b == Flaky && s.flakyTurn(c.key) {
		writeErrorBody(c.w, http.StatusServiceUnavailable, bodyOverloaded, c.rt.openai)
		return false
	}
	if info.quota && isQuotaLevel(b) {
		writeErrorBody(c.w, quotaStatus(b), s.quotaBody(b, c.model), c.rt.openai)
		return false
	}
	return true
}

func (s *Server) writeKeyError(c *call, b Behavior) {
	if b == Invalid {
		writeErrorBody(c.w, http.StatusBadRequest, bodyInvalidKey, c.rt.openai)
		return
	}
	s.writeError(c, behaviorError(b, c.key, c.model, s.retryDelay))
}

func modelError(c *call, info *kindInfo) *apiError {
	if info.modelMethod == "" {
		return nil
	}
	if c.model == "" {
		return badRequest("* GenerateContentRequest.model: unexpected model name format\n")
	}
	m := modelByID[c.model]
	if m == nil {
		return modelNotFound(c.rt.version, c.model, info.modelMethod)
	}
	if m.deprecated != "" {
		return newError(http.StatusNotFound, "NOT_FOUND", m.deprecated)
	}
	if c.rt.kind != kindGet && c.rt.kind != kindOAIModel && !m.supports(info.modelMethod) {
		return modelNotFound(c.rt.version, c.model, info.modelMethod)
	}
	return nil
}

// flakyTurn reports whether this call of a Flaky key fails: every other one, starting with the first.
func (s *Server) flakyTurn(key string) bool {
	v, _ := s.flaky.LoadOrStore(key, new(atomic.Int64))
	return v.(*atomic.Int64).Add(1)%2 == 1
}

// inputQuota refuses a generate call whose prompt is larger than InputTokenLimit.
func (s *Server) inputQuota(c *call) *apiError {
	g, ok := c.req.(*genRequest)
	if s.inputLimit <= 0 || !ok || (c.rt.kind != kindGenerate && c.rt.kind != kindStream) {
		return nil
	}
	if tokens(promptChars(g)) <= s.inputLimit {
		return nil
	}
	return inputTokenError(c.model, s.retryDelay, s.inputLimit)
}

func quotaStatus(b Behavior) int {
	switch b {
	case LocationBlocked:
		return http.StatusBadRequest
	case Overloaded:
		return http.StatusServiceUnavailable
	case Internal:
		return http.StatusInternalServerError
	}
	return http.StatusTooManyRequests
}

type quotaKey struct {
	b     Behavior
	model string
}

func (s *Server) quotaBody(b Behavior, model string) []byte {
	switch b {
	case LocationBlocked:
		return bodyLocation
	case Overloaded:
		return bodyOverloaded
	case Internal:
		return bodyInternal
	}
	k := quotaKey{b, model}
	if v, ok := s.quotaBodies.Load(k); ok {
		return v.([]byte)
	}
	body := behaviorError(b, "", model, s.retryDelay).encode()
	s.quotaBodies.Store(k, body)
	return body
}

type handlerFunc func(*Server, *call)

func (s *Server) handlers(k kind) handlerFunc {
	switch k {
	case kindList:
		return (*Server).serveModelList
	case kindGet:
		return (*Server).serveModelGet
	case kindGenerate:
		return (*Server).serveGenerate
	case kindStream:
		return (*Server).serveStream
	case kindCount:
		return (*Server).serveCountTokens
	case kindEmbed:
		return (*Server).serveEmbed
	case kindBatchEmbed:
		return (*Server).serveBatchEmbed
	case kindOAIModels:
		return (*Server).serveOpenAIModels
	case kindOAIModel:
		return (*Server).serveOpenAIModel
	case kindOAIChat:
		return (*Server).serveChat
	case kindOAIEmbed:
		return (*Server).serveOpenAIEmbeddings
	case kindPredict:
		return (*Server).servePredict
	case kindUploadStart, kindUploadChunk, kindFileList, kindFileGet, kindFileDelete:
		return (*Server).serveFiles
	case kindCacheCreate, kindCacheList, kindCacheGet, kindCachePatch, kindCacheDelete:
		return (*Server).serveCaches
	case kindPredictLR:
		return (*Server).servePredictLongRunning
	case kindOperationGet:
		return (*Server).serveOperation
	case kindFileDownload:
		return (*Server).serveDownload
	case kindBatchCreate, kindBatchEmbedCreate, kindBatchList, kindBatchGet, kindBatchCancel, kindBatchDelete:
		return (*Server).serveBatches
	}
	return func(_ *Server, c *call) { writeErrorBody(c.w, http.StatusNotFound, bodyNotFound, c.rt.openai) }
}

// wait sleeps d unless the client leaves first; it reports whether the client is still there.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
