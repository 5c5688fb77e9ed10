package live

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/upstream"
)

// Google refuses a Live session with a close frame; the blame table reads it as the HTTP answer it
// stands for, so a dead key, a spent quota and a bad request are told apart as for any call.
func TestCloseFramesReadAsGoogleAnswers(t *testing.T) {
	for _, c := range []struct {
		ce   websocket.CloseError
		want upstream.Class
	}{
		{websocket.CloseError{Code: websocket.StatusInvalidFramePayloadData, Reason: "API key not valid. Please pass a valid API key."}, upstream.KeyInvalid},
		{websocket.CloseError{Code: websocket.StatusInternalError, Reason: "You exceeded your current quota, please check your plan."}, upstream.RateLimited},
		{websocket.CloseError{Code: websocket.StatusPolicyViolation, Reason: "models/x is not found for API version v1beta, or is not supported for bidiGenerateContent."}, upstream.ClientError},
		{websocket.CloseError{Code: websocket.StatusPolicyViolation, Reason: "Permission denied: Consumer 'api_key:x' has been suspended."}, upstream.KeyInvalid},
		{websocket.CloseError{Code: websocket.StatusInvalidFramePayloadData, Reason: "Invalid JSON payload received."}, upstream.ClientError},
		{websocket.CloseError{Code: websocket.StatusTryAgainLater, Reason: "The service is currently unavailable."}, upstream.Overloaded},
		{websocket.CloseError{Code: websocket.StatusInternalError, Reason: "Internal error encountered."}, upstream.Transient},
	} {
		st := statusForClose(c.ce)
		if got := upstream.Classify(st, rpcstatus.Parse(envelope(st, c.ce.Reason))); got != c.want {
			t.Errorf("%d %q: %s (status %d), want %s", c.ce.Code, c.ce.Reason, got, st, c.want)
		}
	}
}

func TestCloseReasonFitsAFrame(t *testing.T) {
	long := strings.Repeat("配额", 40)
	got := closeReason(long)
	if len(got) > 123 || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Fatalf("%d bytes, valid %v: %q", len(got), utf8.ValidString(got), got)
	}
	if closeReason("short") != "short" {
		t.Fatal("a short reason changed")
	}
}

func TestUpstreamURLFollowsBaseURL(t *testing.T) {
	for base, want := range map[string]string{
		"https://generativelanguage.googleapis.com/v1beta": "wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContent",
		"http://127.0.0.1:9/relay/v1beta/":                 "ws://127.0.0.1:9/relay/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContent",
	} {
		snap, err := config.FromEnv(map[string]string{config.BaseURL.Name(): base})
		if err != nil {
			t.Fatal(err)
		}
		s := &session{snap: snap, version: "v1alpha"}
		if got, err := s.upstreamURL(); err != nil || got != want {
			t.Errorf("%s: %s %v, want %s", base, got, err, want)
		}
	}
}

func TestSelfAuthenticatedIsOnlyTheConstrainedSocket(t *testing.T) {
	for path, want := range map[string]bool{
		"/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained":        true,
		"/gemini/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained": true,
		"/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContent":                   false,
		"/v1beta/models/x.BidiGenerateContentConstrained":                                                  false,
		"/v1alpha/auth_tokens": false,
	} {
		if SelfAuthenticated(path) != want {
			t.Errorf("%s: %v", path, !want)
		}
	}
}
