// Package live serves Gemini's Live API through the key pool: the BidiGenerateContent WebSocket,
// relayed frame by frame to a session opened with a pool key, and the ephemeral auth tokens a browser
// connects with (BidiGenerateContentConstrained). A Live session lives in the Google project of the key
// that opened it, so what a session leaves behind (its resumption handles, the ephemeral tokens minted
// for it) is recorded in internal/resources under that key and the client token, and later
// connections naming them go to that key, for that token only.
package live

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/models"
	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/resources"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/upstream"
)

// Handler serves the Live API routes.
type Handler struct {
	Exec      *upstream.Executor
	Settings  func() *config.Snapshot
	Resources *resources.Registry
	// Tokens resolves the owner of an ephemeral token, who must still be a usable client token.
	Tokens *auth.Tokens

	sessions sessionSet
}

// sessionSet tracks the sessions being served. The HTTP server's shutdown does not see them (their
// connections are hijacked), so gemgate's shutdown ends them itself, before it closes the request log.
type sessionSet struct {
	mu      sync.Mutex
	closed  bool
	cancels map[*context.CancelFunc]struct{}
	// perOwner counts each client token's open sessions: a session holds one of a key's few concurrent
	// Live slots at Google, so one token must not be able to take them all.
	perOwner map[string]int
	wg       sync.WaitGroup
}

// Why a session could not be added.
var (
	errShuttingDown = errors.New("gemgate is shutting down; connect again.")
	errTooMany      = errors.New("This gemgate token already has as many Live sessions open as LIVE_MAX_SESSIONS_PER_TOKEN allows; close one first.")
)

// add registers a session of owner that cancel ends, if owner has fewer than limit open (0: no limit)
// and gemgate is not shutting down.
func (s *sessionSet) add(owner string, limit int, cancel context.CancelFunc) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errShuttingDown
	}
	if limit > 0 && s.perOwner[owner] >= limit {
		return nil, errTooMany
	}
	if s.cancels == nil {
		s.cancels, s.perOwner = map[*context.CancelFunc]struct{}{}, map[string]int{}
	}
	s.cancels[&cancel] = struct{}{}
	s.perOwner[owner]++
	s.wg.Add(1)
	return func() {
		s.mu.Lock()
		delete(s.cancels, &cancel)
		if s.perOwner[owner]--; s.perOwner[owner] == 0 {
			delete(s.perOwner, owner)
		}
		s.mu.Unlock()
		s.wg.Done()
	}, nil
}

// Shutdown ends every session (each side gets 1012, "resume the session with its handle") and waits
// for them to be closed and logged, or for ctx. New connections are refused from now on.
func (h *Handler) Shutdown(ctx context.Context) error {
	s := &h.sessions
	s.mu.Lock()
	s.closed = true
	for cancel := range s.cancels {
		(*cancel)()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("live sessions still closing at shutdown: %w", ctx.Err())
	}
}

// bases are the base URL paths clients' SDKs are pointed at (gemgate's root and the /gemini alias):
// the SDKs append ws/google.ai.generativelanguage.{version}.GenerativeService.{method} to them, and
// {version}/auth_tokens for ephemeral tokens.
var bases = []string{"", "/gemini"}

// versions are the API versions the Live API is served under (ephemeral tokens need v1alpha).
var versions = []string{"v1alpha", "v1beta"}

const (
	methodOpen        = "BidiGenerateContent"
	methodConstrained = "BidiGenerateContentConstrained"
	servicePrefix     = "/ws/google.ai.generativelanguage."
)

// Register mounts the Live API routes under every base.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, b := range bases {
		for _, v := range versions {
			svc := b + servicePrefix + v + ".GenerativeService."
			mux.Handle("GET "+svc+methodOpen, authorized(h.connect(v, false)))
			// An ephemeral token authenticates itself: this route is outside the front door (SelfAuthenticated).
			mux.Handle("GET "+svc+methodConstrained, h.connect(v, true))
			mux.Handle("POST "+b+"/"+v+"/auth_tokens", authorized(h.createToken(v)))
		}
	}
}

// SelfAuthenticated reports the paths whose credential is an ephemeral token rather than a gemgate
// client token, which the front door must let through for the route to check.
func SelfAuthenticated(path string) bool {
	return strings.HasPrefix(strings.TrimPrefix(path, "/gemini"), servicePrefix) && strings.HasSuffix(path, "."+methodConstrained)
}

func authorized(next http.HandlerFunc) http.Handler {
	return auth.Required(next, func(w http.ResponseWriter) {
		rpcstatus.Write(w, http.StatusUnauthorized, "Missing gemgate token: send one of ALLOWED_TOKENS as ?key=, the x-goog-api-key header or Authorization: Bearer.")
	})
}

// Resource names. Handles and ephemeral tokens are credentials: only their digest is stored.
const (
	sessionKind = "liveSessions/"
	tokenKind   = "auth_tokens/"
)

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// setupFrame is what gemgate reads of a session's first client message.
type setupFrame struct {
	Setup *struct {
		Model                  string      `json:"model"`
		SessionResumption      *resumption `json:"sessionResumption"`
		SessionResumptionSnake *resumption `json:"session_resumption"`
	} `json:"setup"`
}

type resumption struct {
	Handle string `json:"handle"`
}

func (f setupFrame) handle() string {
	for _, r := range []*resumption{f.Setup.SessionResumption, f.Setup.SessionResumptionSnake} {
		if r != nil && r.Handle != "" {
			return r.Handle
		}
	}
	return ""
}

// session is one client connection being served.
type session struct {
	h        *Handler
	snap     *config.Snapshot
	version  string
	owner    string       // the client token's id, whoever authenticates (directly or by an ephemeral token)
	key      *keypool.Key // pinned before the dial (ephemeral token, resumed handle), else the pool's
	ephToken string       // the ephemeral token the client connected with, sent on to Google
	model    string
}

// connect serves one Live connection. Everything that can be refused before the WebSocket exists
// (credentials, the ephemeral token) is answered in Google's HTTP error shape; after it, a refusal is a
// close frame with Google's reason.
func (h *Handler) connect(version string, constrained bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := &session{h: h, snap: h.Settings(), version: version, owner: auth.CallerID(r.Context())}
		if constrained {
			g := h.ephemeral(w, r, s)
			if g == nil {
				return
			}
			r = r.WithContext(auth.WithGrant(r.Context(), g))
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		release, err := h.sessions.add(s.owner, config.LiveMaxSessionsPerToken.Get(s.snap), cancel)
		switch err {
		case errShuttingDown:
			rpcstatus.Write(w, http.StatusServiceUnavailable, err.Error())
			return
		case errTooMany:
			reqlog.Reject(r.Context(), "too many live sessions")
			rpcstatus.Write(w, http.StatusTooManyRequests, err.Error())
			return
		}
		defer release()
		client, err := websocket.Accept(w, r, &websocket.AcceptOptions{
			// Clients authenticate with a token, never a cookie: any origin may connect, as CORS allows.
			OriginPatterns:  []string{"*"},
			CompressionMode: websocket.CompressionDisabled,
		})
		if err != nil {
			return // Accept answered the HTTP request itself
		}
		client.SetReadLimit(s.frameLimit())
		s.serve(ctx, client)
	}
}

// ephemeral checks the ephemeral token of a constrained connection: one gemgate minted, whose key the
// session must use, and whose owner is still a usable client token, whose limits apply and under whom
// the session is logged. It returns the owner's grant, or nil when it answered the refusal.
func (h *Handler) ephemeral(w http.ResponseWriter, r *http.Request, s *session) *auth.Grant {
	tok := r.URL.Query().Get("access_token")
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Token "); ok && tok == "" {
		tok = strings.TrimSpace(v)
	}
	if !strings.HasPrefix(tok, tokenKind) {
		reqlog.Reject(r.Context(), "missing ephemeral token")
		rpcstatus.Write(w, http.StatusUnauthorized, "Missing ephemeral token: send the auth_tokens/... name created through this gateway as ?access_token= or Authorization: Token.")
		return nil
	}
	o, err := h.Resources.Lookup(r.Context(), tokenKind+digest(tok))
	switch {
	case errors.Is(err, resources.ErrUnknown):
		reqlog.Reject(r.Context(), "unknown ephemeral token")
		rpcstatus.Write(w, http.StatusUnauthorized, "The ephemeral token is unknown or expired: create one through this gateway (POST /v1alpha/auth_tokens).")
		return nil
	case err != nil:
		rpcstatus.Write(w, http.StatusServiceUnavailable, "gemgate could not read its resource records (database error); try again.")
		return nil
	}
	key, ok := h.Exec.Pool.LookupID(o.KeyID)
	if !ok {
		rpcstatus.Write(w, http.StatusUnauthorized, "The ephemeral token was created with a Gemini key that gemgate no longer has; create another.")
		return nil
	}
	g := h.Tokens.ResolveID(o.TokenID)
	if g == nil {
		reqlog.Reject(r.Context(), "ephemeral token of a client token no longer valid")
		rpcstatus.Write(w, http.StatusUnauthorized, "The gemgate token that created this ephemeral token is no longer valid.")
		return nil
	}
	reqlog.Update(r.Context(), func(e *reqlog.Entry) { e.TokenID = o.TokenID })
	s.owner, s.key, s.ephToken = o.TokenID, key, tok
	return g
}

func (s *session) frameLimit() int64 { return int64(config.LiveMaxFrameKB.Get(s.snap)) << 10 }

func (s *session) idle() time.Duration {
	return time.Duration(config.LiveIdleTimeout.Get(s.snap)) * time.Second
}

// serve reads the client's setup, opens the upstream session with it and relays the two until one
// side ends.
func (s *session) serve(ctx context.Context, client *websocket.Conn) {
	setup, frame, ok := s.readSetup(ctx, client)
	if !ok {
		return
	}
	if !s.admitSetup(ctx, client, frame) {
		return
	}
	var up *websocket.Conn
	var first []byte
	var lastClose *websocket.CloseError
	key, err := s.h.Exec.Open(ctx, upstream.Call{Model: s.model, QuotaModel: s.model, Key: s.key},
		func(ctx context.Context, key *keypool.Key) upstream.Handshake {
			c, msg, hs, closed := s.dial(ctx, key, setup)
			if hs.Status == http.StatusOK {
				up, first = c, msg
			}
			lastClose = closed
			return hs
		})
	if err != nil {
		code, reason := closeFor(err, lastClose)
		reqlog.SetSessionStatus(ctx, errorStatus(err))
		_ = client.Close(code, reason)
		return
	}
	s.key = key
	reqlog.SetSessionStatus(ctx, http.StatusOK)
	relay(ctx, s, client, up, first)
}

// readSetup reads the client's first message, which must be its setup, within TIME_OUT: the setup is
// part of opening the session, as Google's answer to it is.
func (s *session) readSetup(ctx context.Context, client *websocket.Conn) ([]byte, setupFrame, bool) {
	rctx, cancel := context.WithTimeout(ctx, time.Duration(config.TimeOut.Get(s.snap))*time.Second)
	defer cancel()
	_, msg, err := client.Read(rctx)
	if err != nil {
		reqlog.SetSessionStatus(ctx, statusClientLeft)
		reqlog.Reject(ctx, "no setup message: "+err.Error())
		_ = client.CloseNow()
		return nil, setupFrame{}, false
	}
	var f setupFrame
	if json.Unmarshal(msg, &f) != nil || f.Setup == nil || f.Setup.Model == "" {
		refuse(ctx, client, http.StatusBadRequest, "The first message must be a setup naming the model.")
		return nil, setupFrame{}, false
	}
	return msg, f, true
}

// admitSetup applies gemgate's model settings and the resumption handle's owner to the setup.
func (s *session) admitSetup(ctx context.Context, client *websocket.Conn, f setupFrame) bool {
	res := models.Resolve(s.snap, f.Setup.Model)
	if err := models.Check(s.snap, res); err != nil {
		refuse(ctx, client, http.StatusBadRequest, err.Error()+".")
		return false
	}
	s.model = res.Requested
	reqlog.Update(ctx, func(e *reqlog.Entry) { e.Model = s.model })
	// The token's limits apply to every session, also one pinned to a key (resumed, ephemeral), which
	// the executor's admission leaves alone.
	if d := auth.GrantFrom(ctx).Admit(s.model); d != nil {
		refuse(ctx, client, d.Status, d.Message)
		return false
	}
	handle := f.handle()
	if handle == "" {
		return true
	}
	o, err := s.h.Resources.Lookup(ctx, sessionKind+digest(handle))
	switch {
	case errors.Is(err, resources.ErrUnknown):
		return true // not resumed through gemgate: Google alone can say whether the handle is good
	case err != nil:
		refuse(ctx, client, http.StatusServiceUnavailable, "gemgate could not read its resource records (database error); try again.")
		return false
	case o.TokenID != s.owner:
		refuse(ctx, client, http.StatusNotFound, "Requested entity was not found: the session resumption handle.")
		return false
	}
	key, ok := s.h.Exec.Pool.LookupID(o.KeyID)
	if !ok {
		refuse(ctx, client, http.StatusNotFound, "The session was opened with a Gemini key gemgate no longer has; start a new one.")
		return false
	}
	if s.key != nil && s.key != key {
		refuse(ctx, client, http.StatusBadRequest, "The ephemeral token and the resumed session belong to different Gemini keys.")
		return false
	}
	s.key = key
	return true
}

// dial opens the upstream session with key, sends the setup and reads Google's first answer: the
// session is open when that is a message, refused when it is a close (Google refuses a key, a quota or
// a model only after the setup).
func (s *session) dial(ctx context.Context, key *keypool.Key, setup []byte) (*websocket.Conn, []byte, upstream.Handshake, *websocket.CloseError) {
	target, err := s.upstreamURL()
	if err != nil {
		return nil, nil, upstream.Handshake{Status: http.StatusBadGateway, Body: envelope(http.StatusBadGateway, err.Error())}, nil
	}
	header := http.Header{"User-Agent": {upstream.UserAgent}}
	if s.ephToken != "" {
		header.Set("Authorization", "Token "+s.ephToken)
	} else {
		header.Set("x-goog-api-key", key.Value())
	}
	rt := s.h.Exec.Client.Upgrader(key.Value(), config.Proxies.Get(s.snap), config.ProxiesConsistentHash.Get(s.snap))
	up, resp, err := websocket.Dial(ctx, target, &websocket.DialOptions{HTTPClient: &http.Client{Transport: rt}, HTTPHeader: header,
		CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, nil, upstream.Handshake{Status: resp.StatusCode, Body: refusalBody(resp)}, nil
		}
		return nil, nil, upstream.Handshake{Err: err}, nil
	}
	up.SetReadLimit(s.frameLimit())
	if err := up.Write(ctx, websocket.MessageText, setup); err != nil {
		_ = up.CloseNow()
		return nil, nil, upstream.Handshake{Err: err}, nil
	}
	_, msg, err := up.Read(ctx)
	if err != nil {
		_ = up.CloseNow()
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			st := statusForClose(ce)
			return nil, nil, upstream.Handshake{Status: st, Body: envelope(st, ce.Reason)}, &ce
		}
		return nil, nil, upstream.Handshake{Err: err}, nil
	}
	return up, msg, upstream.Handshake{Status: http.StatusOK}, nil
}

// upstreamURL is Google's WebSocket endpoint for the session, on BASE_URL's host.
func (s *session) upstreamURL() (string, error) {
	method := methodOpen
	if s.ephToken != "" {
		method = methodConstrained
	}
	root, err := apiRoot(config.BaseURL.Get(s.snap))
	if err != nil {
		return "", err
	}
	switch root.Scheme {
	case "https":
		root.Scheme = "wss"
	case "http":
		root.Scheme = "ws"
	}
	root.Path = strings.TrimSuffix(root.Path, "/") + servicePrefix + s.version + ".GenerativeService." + method
	return root.String(), nil
}

// apiRoot is BASE_URL's root (upstream.APIRoot) as a URL.
func apiRoot(base string) (*url.URL, error) {
	u, err := url.Parse(upstream.APIRoot(base))
	if err != nil || u.Host == "" {
		return nil, errors.New("BASE_URL is not a URL gemgate can derive the Live API endpoint from")
	}
	return u, nil
}

// refusalBody reads the start of a refused handshake's answer (Google's error envelope).
func refusalBody(resp *http.Response) []byte {
	if resp.Body == nil {
		return nil
	}
	defer resp.Body.Close()
	buf := make([]byte, 1024)
	n, _ := resp.Body.Read(buf)
	return buf[:n]
}

// envelope is Google's error shape for a refusal that came as a close frame, so the blame table reads
// its reason like any answer's message.
func envelope(status int, msg string) []byte {
	b, _ := json.Marshal(map[string]rpcstatus.Status{"error": {Code: status, Message: msg, Status: rpcstatus.StatusFor(status)}})
	return b
}

// statusForClose is the HTTP status a close frame from Google stands for: its Live API closes with
// 1007 for an invalid request or key ("API key not valid"), 1008 for a refused one (a model it does
// not serve, a permission), 1011 for its own failures, and names spent quota in the reason.
func statusForClose(ce websocket.CloseError) int {
	reason := strings.ToLower(ce.Reason)
	switch {
	case strings.Contains(reason, "quota") || strings.Contains(reason, "resource_exhausted") || strings.Contains(reason, "rate limit"):
		return http.StatusTooManyRequests
	case ce.Code == websocket.StatusInvalidFramePayloadData:
		return http.StatusBadRequest
	case ce.Code == websocket.StatusPolicyViolation:
		if strings.Contains(reason, "permission") || strings.Contains(reason, "denied") {
			return http.StatusForbidden
		}
		return http.StatusBadRequest
	case ce.Code == websocket.StatusTryAgainLater || ce.Code == websocket.StatusServiceRestart:
		return http.StatusServiceUnavailable
	case ce.Code == websocket.StatusNormalClosure || ce.Code == websocket.StatusGoingAway:
		return http.StatusServiceUnavailable // closed before the session began: try another key
	}
	return http.StatusInternalServerError
}

// statusClientLeft is the log's status of a client that left before its session began (nginx's 499).
const statusClientLeft = 499

// refuse ends a session gemgate refused itself before asking Google: a close frame with the code the
// status stands for, and the reason in the request log.
func refuse(ctx context.Context, client *websocket.Conn, status int, msg string) {
	reqlog.SetSessionStatus(ctx, status)
	reqlog.Reject(ctx, msg)
	_ = client.Close(closeCode(status), closeReason(msg))
}

// errorStatus is the log's status of a session no key could open.
func errorStatus(err error) int {
	var ue *upstream.Error
	if errors.As(err, &ue) {
		return ue.StatusCode
	}
	return http.StatusBadGateway
}

// closeFor is the close frame a client gets when no key could open its session: Google's own close
// when the last refusal was one about the request, else the code its status stands for.
func closeFor(err error, last *websocket.CloseError) (websocket.StatusCode, string) {
	var ue *upstream.Error
	if !errors.As(err, &ue) {
		return websocket.StatusInternalError, closeReason(err.Error())
	}
	if last != nil && ue.StatusCode == statusForClose(*last) && ue.StatusCode < 500 && ue.StatusCode != http.StatusTooManyRequests {
		return last.Code, closeReason(ue.Status.Message)
	}
	return closeCode(ue.StatusCode), closeReason(ue.Status.Message)
}

// closeCode is the close code an HTTP status stands for, the reverse of statusForClose.
func closeCode(status int) websocket.StatusCode {
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		return websocket.StatusTryAgainLater
	case status == http.StatusBadRequest:
		return websocket.StatusInvalidFramePayloadData
	case status >= 400 && status < 500:
		return websocket.StatusPolicyViolation
	}
	return websocket.StatusInternalError
}

// closeReason fits a message into a close frame (123 bytes), cut on a character boundary.
func closeReason(msg string) string {
	const limit = 123
	if len(msg) <= limit {
		return msg
	}
	cut := limit - len("…")
	for cut > 0 && !utf8Start(msg[cut]) {
		cut--
	}
	return msg[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
