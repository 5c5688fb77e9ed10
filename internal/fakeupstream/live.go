package fakeupstream

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/coder/websocket"
)

// The Live API: the BidiGenerateContent WebSocket and the ephemeral tokens of
// BidiGenerateContentConstrained. A session answers its setup with setupComplete, then every client
// turn with a text part, an audio part (inlineData), turnComplete, usageMetadata and, when the setup
// asked for session resumption, a sessionResumptionUpdate with a new handle. As Google does, a key it
// refuses (invalid, suspended, out of quota) is refused by a close frame after the setup; a
// HandshakeRefused key has its WebSocket handshake itself refused.

const (
	livePrefix   = "/ws/google.ai.generativelanguage."
	liveService  = ".GenerativeService."
	liveMaxFrame = 16 << 20
	// LiveHangUp is the client text the fake session answers by closing the session itself (1000),
	// so a test can end a session from Google's side.
	LiveHangUp = "hang up"
	// LiveAudio is the PCM every model turn carries as its audio part.
	LiveAudio = "\x01\x02\x03\x04fake-pcm"
)

// LiveEnd is how one Live session ended, as the fake saw it.
type LiveEnd struct {
	Key    string
	Model  string
	Code   websocket.StatusCode // the close code the gateway sent; -1 when the connection just dropped
	Reason string
	Turns  int // client turns answered
}

// liveStore holds the Live API's state: minted ephemeral tokens and resumption handles (per key), and
// the ends of sessions for tests to wait on.
type liveStore struct {
	mu      sync.Mutex
	tokens  map[string]string // auth_tokens/... -> the key that minted it
	handles map[string]string // resumption handle -> key
	ended   chan LiveEnd
	once    sync.Once
}

func (l *liveStore) init() {
	l.once.Do(func() {
		l.tokens, l.handles = map[string]string{}, map[string]string{}
		l.ended = make(chan LiveEnd, 256)
	})
}

// LiveEnded delivers every Live session's end, in order (buffered; a test waits on it instead of
// sleeping).
func (s *Server) LiveEnded() <-chan LiveEnd {
	s.live.init()
	return s.live.ended
}

// serveLive answers the Live API's routes; false means r is not one of them.
func (s *Server) serveLive(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case strings.HasPrefix(r.URL.Path, livePrefix):
		s.liveConnect(w, r)
	case r.Method == http.MethodPost && (r.URL.Path == "/v1alpha/auth_tokens" || r.URL.Path == "/v1beta/auth_tokens"):
		s.createAuthToken(w, r)
	default:
		return false
	}
	return true
}

func (s *Server) createAuthToken(w http.ResponseWriter, r *http.Request) {
	s.live.init()
	c := &call{w: w, r: r}
	c.key, _ = credentials(r, false)
	c.body, c.reqErr = io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	s.recordAs(c, "auth_tokens.create")
	if c.key == "" {
		writeErrorBody(w, http.StatusForbidden, bodyUnregistered, false)
		return
	}
	if b := s.behaviorFor(c.key); isKeyLevel(b) {
		s.writeKeyError(c, b)
		return
	}
	if c.reqErr != nil || !json.Valid(c.body) {
		writeErrorBody(w, http.StatusBadRequest, bodyBadJSON, false)
		return
	}
	name := "auth_tokens/" + randomID(24)
	s.live.mu.Lock()
	s.live.tokens[name] = c.key
	s.live.mu.Unlock()
	writeJSON(w, map[string]string{"name": name})
}

// liveConnect runs one session: the handshake, the setup, then turns until either side closes.
func (s *Server) liveConnect(w http.ResponseWriter, r *http.Request) {
	s.live.init()
	method := r.URL.Path[strings.LastIndex(r.URL.Path, liveService)+len(liveService):]
	c := &call{w: w, r: r}
	switch method {
	case "BidiGenerateContent":
		c.key, _ = credentials(r, false)
	case "BidiGenerateContentConstrained":
		c.key = s.ephemeralKey(r)
	default:
		writeErrorBody(w, http.StatusNotFound, bodyNotFound, false)
		return
	}
	s.recordAs(c, "live.connect")
	if c.key == "" {
		writeErrorBody(w, http.StatusUnauthorized, bodyUnregistered, false)
		return
	}
	b := s.behaviorFor(c.key)
	if b == HandshakeRefused {
		writeErrorBody(w, http.StatusServiceUnavailable, bodyOverloaded, false)
		return
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	conn.SetReadLimit(liveMaxFrame)
	end := LiveEnd{Key: c.key, Code: -1}
	defer func() { s.live.ended <- end }()
	s.liveSession(r.Context(), conn, b, &end)
}

// ephemeralKey is the key that minted the request's ephemeral token, or "".
func (s *Server) ephemeralKey(r *http.Request) string {
	tok := r.URL.Query().Get("access_token")
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Token "); ok {
		tok = v
	}
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	return s.live.tokens[tok]
}

type liveSetup struct {
	Setup *struct {
		Model             string `json:"model"`
		SessionResumption *struct {
			Handle string `json:"handle"`
		} `json:"sessionResumption"`
	} `json:"setup"`
}

type liveClientMessage struct {
	ClientContent *struct {
		Turns []struct {
			Parts []struct {
				Text string `json:"text"`
			} `json:"parts"`
		} `json:"turns"`
	} `json:"clientContent"`
	RealtimeInput *struct {
		Text  string `json:"text"`
		Audio *struct {
			Data string `json:"data"`
		} `json:"audio"`
	} `json:"realtimeInput"`
}

func (s *Server) liveSession(ctx context.Context, conn *websocket.Conn, b Behavior, end *LiveEnd) {
	_, msg, err := conn.Read(ctx)
	if err != nil {
		end.Code, end.Reason = websocket.CloseStatus(err), errText(err)
		return
	}
	var setup liveSetup
	if json.Unmarshal(msg, &setup) != nil || setup.Setup == nil {
		_ = conn.Close(websocket.StatusInvalidFramePayloadData, "Invalid JSON payload: the first message must be a setup.")
		return
	}
	end.Model = strings.TrimPrefix(setup.Setup.Model, "models/")
	if code, reason, refused := liveRefusal(b, end.Model); refused {
		_ = conn.Close(code, reason)
		return
	}
	resumable := setup.Setup.SessionResumption != nil
	if resumable && setup.Setup.SessionResumption.Handle != "" && !s.liveHandleOf(setup.Setup.SessionResumption.Handle, end.Key) {
		_ = conn.Close(websocket.StatusPolicyViolation, "The session resumption handle is not valid for this project.")
		return
	}
	if writeLive(ctx, conn, map[string]any{"setupComplete": map[string]any{}}) != nil {
		return
	}
	for {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			end.Code, end.Reason = websocket.CloseStatus(err), errText(err)
			return
		}
		var m liveClientMessage
		if json.Unmarshal(msg, &m) != nil {
			_ = conn.Close(websocket.StatusInvalidFramePayloadData, "Invalid JSON payload received.")
			return
		}
		text, audio := m.input()
		if text == LiveHangUp {
			end.Code, end.Reason = websocket.StatusNormalClosure, "the model hung up"
			_ = conn.Close(websocket.StatusNormalClosure, "the model hung up")
			return
		}
		if text == "" && audio == "" {
			continue // not a turn (a tool response, an activity marker)
		}
		end.Turns++
		if s.liveTurn(ctx, conn, text, audio, end, resumable) != nil {
			return
		}
	}
}

// input is the text or base64 audio of a client turn.
func (m liveClientMessage) input() (text, audio string) {
	if cc := m.ClientContent; cc != nil {
		for _, t := range cc.Turns {
			for _, p := range t.Parts {
				text += p.Text
			}
		}
	}
	if ri := m.RealtimeInput; ri != nil {
		text += ri.Text
		if ri.Audio != nil {
			audio = ri.Audio.Data
		}
	}
	return text, audio
}

// liveTurn answers one client turn: text, audio (the client's own audio echoed, or LiveAudio), the
// turn's end, its usage and a resumption handle.
func (s *Server) liveTurn(ctx context.Context, conn *websocket.Conn, text, audio string, end *LiveEnd, resumable bool) error {
	if audio == "" {
		audio = base64.StdEncoding.EncodeToString([]byte(LiveAudio))
	}
	frames := []map[string]any{
		{"serverContent": map[string]any{"modelTurn": map[string]any{"parts": []any{map[string]any{"text": "You said: " + text}}}}},
		{"serverContent": map[string]any{"modelTurn": map[string]any{"parts": []any{
			map[string]any{"inlineData": map[string]any{"mimeType": "audio/pcm;rate=24000", "data": audio}}}}}},
		{"serverContent": map[string]any{"turnComplete": true}},
		{"usageMetadata": map[string]any{"promptTokenCount": tokens(len(text) + len(audio)), "responseTokenCount": 7,
			"totalTokenCount": tokens(len(text)+len(audio)) + 7}},
	}
	if resumable {
		handle := "handle-" + randomID(24)
		s.live.mu.Lock()
		s.live.handles[handle] = end.Key
		s.live.mu.Unlock()
		frames = append(frames, map[string]any{"sessionResumptionUpdate": map[string]any{"newHandle": handle, "resumable": true}})
	}
	for _, f := range frames {
		if err := writeLive(ctx, conn, f); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) liveHandleOf(handle, key string) bool {
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	return s.live.handles[handle] == key
}

// liveRefusal is the close Google sends after the setup of a key or model it refuses.
func liveRefusal(b Behavior, model string) (websocket.StatusCode, string, bool) {
	switch {
	case b == Invalid:
		return websocket.StatusInvalidFramePayloadData, "API key not valid. Please pass a valid API key.", true
	case b == Suspended:
		return websocket.StatusPolicyViolation, "Permission denied: Consumer 'api_key:...' has been suspended.", true
	case b == ServiceDisabled:
		return websocket.StatusPolicyViolation, "Generative Language API has not been used in project 1234 before or it is disabled.", true
	case b == Denied:
		return websocket.StatusPolicyViolation, "The caller does not have permission", true
	case b == RateLimitMinute || b == RateLimitDay || b == NoFreeTier:
		return websocket.StatusInternalError, "You exceeded your current quota, please check your plan and billing details.", true
	case b == Overloaded || b == Flaky:
		return websocket.StatusTryAgainLater, "The service is currently unavailable.", true
	case b == Internal:
		return websocket.StatusInternalError, "Internal error encountered.", true
	case modelByID[model] == nil || !modelByID[model].supports("bidiGenerateContent"):
		return websocket.StatusPolicyViolation, "models/" + model + " is not found for API version v1beta, or is not supported for bidiGenerateContent.", true
	}
	return 0, "", false
}

func writeLive(ctx context.Context, conn *websocket.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return conn.Write(ctx, websocket.MessageText, b)
}

func errText(err error) string {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Reason
	}
	return err.Error()
}
