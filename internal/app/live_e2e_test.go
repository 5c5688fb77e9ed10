package app_test

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"google.golang.org/genai"

	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/logs"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/testutil"
)

const liveModel = "gemini-2.0-flash-exp" // a model the fake serves bidiGenerateContent for

// liveClient is a genai client whose Live API goes to gemgate: the SDK turns the base URL into
// ws://<host>/gemini/ws/google.ai.generativelanguage.<version>.GenerativeService.BidiGenerateContent.
func liveClient(t *testing.T, h *harness, token, version string) *genai.Client {
	t.Helper()
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{APIKey: token, Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: "ws" + strings.TrimPrefix(h.srv.URL, "http") + "/gemini/", APIVersion: version}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// liveTurn is what the model answered to one turn.
type liveTurn struct {
	text   string
	audio  []byte
	handle string
	usage  *genai.UsageMetadata
}

// receiveTurn reads server messages until the turn is complete, and then its usage and handle.
func receiveTurn(t *testing.T, s *genai.Session, resumable bool) liveTurn {
	t.Helper()
	var turn liveTurn
	complete := false
	for !complete || turn.usage == nil || (resumable && turn.handle == "") {
		msg, err := s.Receive()
		if err != nil {
			t.Fatalf("receive: %v (turn so far %+v)", err, turn)
		}
		if sc := msg.ServerContent; sc != nil {
			complete = complete || sc.TurnComplete
			if sc.ModelTurn != nil {
				for _, p := range sc.ModelTurn.Parts {
					turn.text += p.Text
					if p.InlineData != nil {
						turn.audio = append(turn.audio, p.InlineData.Data...)
					}
				}
			}
		}
		if msg.UsageMetadata != nil {
			turn.usage = msg.UsageMetadata
		}
		if u := msg.SessionResumptionUpdate; u != nil && u.NewHandle != "" {
			turn.handle = u.NewHandle
		}
	}
	return turn
}

// Issue 21, the Live API: a session opened through gemgate with Google's own SDK streams both ways,
// survives a first key whose handshake Google refuses, is logged with its usage, key and token, and
// when the client goes away gemgate closes Google's side too.
func TestLiveSessionStreamsBothWaysThroughThePool(t *testing.T) {
	refusing, good := goodKey(0), goodKey(1)
	h := newHarness(t, fakeupstream.Config{Keys: map[string]fakeupstream.Behavior{refusing: fakeupstream.HandshakeRefused}},
		map[string]string{"API_KEYS": refusing + "," + good})
	ctx := context.Background()
	s, err := liveClient(t, h, clientToken, "v1beta").Live.Connect(ctx, liveModel, &genai.LiveConnectConfig{
		ResponseModalities: []genai.Modality{genai.ModalityAudio}})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	if got := keysOf(h, "live.connect"); len(got) != 2 || got[0] != refusing || got[1] != good {
		t.Fatalf("handshakes went to %v, want the refusing key then the good one", got)
	}
	if err := s.SendClientContent(genai.LiveClientContentInput{Turns: genai.Text("hello there")}); err != nil {
		t.Fatal(err)
	}
	turn := receiveTurn(t, s, false)
	if turn.text != "You said: hello there" || string(turn.audio) != fakeupstream.LiveAudio {
		t.Fatalf("text turn: %+v", turn)
	}
	pcm := bytes.Repeat([]byte{0x10, 0x20, 0x30}, 4000)
	if err := s.SendRealtimeInput(genai.LiveRealtimeInput{Audio: &genai.Blob{Data: pcm, MIMEType: "audio/pcm;rate=16000"}}); err != nil {
		t.Fatal(err)
	}
	if turn := receiveTurn(t, s, false); !bytes.Equal(turn.audio, pcm) {
		t.Fatalf("audio turn: %d bytes back, want the %d sent", len(turn.audio), len(pcm))
	}
	// The SDK's Close drops the connection without a close frame: gemgate must still end Google's side.
	_ = s.Close()
	end := <-h.fake.LiveEnded()
	if end.Key != good || end.Code != websocket.StatusNormalClosure || end.Turns != 2 {
		t.Fatalf("upstream end %+v", end)
	}
	row := liveLogRow(t, h)
	if !row.Success || row.Status != http.StatusOK || row.KeyID != secret.ID(good) || row.TokenID != secret.ID(clientToken) || row.Model != liveModel ||
		row.AttemptCount != 2 || row.Usage.Output != 14 || row.Usage.Prompt == 0 {
		t.Fatalf("request log row %+v", row)
	}
	keysUnblamed(t, h)
}

// liveLogRow waits for the request log row of the Live session (written when the session ends).
func liveLogRow(t *testing.T, h *harness) logs.RequestLog {
	t.Helper()
	var row logs.RequestLog
	testutil.Eventually(t, "the Live session's request log row", func() bool {
		h.flushLogs()
		var reqs struct {
			Logs []logs.RequestLog `json:"logs"`
		}
		h.admin("GET", "/api/logs/requests?limit=100", nil, &reqs)
		for _, r := range reqs.Logs {
			if strings.Contains(r.Path, "BidiGenerateContent") {
				row = r
				return true
			}
		}
		return false
	})
	return row
}

// A session resumption handle goes back to the key whose project holds the session, for the token that
// opened it only: token B cannot resume A's session, and nothing of B's attempt reaches Google.
func TestLiveResumptionStaysWithItsKeyAndToken(t *testing.T) {
	keys := []string{goodKey(0), goodKey(1), goodKey(2)}
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"API_KEYS": strings.Join(keys, ","),
		"ALLOWED_TOKENS": `["` + clientToken + `","` + otherToken + `"]`})
	ctx := context.Background()
	a := liveClient(t, h, clientToken, "v1alpha")
	s, err := a.Live.Connect(ctx, liveModel, &genai.LiveConnectConfig{SessionResumption: &genai.SessionResumptionConfig{}})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	if err := s.SendRealtimeInput(genai.LiveRealtimeInput{Text: "remember me"}); err != nil {
		t.Fatal(err)
	}
	handle := receiveTurn(t, s, true).handle
	_ = s.Close()
	first := <-h.fake.LiveEnded()

	// B's attempt is refused by gemgate itself.
	before := h.fake.TotalCalls()
	b := liveClient(t, h, otherToken, "v1alpha")
	if s, err := b.Live.Connect(ctx, liveModel, &genai.LiveConnectConfig{SessionResumption: &genai.SessionResumptionConfig{Handle: handle}}); err == nil {
		_ = s.Close()
		t.Fatal("token B resumed token A's session")
	}
	if n := h.fake.TotalCalls(); n != before {
		t.Fatalf("B's resumption reached Google: %d calls", n-before)
	}
	// A resumes on the same key, three times in a row, whatever the round robin would pick.
	for i := range 3 {
		s, err := a.Live.Connect(ctx, liveModel, &genai.LiveConnectConfig{SessionResumption: &genai.SessionResumptionConfig{Handle: handle}})
		if err != nil {
			t.Fatalf("resume %d: %v", i, err)
		}
		if err := s.SendClientContent(genai.LiveClientContentInput{Turns: genai.Text("again")}); err != nil {
			t.Fatal(err)
		}
		handle = receiveTurn(t, s, true).handle
		_ = s.Close()
		if end := <-h.fake.LiveEnded(); end.Key != first.Key {
			t.Fatalf("resume %d went to another key", i)
		}
	}
	keysUnblamed(t, h)
}

// Ephemeral tokens: minted through gemgate on a pool key with the caller's token, a browser connects
// with one to BidiGenerateContentConstrained (no gemgate token), and the session runs on that key,
// logged under the token that minted it. An unknown ephemeral token is refused before Google is asked.
func TestLiveEphemeralTokenConnectsOnItsKey(t *testing.T) {
	keys := []string{goodKey(0), goodKey(1), goodKey(2)}
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"API_KEYS": strings.Join(keys, ",")})
	ctx := context.Background()
	minter, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: clientToken, Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: h.srv.URL + "/gemini/", APIVersion: "v1alpha"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := minter.AuthTokens.Create(ctx, &genai.CreateAuthTokenConfig{Uses: genai.Ptr[int32](1)})
	if err != nil || !strings.HasPrefix(tok.Name, "auth_tokens/") {
		t.Fatalf("create: %+v %v", tok, err)
	}
	mintedOn, _ := h.fake.LastRequest()
	for range 2 { // move the round robin on
		if r := h.generate("gemini-2.5-flash", "x"); r.status != 200 {
			t.Fatalf("generate: %d", r.status)
		}
	}
	s, err := liveClient(t, h, tok.Name, "v1alpha").Live.Connect(ctx, liveModel, nil)
	if err != nil {
		t.Fatalf("connect with the ephemeral token: %v", err)
	}
	if err := s.SendClientContent(genai.LiveClientContentInput{Turns: genai.Text("from the browser")}); err != nil {
		t.Fatal(err)
	}
	if turn := receiveTurn(t, s, false); turn.text != "You said: from the browser" {
		t.Fatalf("turn %+v", turn)
	}
	_ = s.Close()
	if end := <-h.fake.LiveEnded(); end.Key != mintedOn.Key {
		t.Fatalf("the session ran on %s, the token was minted on %s", end.Key, mintedOn.Key)
	}
	if row := liveLogRow(t, h); row.TokenID != secret.ID(clientToken) || row.KeyID != secret.ID(mintedOn.Key) {
		t.Fatalf("request log row %+v", row)
	}
	// A browser's raw WebSocket with ?access_token= and a token gemgate never minted.
	before := h.fake.TotalCalls()
	_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(h.srv.URL, "http")+
		"/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained?access_token=auth_tokens/forged", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged ephemeral token: %v %+v", err, resp)
	}
	if h.fake.TotalCalls() != before {
		t.Fatal("the forged token reached Google")
	}
}

// liveSocket is the raw WebSocket URL of gemgate's Live API (v1beta, no token).
func liveSocket(h *harness) string {
	return "ws" + strings.TrimPrefix(h.srv.URL, "http") + "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
}

// openLive opens a raw Live session through gemgate and reads its setupComplete.
func openLive(t *testing.T, h *harness) *websocket.Conn {
	t.Helper()
	return openLiveAs(t, h, clientToken)
}

func openLiveAs(t *testing.T, h *harness, token string) *websocket.Conn {
	t.Helper()
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, liveSocket(h)+"?key="+token, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"setup":{"model":"models/`+liveModel+`"}}`)); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.Read(ctx); err != nil || !bytes.Contains(msg, []byte("setupComplete")) {
		t.Fatalf("setup: %s %v", msg, err)
	}
	return c
}

// A session with no frame either way for LIVE_IDLE_TIMEOUT is closed by gemgate on both sides (1001).
// The bound starts once the session is open, so the test waits for the close, not for a time.
func TestLiveIdleBound(t *testing.T) {
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"LIVE_IDLE_TIMEOUT": "1"})
	c := openLive(t, h)
	_, _, err := c.Read(context.Background())
	if websocket.CloseStatus(err) != websocket.StatusGoingAway || !strings.Contains(err.Error(), "LIVE_IDLE_TIMEOUT") {
		t.Fatalf("idle session: %v", err)
	}
	if end := <-h.fake.LiveEnded(); end.Code != websocket.StatusGoingAway {
		t.Fatalf("upstream end of the idle session %+v", end)
	}
}

// Raw WebSocket: a session whose client sends a message over LIVE_MAX_FRAME_KB is closed on both sides;
// a session Google ends is ended for the client with Google's close; a connection without a gemgate
// token is refused in Google's shape before any upgrade; gemgate's shutdown closes every session.
func TestLiveBoundsAndCloses(t *testing.T) {
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"LIVE_MAX_FRAME_KB": "16"})
	ctx := context.Background()
	url := liveSocket(h)
	if _, resp, err := websocket.Dial(ctx, url, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %v %+v", err, resp)
	}
	open := func() *websocket.Conn { return openLive(t, h) }
	// A message over the frame bound: the client gets 1009, Google's side is closed.
	c := open()
	_ = c.Write(ctx, websocket.MessageText, []byte(`{"realtimeInput":{"text":"`+strings.Repeat("a", 17<<10)+`"}}`))
	_, _, err := c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("oversized message: %v", err)
	}
	if end := <-h.fake.LiveEnded(); end.Code != websocket.StatusNormalClosure || end.Turns != 0 {
		t.Fatalf("upstream end of the oversized session %+v", end)
	}
	// Google hangs up: the client gets Google's close.
	c = open()
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"realtimeInput":{"text":"`+fakeupstream.LiveHangUp+`"}}`)); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusNormalClosure || !strings.Contains(err.Error(), "the model hung up") {
		t.Fatalf("after Google hung up: %v", err)
	}
	<-h.fake.LiveEnded()
	// A setup for a model Google does not serve live ends with Google's refusal, charged to no key.
	c, _, err = websocket.Dial(ctx, url+"?key="+clientToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Write(ctx, websocket.MessageText, []byte(`{"setup":{"model":"models/gemini-2.5-flash"}}`))
	_, _, err = c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation || !strings.Contains(err.Error(), "not supported for bidiGenerateContent") {
		t.Fatalf("model refused: %v", err)
	}
	<-h.fake.LiveEnded()
	if n := len(keysOf(h, "live.connect")); n != 3 {
		t.Fatalf("%d handshakes, want 3 (a refusal about the request is not retried)", n)
	}
	keysUnblamed(t, h)
	// gemgate's shutdown ends the sessions it serves (the HTTP server's own shutdown does not see
	// hijacked connections) with 1012 on both sides, and refuses new ones.
	c = open()
	closed := make(chan error, 1)
	go func() {
		_, _, err := c.Read(ctx)
		closed <- err
	}()
	if err := h.app.Live.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-closed; websocket.CloseStatus(err) != websocket.StatusServiceRestart {
		t.Fatalf("session at shutdown: %v", err)
	}
	if end := <-h.fake.LiveEnded(); end.Code != websocket.StatusServiceRestart {
		t.Fatalf("upstream end at shutdown %+v", end)
	}
	if _, resp, err := websocket.Dial(ctx, url+"?key="+clientToken, nil); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("connection after shutdown: %v %+v", err, resp)
	}
}

// A managed token's limits hold for Live sessions: a model off its list is refused before Google is
// asked, also for a session resumed on a pinned key; an ephemeral token stops working as soon as the
// token that created it is disabled.
func TestLiveFollowsTheTokensLimits(t *testing.T) {
	h := newHarness(t, fakeupstream.Config{}, nil)
	ctx := context.Background()
	narrow := h.createToken(map[string]any{"name": "no-live", "models": []string{"gemini-2.5-*"}})
	wide := h.createToken(map[string]any{"name": "browser-owner"})
	before := h.fake.TotalCalls()
	if s, err := liveClient(t, h, narrow.Token, "v1beta").Live.Connect(ctx, liveModel, nil); err == nil {
		_ = s.Close()
		t.Fatal("a token without the model opened a Live session")
	} else if !strings.Contains(err.Error(), "1008") || !strings.Contains(err.Error(), "no-live") {
		t.Fatalf("refusal: %v", err)
	}
	if h.fake.TotalCalls() != before {
		t.Fatal("the refused session reached Google")
	}
	// A session resumed with its handle goes to a pinned key; the list still applies.
	changing := h.createToken(map[string]any{"name": "live-then-not", "models": []string{"gemini-2.0-*"}})
	c := liveClient(t, h, changing.Token, "v1beta")
	s, err := c.Live.Connect(ctx, liveModel, &genai.LiveConnectConfig{SessionResumption: &genai.SessionResumptionConfig{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SendRealtimeInput(genai.LiveRealtimeInput{Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	handle := receiveTurn(t, s, true).handle
	_ = s.Close()
	<-h.fake.LiveEnded()
	if r := h.do("PUT", "/api/tokens/"+strconv.FormatInt(changing.ID, 10), map[string]any{"models": []string{"gemini-2.5-*"}}, adminHeader); r.status != 200 {
		t.Fatalf("narrow the list: %d %s", r.status, r.body)
	}
	before = h.fake.TotalCalls()
	if s, err := c.Live.Connect(ctx, liveModel, &genai.LiveConnectConfig{SessionResumption: &genai.SessionResumptionConfig{Handle: handle}}); err == nil {
		_ = s.Close()
		t.Fatal("a resumed session escaped the token's model list")
	}
	if h.fake.TotalCalls() != before {
		t.Fatal("the refused resumption reached Google")
	}
	minter, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: wide.Token, Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: h.srv.URL + "/gemini/", APIVersion: "v1alpha"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := minter.AuthTokens.Create(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := h.do("PUT", "/api/tokens/"+strconv.FormatInt(wide.ID, 10), map[string]any{"enabled": false}, adminHeader); r.status != 200 {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	before = h.fake.TotalCalls()
	if s, err := liveClient(t, h, tok.Name, "v1alpha").Live.Connect(ctx, liveModel, nil); err == nil {
		_ = s.Close()
		t.Fatal("an ephemeral token of a disabled client token opened a session")
	}
	if h.fake.TotalCalls() != before {
		t.Fatal("the ephemeral token of a disabled client token reached Google")
	}
}

// One client token cannot hold every key's Live slots: past LIVE_MAX_SESSIONS_PER_TOKEN its next
// connect is refused with 429 before any key is used, another token still connects, and a closed
// session frees its place.
func TestLiveSessionsPerTokenAreBounded(t *testing.T) {
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"API_KEYS": goodKey(0) + "," + goodKey(1),
		"ALLOWED_TOKENS": `["` + clientToken + `","` + otherToken + `"]`, "LIVE_MAX_SESSIONS_PER_TOKEN": "2"})
	ctx := context.Background()
	first, second := openLive(t, h), openLive(t, h)
	before := h.fake.TotalCalls()
	_, resp, err := websocket.Dial(ctx, liveSocket(h)+"?key="+clientToken, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a third session of the same token: %v %v", resp, err)
	}
	if h.fake.TotalCalls() != before {
		t.Fatal("the refused session reached Google")
	}
	other, _, err := websocket.Dial(ctx, liveSocket(h)+"?key="+otherToken, nil)
	if err != nil {
		t.Fatalf("another token is refused: %v", err)
	}
	other.Close(websocket.StatusNormalClosure, "")
	second.Close(websocket.StatusNormalClosure, "")
	testutil.Eventually(t, "the closed session's place is free", func() bool {
		c, _, err := websocket.Dial(ctx, liveSocket(h)+"?key="+clientToken, nil)
		if err != nil {
			return false
		}
		c.Close(websocket.StatusNormalClosure, "")
		return true
	})
	first.Close(websocket.StatusNormalClosure, "")
}

// Disabling a client token ends its open Live sessions (1008), not only its next connect.
func TestLiveSessionEndsWhenItsTokenIsDisabled(t *testing.T) {
	h := newHarness(t, fakeupstream.Config{}, nil)
	tok := h.createToken(map[string]any{"name": "revoked-mid-session"})
	c := openLiveAs(t, h, tok.Token)
	if r := h.do("PUT", "/api/tokens/"+strconv.FormatInt(tok.ID, 10), map[string]any{"enabled": false}, adminHeader); r.status != 200 {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.GiveUp)
	defer cancel()
	_, _, err := c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation || !strings.Contains(err.Error(), "no longer valid") {
		t.Fatalf("the session of a disabled token: %v", err)
	}
}
