package fakeupstream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gemgate/gemgate/internal/testutil"
)

const (
	goodKey   = "AIzaGood"
	flash     = "gemini-2.5-flash"
	genPath   = "/v1beta/models/" + flash + ":generateContent"
	strmPath  = "/v1beta/models/" + flash + ":streamGenerateContent"
	chatPath  = "/v1beta/openai/chat/completions"
	helloBody = `{"contents":[{"role":"user","parts":[{"text":"hello"}]}]}`
)

type envelope struct {
	Error struct {
		Code    int               `json:"code"`
		Message string            `json:"message"`
		Status  string            `json:"status"`
		Details []json.RawMessage `json:"details"`
	} `json:"error"`
}

// detail is the union of every google.rpc detail the fake emits, read by field name exactly.
type detail struct {
	Type       string            `json:"@type"`
	Reason     string            `json:"reason"`
	Domain     string            `json:"domain"`
	Metadata   map[string]string `json:"metadata"`
	Locale     string            `json:"locale"`
	Message    string            `json:"message"`
	RetryDelay string            `json:"retryDelay"`
	Links      []struct {
		Description string `json:"description"`
		URL         string `json:"url"`
	} `json:"links"`
	Violations []struct {
		QuotaMetric     string            `json:"quotaMetric"`
		QuotaID         string            `json:"quotaId"`
		QuotaDimensions map[string]string `json:"quotaDimensions"`
		QuotaValue      string            `json:"quotaValue"`
	} `json:"violations"`
	FieldViolations []struct {
		Description string `json:"description"`
	} `json:"fieldViolations"`
}

func (e envelope) detail(t *testing.T, typ string) (detail, bool) {
	t.Helper()
	for _, raw := range e.Error.Details {
		var d detail
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("detail %s: %v", raw, err)
		}
		if d.Type == "type.googleapis.com/google.rpc."+typ {
			return d, true
		}
	}
	return detail{}, false
}

type fixture struct {
	t   *testing.T
	fu  *Server
	srv *httptest.Server
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	fu := New(cfg)
	srv := httptest.NewServer(fu)
	t.Cleanup(srv.Close)
	return &fixture{t: t, fu: fu, srv: srv}
}

type reqOpt func(*http.Request)

func withKey(k string) reqOpt { return func(r *http.Request) { r.Header.Set("x-goog-api-key", k) } }
func withBearer(k string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+k) }
}

func (f *fixture) do(method, path, body string, opts ...reqOpt) (*http.Response, []byte) {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.t.Context(), method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp, b
}

func (f *fixture) post(path, body string, opts ...reqOpt) (*http.Response, []byte) {
	f.t.Helper()
	if len(opts) == 0 {
		opts = []reqOpt{withKey(goodKey)}
	}
	return f.do(http.MethodPost, path, body, opts...)
}

func decodeEnvelope(t *testing.T, body []byte, openai bool) envelope {
	t.Helper()
	var env envelope
	if openai {
		var arr []envelope
		if err := json.Unmarshal(body, &arr); err != nil || len(arr) != 1 {
			t.Fatalf("want a one-element array-wrapped error, got %s (%v)", body, err)
		}
		return arr[0]
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	return env
}

func expectError(t *testing.T, resp *http.Response, body []byte, code int, status string, openai bool) envelope {
	t.Helper()
	if resp.StatusCode != code {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, code, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=UTF-8" {
		t.Errorf("Content-Type %q", ct)
	}
	env := decodeEnvelope(t, body, openai)
	if env.Error.Code != code || env.Error.Status != status {
		t.Fatalf("envelope %d %s, want %d %s", env.Error.Code, env.Error.Status, code, status)
	}
	return env
}

func decodeGen(t *testing.T, body []byte) genResult {
	t.Helper()
	var g genResult
	if err := json.Unmarshal(body, &g); err != nil {
		t.Fatalf("response %s: %v", body, err)
	}
	return g
}

// genResult reads answers independently of the package's own response types.
type genResult struct {
	Candidates []struct {
		Content struct {
			Parts []struct {
				Text         string `json:"text"`
				Thought      bool   `json:"thought"`
				FunctionCall *struct {
					Name string         `json:"name"`
					Args map[string]any `json:"args"`
				} `json:"functionCall"`
				InlineData *struct {
					MimeType string `json:"mimeType"`
					Data     string `json:"data"`
				} `json:"inlineData"`
			} `json:"parts"`
			Role string `json:"role"`
		} `json:"content"`
		FinishReason string `json:"finishReason"`
		Index        int    `json:"index"`
	} `json:"candidates"`
	PromptFeedback *struct {
		BlockReason string `json:"blockReason"`
	} `json:"promptFeedback"`
	UsageMetadata *struct {
		PromptTokenCount     int `json:"promptTokenCount"`
		CandidatesTokenCount int `json:"candidatesTokenCount"`
		TotalTokenCount      int `json:"totalTokenCount"`
		ThoughtsTokenCount   int `json:"thoughtsTokenCount"`
		PromptTokensDetails  []struct {
			Modality   string `json:"modality"`
			TokenCount int    `json:"tokenCount"`
		} `json:"promptTokensDetails"`
	} `json:"usageMetadata"`
	ModelVersion string `json:"modelVersion"`
	ResponseID   string `json:"responseId"`
}

func (g genResult) text() string {
	var b strings.Builder
	for _, c := range g.Candidates[:min(1, len(g.Candidates))] {
		for _, p := range c.Content.Parts {
			if !p.Thought {
				b.WriteString(p.Text)
			}
		}
	}
	return b.String()
}

func TestBehaviorStringAndKeyNames(t *testing.T) {
	for b := OK; b <= StreamCut; b++ {
		if s := b.String(); s == "" || strings.HasPrefix(s, "Behavior(") {
			t.Errorf("%d has no name", b)
		}
	}
	if s := Behavior(99).String(); s != "Behavior(99)" {
		t.Errorf("unknown behaviour named %q", s)
	}
	cases := map[string]Behavior{
		"demo-1": OK, "": OK, "x-invalid": Invalid, "x-suspended": Suspended, "x-disabled": ServiceDisabled,
		"x-ratelimit": RateLimitMinute, "x-quotaday": RateLimitDay, "x-nofreetier": NoFreeTier,
		"x-overloaded": Overloaded, "x-internal": Internal, "x-empty": Empty, "x-streamcut": StreamCut,
		"X-RATELIMIT": RateLimitMinute, "invalid": OK, "x-invalid-not": OK,
	}
	for key, want := range cases {
		if got := BehaviorFromKeyName(key); got != want {
			t.Errorf("BehaviorFromKeyName(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t, Config{})
	t.Run("missing key", func(t *testing.T) {
		resp, body := f.do(http.MethodPost, genPath, helloBody)
		env := expectError(t, resp, body, 403, "PERMISSION_DENIED", false)
		if !strings.HasPrefix(env.Error.Message, "Method doesn't allow unregistered callers") {
			t.Errorf("message %q", env.Error.Message)
		}
	})
	t.Run("bearer on native is OAuth", func(t *testing.T) {
		resp, body := f.do(http.MethodPost, genPath, helloBody, withBearer(goodKey))
		env := expectError(t, resp, body, 401, "UNAUTHENTICATED", false)
		d, ok := env.detail(t, "ErrorInfo")
		if !ok || d.Reason != "ACCESS_TOKEN_TYPE_UNSUPPORTED" ||
			d.Metadata["method"] != "google.ai.generativelanguage.v1beta.GenerativeService.GenerateContent" {
			t.Errorf("ErrorInfo %+v", d)
		}
		if !strings.HasPrefix(env.Error.Message, "Request had invalid authentication credentials. Expected OAuth 2 access token") {
			t.Errorf("message %q", env.Error.Message)
		}
	})
	t.Run("query key", func(t *testing.T) {
		resp, body := f.do(http.MethodPost, genPath+"?key=q1", helloBody)
		if resp.StatusCode != 200 || f.fu.Calls("q1") != 1 {
			t.Fatalf("%d %s calls=%d", resp.StatusCode, body, f.fu.Calls("q1"))
		}
	})
	t.Run("header key wins over bearer", func(t *testing.T) {
		resp, _ := f.do(http.MethodPost, genPath, helloBody, withKey("h1"), withBearer("tok"))
		if resp.StatusCode != 200 || f.fu.Calls("h1") != 1 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("openai bearer", func(t *testing.T) {
		resp, body := f.do(http.MethodGet, "/v1beta/openai/models", "", withBearer("o1"))
		if resp.StatusCode != 200 || f.fu.Calls("o1") != 1 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("openai missing key", func(t *testing.T) {
		resp, body := f.do(http.MethodGet, "/v1beta/openai/models", "")
		expectError(t, resp, body, 403, "PERMISSION_DENIED", true)
	})
}

func TestBehaviorErrors(t *testing.T) {
	keys := map[string]Behavior{
		"k-invalid": Invalid, "k-suspended": Suspended, "k-disabled": ServiceDisabled,
		"k-minute": RateLimitMinute, "k-day": RateLimitDay, "k-nofree": NoFreeTier,
		"k-overloaded": Overloaded, "k-internal": Internal,
	}
	f := newFixture(t, Config{Keys: keys, RetryDelay: "12s"})
	cases := []struct {
		key    string
		code   int
		status string
		check  func(t *testing.T, env envelope)
	}{
		{"k-invalid", 400, "INVALID_ARGUMENT", checkInvalid},
		{"k-suspended", 403, "PERMISSION_DENIED", checkSuspended},
		{"k-disabled", 403, "PERMISSION_DENIED", checkDisabled},
		{"k-minute", 429, "RESOURCE_EXHAUSTED", checkQuota("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "10", "12s", "Please retry in 12.2s.")},
		{"k-day", 429, "RESOURCE_EXHAUSTED", checkQuota("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "250", "0s", "limit: 250")},
		{"k-nofree", 429, "RESOURCE_EXHAUSTED", checkNoFreeTier},
		{"k-overloaded", 503, "UNAVAILABLE", checkBare("The model is overloaded. Please try again later.")},
		{"k-internal", 500, "INTERNAL", checkBare("An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting")},
	}
	for _, tc := range cases {
		t.Run(keys[tc.key].String(), func(t *testing.T) {
			for _, route := range []struct {
				path, body string
				openai     bool
				opt        reqOpt
			}{
				{genPath, helloBody, false, withKey(tc.key)},
				{strmPath + "?alt=sse", helloBody, false, withKey(tc.key)},
				{chatPath, `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}`, true, withBearer(tc.key)},
			} {
				resp, body := f.post(route.path, route.body, route.opt)
				tc.check(t, expectError(t, resp, body, tc.code, tc.status, route.openai))
			}
		})
	}
}

func checkInvalid(t *testing.T, env envelope) {
	t.Helper()
	if env.Error.Message != "API key not valid. Please pass a valid API key." {
		t.Errorf("message %q", env.Error.Message)
	}
	d, ok := env.detail(t, "ErrorInfo")
	if !ok || d.Reason != "API_KEY_INVALID" || d.Domain != "googleapis.com" || d.Metadata["service"] != "generativelanguage.googleapis.com" {
		t.Errorf("ErrorInfo %+v", d)
	}
	lm, ok := env.detail(t, "LocalizedMessage")
	if !ok || lm.Locale != "en-US" || lm.Message != env.Error.Message {
		t.Errorf("LocalizedMessage %+v", lm)
	}
}

var projectRE = regexp.MustCompile(`^projects/\d{12}$`)

func checkSuspended(t *testing.T, env envelope) {
	t.Helper()
	if env.Error.Message != "Permission denied: Consumer 'api_key:k-suspended' has been suspended." {
		t.Errorf("message %q", env.Error.Message)
	}
	d, ok := env.detail(t, "ErrorInfo")
	if !ok || d.Reason != "CONSUMER_SUSPENDED" || !projectRE.MatchString(d.Metadata["consumer"]) {
		t.Errorf("ErrorInfo %+v", d)
	}
}

func checkDisabled(t *testing.T, env envelope) {
	t.Helper()
	d, ok := env.detail(t, "ErrorInfo")
	if !ok || d.Reason != "SERVICE_DISABLED" || !projectRE.MatchString(d.Metadata["consumer"]) {
		t.Fatalf("ErrorInfo %+v", d)
	}
	url := d.Metadata["activationUrl"]
	if !strings.HasPrefix(url, "https://console.developers.google.com/apis/api/generativelanguage.googleapis.com/overview?project=") ||
		!strings.Contains(env.Error.Message, url) {
		t.Errorf("activationUrl %q, message %q", url, env.Error.Message)
	}
	if h, ok := env.detail(t, "Help"); !ok || len(h.Links) != 1 || h.Links[0].URL != url {
		t.Errorf("Help %+v", h)
	}
}

func checkQuota(quotaID, value, retry, inMessage string) func(*testing.T, envelope) {
	return func(t *testing.T, env envelope) {
		t.Helper()
		qf, ok := env.detail(t, "QuotaFailure")
		if !ok || len(qf.Violations) != 1 {
			t.Fatalf("QuotaFailure %+v", qf)
		}
		v := qf.Violations[0]
		if v.QuotaID != quotaID || v.QuotaValue != value ||
			v.QuotaMetric != "generativelanguage.googleapis.com/generate_content_free_tier_requests" ||
			v.QuotaDimensions["model"] != flash || v.QuotaDimensions["location"] != "global" {
			t.Errorf("violation %+v", v)
		}
		if ri, ok := env.detail(t, "RetryInfo"); !ok || ri.RetryDelay != retry {
			t.Errorf("RetryInfo %+v", ri)
		}
		if h, ok := env.detail(t, "Help"); !ok || len(h.Links) != 1 || h.Links[0].URL != "https://ai.google.dev/gemini-api/docs/rate-limits" {
			t.Errorf("Help %+v", h)
		}
		msg := env.Error.Message
		if !strings.HasPrefix(msg, "You exceeded your current quota") || !strings.Contains(msg, inMessage) ||
			!strings.Contains(msg, "* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: "+value+", model: "+flash) {
			t.Errorf("message %q", msg)
		}
	}
}

func checkNoFreeTier(t *testing.T, env envelope) {
	t.Helper()
	qf, ok := env.detail(t, "QuotaFailure")
	if !ok || len(qf.Violations) == 0 {
		t.Fatalf("QuotaFailure %+v", qf)
	}
	for _, v := range qf.Violations {
		if v.QuotaValue != "0" {
			t.Errorf("violation %+v", v)
		}
	}
	if !strings.Contains(env.Error.Message, "limit: 0, model: "+flash) {
		t.Errorf("message %q", env.Error.Message)
	}
}

func checkBare(msg string) func(*testing.T, envelope) {
	return func(t *testing.T, env envelope) {
		t.Helper()
		if env.Error.Message != msg || len(env.Error.Details) != 0 {
			t.Errorf("got %q with %d details", env.Error.Message, len(env.Error.Details))
		}
	}
}

func TestQuotaBehavioursSpareModelListing(t *testing.T) {
	f := newFixture(t, Config{Keys: map[string]Behavior{"bad": Invalid, "busy": RateLimitMinute}})
	resp, body := f.do(http.MethodGet, "/v1beta/models", "", withKey("bad"))
	expectError(t, resp, body, 400, "INVALID_ARGUMENT", false)
	if resp, body := f.do(http.MethodGet, "/v1beta/models", "", withKey("busy")); resp.StatusCode != 200 {
		t.Fatalf("a rate-limited key still lists models: %d %s", resp.StatusCode, body)
	}
}

func TestKeySelection(t *testing.T) {
	strict := newFixture(t, Config{UnknownKeys: Invalid, Keys: map[string]Behavior{"known": OK}})
	if resp, _ := strict.post(genPath, helloBody, withKey("stranger")); resp.StatusCode != 400 {
		t.Errorf("unknown key under UnknownKeys=Invalid: %d", resp.StatusCode)
	}
	if resp, _ := strict.post(genPath, helloBody, withKey("known")); resp.StatusCode != 200 {
		t.Errorf("known key: %d", resp.StatusCode)
	}
	strict.fu.SetBehavior("known", Overloaded)
	if resp, _ := strict.post(genPath, helloBody, withKey("known")); resp.StatusCode != 503 {
		t.Errorf("after SetBehavior: %d", resp.StatusCode)
	}

	named := newFixture(t, Config{KeysByName: true, UnknownKeys: Invalid, Keys: map[string]Behavior{"pinned-invalid": OK}})
	for key, want := range map[string]int{"demo-suspended": 403, "demo-ratelimit": 429, "demo": 200, "pinned-invalid": 200} {
		if resp, _ := named.post(genPath, helloBody, withKey(key)); resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", key, resp.StatusCode, want)
		}
	}
}

func TestGenerateContent(t *testing.T) {
	f := newFixture(t, Config{})
	t.Run("echo and usage", func(t *testing.T) {
		body := `{"systemInstruction":{"parts":[{"text":"be terse"}]},"contents":[
			{"role":"user","parts":[{"text":"first"}]},{"role":"model","parts":[{"text":"ok"}]},
			{"role":"user","parts":[{"text":"what is up"}]}]}`
		resp, raw := f.post(genPath, body)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json; charset=UTF-8" {
			t.Fatalf("%d %s", resp.StatusCode, raw)
		}
		g := decodeGen(t, raw)
		if g.text() != "echo: what is up" || g.Candidates[0].Content.Role != "model" ||
			g.Candidates[0].FinishReason != "STOP" || g.Candidates[0].Index != 0 {
			t.Fatalf("answer %s", raw)
		}
		u := g.UsageMetadata
		// "be terse" + "first" + "ok" + "what is up" = 25 characters → 7 tokens; "echo: what is up" = 16 → 4.
		if u == nil || u.PromptTokenCount != 7 || u.CandidatesTokenCount != 4 || u.TotalTokenCount != 11 ||
			len(u.PromptTokensDetails) != 1 || u.PromptTokensDetails[0].TokenCount != 7 {
			t.Fatalf("usage %+v", u)
		}
		if g.ModelVersion != flash || len(g.ResponseID) != 23 {
			t.Errorf("modelVersion %q responseId %q", g.ModelVersion, g.ResponseID)
		}
	})
	t.Run("thoughts", func(t *testing.T) {
		for _, cfg := range []string{`"generationConfig":{"thinkingConfig":{"includeThoughts":true}}`,
			`"generation_config":{"thinking_config":{"include_thoughts":true}}`} {
			_, raw := f.post(genPath, `{`+cfg+`,"contents":[{"parts":[{"text":"hm"}]}]}`)
			g := decodeGen(t, raw)
			parts := g.Candidates[0].Content.Parts
			if len(parts) != 2 || !parts[0].Thought || parts[0].Text != "thinking about it" || parts[1].Text != "echo: hm" {
				t.Fatalf("parts %s", raw)
			}
			u := g.UsageMetadata
			if u.ThoughtsTokenCount == 0 || u.TotalTokenCount != u.PromptTokenCount+u.CandidatesTokenCount+u.ThoughtsTokenCount {
				t.Fatalf("usage %+v", u)
			}
		}
	})
	t.Run("function call", func(t *testing.T) {
		tools := `"tools":[{"functionDeclarations":[{"name":"get_weather","parameters":{"type":"OBJECT","properties":{"location":{"type":"STRING"}}}},
			{"name":"lookup","parameters":{"type":"object","properties":{"q":{"type":"string"},"n":{"type":"integer"}}}}]}]`
		for text, want := range map[string]map[string]any{
			"call get_weather": {"location": "Paris"},
			"call lookup now":  {"q": "test"},
		} {
			_, raw := f.post(genPath, `{`+tools+`,"contents":[{"role":"user","parts":[{"text":"`+text+`"}]}]}`)
			g := decodeGen(t, raw)
			fc := g.Candidates[0].Content.Parts[0].FunctionCall
			if fc == nil || !strings.HasSuffix(strings.Fields(text)[1], fc.Name) || !mapsEqual(fc.Args, want) ||
				g.Candidates[0].FinishReason != "STOP" {
				t.Fatalf("%q: %s", text, raw)
			}
		}
		_, raw := f.post(genPath, `{`+tools+`,"contents":[{"parts":[{"text":"call nobody"}]}]}`)
		if g := decodeGen(t, raw); g.text() != "echo: call nobody" {
			t.Fatalf("undeclared function answered %s", raw)
		}
	})
	t.Run("blocked", func(t *testing.T) {
		_, raw := f.post(genPath, `{"contents":[{"parts":[{"text":"block me"}]}]}`)
		g := decodeGen(t, raw)
		if len(g.Candidates) != 0 || g.PromptFeedback == nil || g.PromptFeedback.BlockReason != "SAFETY" || g.UsageMetadata == nil {
			t.Fatalf("%s", raw)
		}
	})
	t.Run("candidates and max tokens", func(t *testing.T) {
		_, raw := f.post(genPath, `{"generationConfig":{"candidateCount":3,"maxOutputTokens":2},"contents":[{"parts":[{"text":"long question"}]}]}`)
		g := decodeGen(t, raw)
		if len(g.Candidates) != 3 || g.Candidates[2].Index != 2 {
			t.Fatalf("candidates %s", raw)
		}
		for _, c := range g.Candidates {
			if c.FinishReason != "MAX_TOKENS" {
				t.Fatalf("finish %s", raw)
			}
		}
	})
	t.Run("image", func(t *testing.T) {
		_, raw := f.post(genPath, `{"generationConfig":{"responseModalities":["text","image"]},"contents":[{"parts":[{"text":"draw"}]}]}`)
		g := decodeGen(t, raw)
		parts := g.Candidates[0].Content.Parts
		img := parts[len(parts)-1].InlineData
		if img == nil || img.MimeType != "image/png" {
			t.Fatalf("%s", raw)
		}
		data, err := base64.StdEncoding.DecodeString(img.Data)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(bytes.NewReader(data)); err != nil {
			t.Fatalf("not a PNG: %v", err)
		}
	})
	t.Run("audio", func(t *testing.T) {
		_, raw := f.post("/v1beta/models/gemini-2.5-flash-preview-tts:generateContent",
			`{"generationConfig":{"responseModalities":["AUDIO"]},"contents":[{"parts":[{"text":"say hi"}]}]}`)
		g := decodeGen(t, raw)
		parts := g.Candidates[0].Content.Parts
		if len(parts) != 1 || parts[0].InlineData == nil || parts[0].InlineData.MimeType != "audio/L16;codec=pcm;rate=24000" {
			t.Fatalf("%s", raw)
		}
		pcm, err := base64.StdEncoding.DecodeString(parts[0].InlineData.Data)
		if err != nil || len(pcm) == 0 || len(pcm)%2 != 0 {
			t.Fatalf("pcm %d bytes, %v", len(pcm), err)
		}
	})
	t.Run("multi-part turn", func(t *testing.T) {
		_, raw := f.post(genPath, `{"contents":[{"parts":[{"text":"a"},{"inlineData":{"mimeType":"image/png","data":"AA=="}},{"text":"b"}]}]}`)
		if g := decodeGen(t, raw); g.text() != "echo: a\nb" {
			t.Fatalf("%s", raw)
		}
	})
	t.Run("v1 route", func(t *testing.T) {
		if resp, raw := f.post("/v1/models/gemini-2.0-flash:generateContent", helloBody); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, raw)
		}
	})
}

func mapsEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestEmptyBehaviour(t *testing.T) {
	f := newFixture(t, Config{Keys: map[string]Behavior{"e": Empty}})
	_, raw := f.post(genPath, helloBody, withKey("e"))
	g := decodeGen(t, raw)
	if len(g.Candidates) != 1 || len(g.Candidates[0].Content.Parts) != 0 || g.Candidates[0].FinishReason != "STOP" ||
		g.Candidates[0].Content.Role != "model" || g.UsageMetadata == nil {
		t.Fatalf("%s", raw)
	}
	_, raw = f.post(strmPath+"?alt=sse", helloBody, withKey("e"))
	evs := sseEvents(t, raw)
	if len(evs) != 1 || decodeGen(t, []byte(evs[0])).Candidates[0].FinishReason != "STOP" {
		t.Fatalf("stream %q", raw)
	}
}

func TestRequestErrors(t *testing.T) {
	f := newFixture(t, Config{})
	cases := []struct {
		name, method, path, body string
		code                     int
		status, message          string
		openai                   bool
	}{
		{"invalid json", "POST", genPath, `{"contents":`, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unexpected token.", false},
		{"no contents", "POST", genPath, `{}`, 400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified\n", false},
		{"empty body", "POST", genPath, ``, 400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified\n", false},
		{"unknown model", "POST", "/v1beta/models/gemini-9:generateContent", helloBody, 404, "NOT_FOUND",
			"models/gemini-9 is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.", false},
		{"unknown model v1", "GET", "/v1/models/nope", "", 404, "NOT_FOUND",
			"models/nope is not found for API version v1, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.", false},
		{"unsupported method", "POST", "/v1beta/models/text-embedding-004:generateContent", helloBody, 404, "NOT_FOUND",
			"models/text-embedding-004 is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.", false},
		{"deprecated", "POST", "/v1beta/models/gemini-1.0-pro-vision-latest:generateContent", helloBody, 404, "NOT_FOUND",
			"Gemini 1.0 Pro Vision has been deprecated on July 12, 2024. Consider switching to different model, for example gemini-1.5-flash.", false},
		{"wrong method", "GET", genPath, "", 405, "UNIMPLEMENTED", "Method Not Allowed", false},
		{"unknown path", "GET", "/v1beta/corpora", "", 404, "NOT_FOUND", "Requested entity was not found.", false},
		{"unknown action", "POST", "/v1beta/models/" + flash + ":generateAnswer", helloBody, 404, "NOT_FOUND", "Requested entity was not found.", false},
		{"outside api", "GET", "/", "", 404, "NOT_FOUND", "Requested entity was not found.", false},
		{"openai invalid json", "POST", chatPath, `{`, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unexpected token.", true},
		{"openai unknown model", "POST", chatPath, `{"model":"nope","messages":[{"role":"user","content":"x"}]}`, 404, "NOT_FOUND",
			"models/nope is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.", true},
		{"openai no model", "POST", chatPath, `{"messages":[{"role":"user","content":"x"}]}`, 400, "INVALID_ARGUMENT",
			"* GenerateContentRequest.model: unexpected model name format\n", true},
		{"openai no messages", "POST", chatPath, `{"model":"gemini-2.5-flash","messages":[]}`, 400, "INVALID_ARGUMENT",
			"* GenerateContentRequest.contents: contents is not specified\n", true},
		{"openai wrong method", "GET", chatPath, "", 405, "UNIMPLEMENTED", "Method Not Allowed", true},
		{"openai unknown path", "GET", "/v1beta/openai/files", "", 404, "NOT_FOUND", "Requested entity was not found.", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opt := withKey(goodKey)
			if tc.openai {
				opt = withBearer(goodKey)
			}
			resp, body := f.do(tc.method, tc.path, tc.body, opt)
			env := expectError(t, resp, body, tc.code, tc.status, tc.openai)
			if env.Error.Message != tc.message {
				t.Errorf("message %q, want %q", env.Error.Message, tc.message)
			}
			if tc.code == 405 && resp.Header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
	t.Run("bad json detail", func(t *testing.T) {
		resp, body := f.post(genPath, `nope`)
		env := expectError(t, resp, body, 400, "INVALID_ARGUMENT", false)
		if d, ok := env.detail(t, "BadRequest"); !ok || len(d.FieldViolations) != 1 {
			t.Errorf("BadRequest %+v", d)
		}
	})
}

func TestModels(t *testing.T) {
	f := newFixture(t, Config{})
	type page struct {
		Models []struct {
			Name                       string   `json:"name"`
			Version                    string   `json:"version"`
			DisplayName                string   `json:"displayName"`
			InputTokenLimit            int      `json:"inputTokenLimit"`
			OutputTokenLimit           int      `json:"outputTokenLimit"`
			SupportedGenerationMethods []string `json:"supportedGenerationMethods"`
			Thinking                   bool     `json:"thinking"`
		} `json:"models"`
		NextPageToken string `json:"nextPageToken"`
	}
	list := func(query string) page {
		resp, raw := f.do(http.MethodGet, "/v1beta/models"+query, "", withKey(goodKey))
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", query, resp.StatusCode, raw)
		}
		var p page
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	all := list("")
	if len(all.Models) != len(Models()) || all.NextPageToken != "" {
		t.Fatalf("default page: %d models, token %q", len(all.Models), all.NextPageToken)
	}
	var names []string
	for _, m := range all.Models {
		names = append(names, m.Name)
	}
	for _, want := range []string{"gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.0-flash",
		"gemini-2.0-flash-exp", "gemini-2.5-flash-image-preview", "gemini-2.5-flash-preview-tts", "gemini-2.5-pro-preview-tts",
		"text-embedding-004", "gemini-embedding-001", "imagen-3.0-generate-002", "gemini-1.0-pro-vision-latest"} {
		if !slices.Contains(names, "models/"+want) {
			t.Errorf("missing %s", want)
		}
	}

	var paged []string
	token := ""
	for range 100 {
		p := list("?pageSize=4&pageToken=" + token)
		if len(p.Models) > 4 {
			t.Fatalf("page of %d", len(p.Models))
		}
		for _, m := range p.Models {
			paged = append(paged, m.Name)
		}
		if token = p.NextPageToken; token == "" {
			break
		}
	}
	if !slices.Equal(paged, names) {
		t.Fatalf("paging gave %v, want %v", paged, names)
	}
	if p := list("?pageSize=5000"); len(p.Models) != len(names) {
		t.Errorf("large pageSize: %d", len(p.Models))
	}
	resp, body := f.do(http.MethodGet, "/v1beta/models?pageToken=garbage", "", withKey(goodKey))
	expectError(t, resp, body, 400, "INVALID_ARGUMENT", false)

	resp, raw := f.do(http.MethodGet, "/v1beta/models/gemini-2.5-pro", "", withKey(goodKey))
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, raw)
	}
	for _, field := range []string{"name", "version", "displayName", "description", "inputTokenLimit", "outputTokenLimit",
		"supportedGenerationMethods", "temperature", "topP", "topK", "maxTemperature", "thinking"} {
		if _, ok := m[field]; !ok {
			t.Errorf("model lacks %s", field)
		}
	}
	if m["name"] != "models/gemini-2.5-pro" || m["thinking"] != true {
		t.Errorf("model %v", m)
	}
	if rec, _ := f.fu.LastRequest(); rec.Action != "get" || rec.Model != "gemini-2.5-pro" {
		t.Errorf("recorded %+v", rec)
	}
}

// sseEvents splits a body on Google's CRLF CRLF framing and checks every event is a single data line.
func sseEvents(t *testing.T, raw []byte) []string {
	t.Helper()
	s := string(raw)
	if !strings.HasSuffix(s, "\r\n\r\n") {
		t.Fatalf("stream does not end with CRLF CRLF: %q", s)
	}
	var out []string
	for _, ev := range strings.Split(strings.TrimSuffix(s, "\r\n\r\n"), "\r\n\r\n") {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok || strings.ContainsAny(data, "\r\n") {
			t.Fatalf("bad event %q", ev)
		}
		out = append(out, data)
	}
	return out
}

func TestSSEStream(t *testing.T) {
	f := newFixture(t, Config{StreamChunks: 4})
	resp, raw := f.post(strmPath+"?alt=sse", `{"contents":[{"parts":[{"text":"tell me a story"}]}]}`)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	evs := sseEvents(t, raw)
	if len(evs) != 4 {
		t.Fatalf("%d events, want 4", len(evs))
	}
	var text strings.Builder
	for i, ev := range evs {
		g := decodeGen(t, []byte(ev))
		c := g.Candidates[0]
		if c.Content.Role != "model" || c.Index != 0 || len(c.Content.Parts) != 1 {
			t.Fatalf("event %d: %s", i, ev)
		}
		text.WriteString(c.Content.Parts[0].Text)
		last := i == len(evs)-1
		if (c.FinishReason == "STOP") != last || (g.UsageMetadata != nil) != last {
			t.Fatalf("event %d finish %q usage %v", i, c.FinishReason, g.UsageMetadata)
		}
	}
	if text.String() != "echo: tell me a story" {
		t.Fatalf("text %q", text.String())
	}
}

func TestJSONArrayStream(t *testing.T) {
	f := newFixture(t, Config{})
	resp, raw := f.post(strmPath, helloBody)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json; charset=UTF-8" {
		t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := string(raw)
	if !strings.HasPrefix(s, "[{") || !strings.HasSuffix(s, "}\n]") || strings.Count(s, "}\n,\r\n{") != 2 {
		t.Fatalf("framing %q", s)
	}
	var evs []genResult
	if err := json.Unmarshal(raw, &evs); err != nil || len(evs) != 3 {
		t.Fatalf("%d elements: %v", len(evs), err)
	}
	if evs[2].Candidates[0].FinishReason != "STOP" || evs[2].UsageMetadata == nil {
		t.Fatalf("last element %+v", evs[2])
	}
}

// openStream starts a streamed request and returns a reader positioned at the start of the body.
func (f *fixture) openStream(ctx context.Context, path, body string, opt reqOpt) (*http.Response, *bufio.Reader) {
	f.t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	opt(req)
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { resp.Body.Close() })
	return resp, bufio.NewReader(resp.Body)
}

func readSSEEvent(r *bufio.Reader) (string, error) {
	var ev strings.Builder
	for !strings.HasSuffix(ev.String(), "\r\n\r\n") {
		b, err := r.ReadByte()
		if err != nil {
			return ev.String(), err
		}
		ev.WriteByte(b)
	}
	return ev.String(), nil
}

func TestStreamHookSeesFirstEventForwarded(t *testing.T) {
	f := newFixture(t, Config{StreamChunks: 3})
	release := make(chan struct{})
	var mu sync.Mutex
	var seen []int
	f.fu.SetStreamHook(func(ctx context.Context, event int) {
		mu.Lock()
		seen = append(seen, event)
		mu.Unlock()
		if event == 1 {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
	})
	_, r := f.openStream(t.Context(), strmPath+"?alt=sse", helloBody, withKey(goodKey))
	first, err := readSSEEvent(r)
	if err != nil || !strings.HasPrefix(first, "data: ") {
		t.Fatalf("first event %q before event 1 exists: %v", first, err)
	}
	close(release)
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(sseEvents(t, rest)); n != 2 {
		t.Fatalf("%d more events", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(seen, []int{1, 2}) {
		t.Fatalf("hook saw %v", seen)
	}
	f.fu.SetStreamHook(nil)
	if resp, _ := f.post(strmPath+"?alt=sse", helloBody); resp.StatusCode != 200 || f.fu.Cancelled() != 0 {
		t.Fatalf("after removing the hook: %d, cancelled %d", resp.StatusCode, f.fu.Cancelled())
	}
}

func TestCancelledStreams(t *testing.T) {
	f := newFixture(t, Config{})
	f.fu.SetStreamHook(func(ctx context.Context, _ int) { <-ctx.Done() })
	for i, path := range []string{strmPath + "?alt=sse", strmPath} {
		ctx, cancel := context.WithCancel(t.Context())
		_, r := f.openStream(ctx, path, helloBody, withKey(goodKey))
		if _, err := r.ReadByte(); err != nil {
			t.Fatal(err)
		}
		cancel()
		testutil.Eventually(t, "the cancellation to be counted", func() bool { return f.fu.Cancelled() == i+1 })
	}
}

func TestClientLeavingDuringLatency(t *testing.T) {
	fu := New(Config{Latency: time.Minute})
	for _, tc := range []struct {
		path, body string
		counted    bool
	}{
		{strmPath + "?alt=sse", helloBody, true},
		{chatPath, `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"x"}]}`, true},
		{genPath, helloBody, false},
	} {
		before := fu.Cancelled()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, tc.path, strings.NewReader(tc.body))
		req.Header.Set("x-goog-api-key", goodKey)
		req.Header.Set("Authorization", "Bearer "+goodKey)
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			defer close(done)
			fu.ServeHTTP(rec, req)
		}()
		select {
		case <-done:
		case <-time.After(testutil.GiveUp):
			t.Fatalf("%s: latency ignored the departed client", tc.path)
		}
		if rec.Body.Len() != 0 {
			t.Errorf("%s: answered a departed client: %q", tc.path, rec.Body.String())
		}
		if got := fu.Cancelled() - before; got != map[bool]int{true: 1}[tc.counted] {
			t.Errorf("%s: Cancelled grew by %d", tc.path, got)
		}
	}
}

func TestStreamCut(t *testing.T) {
	f := newFixture(t, Config{Keys: map[string]Behavior{"cut": StreamCut}})
	_, r := f.openStream(t.Context(), strmPath+"?alt=sse", helloBody, withKey("cut"))
	if ev, err := readSSEEvent(r); err != nil || !strings.HasPrefix(ev, "data: ") {
		t.Fatalf("first event %q: %v", ev, err)
	}
	if rest, err := io.ReadAll(r); err == nil {
		t.Fatalf("stream ended cleanly after %q", rest)
	}
	if f.fu.Cancelled() != 0 {
		t.Error("a server-side cut is not a client cancellation")
	}
	if resp, raw := f.post(genPath, helloBody, withKey("cut")); resp.StatusCode != 200 || decodeGen(t, raw).text() != "echo: hello" {
		t.Fatalf("non-stream under StreamCut: %d %s", resp.StatusCode, raw)
	}
}

// Latency comes before the first event and StreamInterval between events; on the bubble's clock both
// are exact.
func TestStreamPacing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fu := New(Config{Latency: 40 * time.Millisecond, StreamInterval: 20 * time.Millisecond, StreamChunks: 3})
		for _, tc := range []struct {
			path string
			want time.Duration
		}{{strmPath + "?alt=sse", 80 * time.Millisecond}, {genPath, 40 * time.Millisecond}} {
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, tc.path, strings.NewReader(helloBody))
			req.Header.Set("x-goog-api-key", goodKey)
			rec := httptest.NewRecorder()
			start := time.Now()
			fu.ServeHTTP(rec, req)
			if took := time.Since(start); rec.Code != http.StatusOK || took != tc.want {
				t.Errorf("%s: %d after %v, want 200 after %v: %s", tc.path, rec.Code, took, tc.want, rec.Body)
			}
		}
	})
}

func TestCountTokens(t *testing.T) {
	f := newFixture(t, Config{})
	path := "/v1beta/models/" + flash + ":countTokens"
	for _, body := range []string{
		`{"contents":[{"parts":[{"text":"12345678"}]}]}`,
		`{"generateContentRequest":{"model":"models/gemini-2.5-flash","contents":[{"parts":[{"text":"12345678"}]}]}}`,
	} {
		resp, raw := f.post(path, body)
		var got struct {
			TotalTokens         int `json:"totalTokens"`
			PromptTokensDetails []struct {
				Modality   string `json:"modality"`
				TokenCount int    `json:"tokenCount"`
			} `json:"promptTokensDetails"`
		}
		if err := json.Unmarshal(raw, &got); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, raw)
		}
		if got.TotalTokens != 2 || len(got.PromptTokensDetails) != 1 || got.PromptTokensDetails[0].Modality != "TEXT" {
			t.Fatalf("%s", raw)
		}
	}
	resp, raw := f.post(path, `{}`)
	expectError(t, resp, raw, 400, "INVALID_ARGUMENT", false)
}

type vectorBody struct {
	Embedding  struct{ Values []float64 }   `json:"embedding"`
	Embeddings []struct{ Values []float64 } `json:"embeddings"`
}

func norm(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

func TestEmbeddings(t *testing.T) {
	f := newFixture(t, Config{})
	embed := func(model, extra, text string) []float64 {
		t.Helper()
		resp, raw := f.post("/v1beta/models/"+model+":embedContent",
			`{"model":"models/`+model+`","content":{"parts":[{"text":"`+text+`"}]}`+extra+`}`)
		var b vectorBody
		if err := json.Unmarshal(raw, &b); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, raw)
		}
		return b.Embedding.Values
	}
	cases := []struct {
		model, extra string
		dims         int
	}{
		{"text-embedding-004", "", 768},
		{"gemini-embedding-001", "", 3072},
		{"gemini-embedding-001", `,"outputDimensionality":256`, 256},
		{"text-embedding-004", `,"output_dimensionality":64`, 64},
	}
	for _, tc := range cases {
		v := embed(tc.model, tc.extra, "hello")
		if len(v) != tc.dims || math.Abs(norm(v)-1) > 1e-4 {
			t.Errorf("%s%s: %d dims, norm %f", tc.model, tc.extra, len(v), norm(v))
		}
	}
	a, b, c := embed("text-embedding-004", "", "same"), embed("text-embedding-004", "", "same"), embed("text-embedding-004", "", "other")
	if !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Error("embeddings must be deterministic per text")
	}

	batch := "/v1beta/models/text-embedding-004:batchEmbedContents"
	resp, raw := f.post(batch, `{"requests":[
		{"model":"models/text-embedding-004","content":{"parts":[{"text":"same"}]}},
		{"model":"models/text-embedding-004","content":{"parts":[{"text":"b"}]},"outputDimensionality":8}]}`)
	var bb vectorBody
	if err := json.Unmarshal(raw, &bb); err != nil || resp.StatusCode != 200 || len(bb.Embeddings) != 2 {
		t.Fatalf("%d %s", resp.StatusCode, raw)
	}
	if !slices.Equal(bb.Embeddings[0].Values, a) || len(bb.Embeddings[1].Values) != 8 {
		t.Error("batch items must match single embeddings and honour their own dimensionality")
	}
	for body, want := range map[string]string{
		`{"requests":[{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"x"}]}}]}`: "* BatchEmbedContentsRequest.requests[0].model: model must be the same",
		`{"requests":[{"content":{"parts":[{"text":"x"}]}}]}`:                                       "* BatchEmbedContentsRequest.requests[0].model: model is not specified\n",
		`{"requests":[{"model":"text-embedding-004","content":{"parts":[{"text":"x"}]}}]}`:          "* BatchEmbedContentsRequest.requests[0].model: unexpected model name format\n",
		`{"requests":[]}`: "* BatchEmbedContentsRequest.requests: requests is not specified\n",
	} {
		resp, raw := f.post(batch, body)
		env := expectError(t, resp, raw, 400, "INVALID_ARGUMENT", false)
		if !strings.HasPrefix(env.Error.Message, want) {
			t.Errorf("%s: message %q", body, env.Error.Message)
		}
	}
	resp, raw = f.post("/v1beta/models/text-embedding-004:embedContent", `{"model":"models/text-embedding-004"}`)
	expectError(t, resp, raw, 400, "INVALID_ARGUMENT", false)
}

type chatResult struct {
	Choices []struct {
		Message *struct {
			Role      string  `json:"role"`
			Content   *string `json:"content"`
			ToolCalls []struct {
				ID       string `json:"id"`
				Type     string `json:"type"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"message"`
		Delta *struct {
			Role    string  `json:"role"`
			Content *string `json:"content"`
		} `json:"delta"`
		FinishReason string `json:"finish_reason"`
		Index        int    `json:"index"`
	} `json:"choices"`
	ID     string `json:"id"`
	Model  string `json:"model"`
	Object string `json:"object"`
	Usage  *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
}

func TestOpenAICompat(t *testing.T) {
	f := newFixture(t, Config{Keys: map[string]Behavior{"empty": Empty}})
	key := withBearer(goodKey)
	t.Run("models", func(t *testing.T) {
		_, raw := f.do(http.MethodGet, "/v1beta/openai/models", "", key)
		var list struct {
			Object string `json:"object"`
			Data   []struct {
				ID      string `json:"id"`
				Object  string `json:"object"`
				Created int64  `json:"created"`
				OwnedBy string `json:"owned_by"`
			} `json:"data"`
		}
		if err := json.Unmarshal(raw, &list); err != nil || list.Object != "list" || len(list.Data) != len(Models()) {
			t.Fatalf("%s", raw)
		}
		d := list.Data[0]
		if !strings.HasPrefix(d.ID, "models/") || d.Object != "model" || d.OwnedBy != "google" || d.Created == 0 {
			t.Fatalf("entry %+v", d)
		}
		if resp, raw := f.do(http.MethodGet, "/v1beta/openai/models/models/gemini-2.5-flash", "", key); resp.StatusCode != 200 ||
			!strings.Contains(string(raw), `"id":"models/gemini-2.5-flash"`) {
			t.Fatalf("single model %d %s", resp.StatusCode, raw)
		}
	})
	t.Run("chat", func(t *testing.T) {
		_, raw := f.post(chatPath, `{"model":"models/gemini-2.5-flash","messages":[{"role":"system","content":"sys"},
			{"role":"user","content":[{"type":"text","text":"hi there"}]}]}`, key)
		var cc chatResult
		if err := json.Unmarshal(raw, &cc); err != nil || cc.Object != "chat.completion" || len(cc.Choices) != 1 {
			t.Fatalf("%s", raw)
		}
		ch := cc.Choices[0]
		if ch.Message == nil || ch.Message.Content == nil || *ch.Message.Content != "echo: hi there" || ch.Message.Role != "assistant" ||
			ch.FinishReason != "stop" || cc.Model != flash || cc.Usage == nil || cc.Usage.TotalTokens != cc.Usage.PromptTokens+cc.Usage.CompletionTokens {
			t.Fatalf("%s", raw)
		}
		if rec, _ := f.fu.LastRequest(); rec.Model != flash || rec.Action != "chat/completions" || rec.Key != goodKey {
			t.Fatalf("recorded %+v", rec)
		}
	})
	t.Run("tool call", func(t *testing.T) {
		_, raw := f.post(chatPath, `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"call get_weather"}],
			"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"location":{"type":"string"}}}}}]}`, key)
		var cc chatResult
		if err := json.Unmarshal(raw, &cc); err != nil {
			t.Fatal(err)
		}
		ch := cc.Choices[0]
		if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 1 ||
			ch.Message.ToolCalls[0].Function.Arguments != `{"location":"Paris"}` || ch.Message.ToolCalls[0].Type != "function" {
			t.Fatalf("%s", raw)
		}
	})
	t.Run("empty omits content", func(t *testing.T) {
		_, raw := f.post(chatPath, `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"x"}]}`, withBearer("empty"))
		var cc chatResult
		if err := json.Unmarshal(raw, &cc); err != nil || cc.Choices[0].Message.Content != nil {
			t.Fatalf("%s", raw)
		}
	})
	for _, includeUsage := range []bool{false, true} {
		t.Run("stream usage="+strconv.FormatBool(includeUsage), func(t *testing.T) {
			resp, raw := f.post(chatPath, `{"model":"gemini-2.5-flash","stream":true,"stream_options":{"include_usage":`+
				strconv.FormatBool(includeUsage)+`},"messages":[{"role":"user","content":"stream please"}]}`, key)
			if resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
			checkOpenAIStream(t, string(raw), includeUsage)
		})
	}
	t.Run("embeddings", func(t *testing.T) {
		_, raw := f.post("/v1beta/openai/embeddings", `{"model":"text-embedding-004","input":["a","b"],"dimensions":16}`, key)
		var out struct {
			Object string `json:"object"`
			Data   []struct {
				Object    string    `json:"object"`
				Index     int       `json:"index"`
				Embedding []float64 `json:"embedding"`
			} `json:"data"`
			Model string `json:"model"`
			Usage struct {
				PromptTokens int `json:"prompt_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal(raw, &out); err != nil || out.Object != "list" || len(out.Data) != 2 ||
			out.Data[1].Index != 1 || len(out.Data[1].Embedding) != 16 || out.Data[0].Object != "embedding" || out.Usage.PromptTokens == 0 {
			t.Fatalf("%s", raw)
		}
		resp, raw := f.post("/v1beta/openai/embeddings", `{"model":"text-embedding-004","input":3}`, key)
		expectError(t, resp, raw, 400, "INVALID_ARGUMENT", true)
	})
}

func checkOpenAIStream(t *testing.T, s string, includeUsage bool) {
	t.Helper()
	if !strings.HasSuffix(s, "data: [DONE]\n\n") || strings.Contains(s, "\r") {
		t.Fatalf("framing %q", s)
	}
	var text strings.Builder
	var usageSeen bool
	events := strings.Split(strings.TrimSuffix(s, "data: [DONE]\n\n"), "\n\n")
	events = events[:len(events)-1]
	for i, ev := range events {
		data, ok := strings.CutPrefix(ev, "data: ")
		var cc chatResult
		if !ok || json.Unmarshal([]byte(data), &cc) != nil || cc.Object != "chat.completion.chunk" {
			t.Fatalf("event %d %q", i, ev)
		}
		if cc.Usage != nil {
			usageSeen = true
			if len(cc.Choices) != 0 || i != len(events)-1 {
				t.Fatalf("usage chunk %q", ev)
			}
			continue
		}
		if d := cc.Choices[0].Delta; d != nil && d.Content != nil {
			text.WriteString(*d.Content)
		}
	}
	if text.String() != "echo: stream please" || usageSeen != includeUsage {
		t.Fatalf("text %q usage %v in %q", text.String(), usageSeen, s)
	}
}

func TestRecording(t *testing.T) {
	fu := New(Config{})
	hit := func(query string) {
		req := httptest.NewRequest(http.MethodPost, genPath+"?"+query, strings.NewReader(helloBody))
		req.Header.Set("x-goog-api-key", "rec")
		fu.ServeHTTP(httptest.NewRecorder(), req)
	}
	if _, ok := fu.LastRequest(); ok {
		t.Fatal("LastRequest on a fresh server")
	}
	for i := range recordLimit + 5 {
		hit("n=" + strconv.Itoa(i))
	}
	reqs := fu.Requests()
	if len(reqs) != recordLimit || reqs[0].RawQuery != "n=5" || reqs[len(reqs)-1].RawQuery != "n=1004" {
		t.Fatalf("%d records, first %q last %q", len(reqs), reqs[0].RawQuery, reqs[len(reqs)-1].RawQuery)
	}
	last, ok := fu.LastRequest()
	if !ok || last.RawQuery != "n=1004" || last.Key != "rec" || last.Model != flash || last.Action != "generateContent" ||
		last.Method != http.MethodPost || last.Path != genPath || string(last.Body) != helloBody || last.Header.Get("x-goog-api-key") != "rec" {
		t.Fatalf("last %+v", last)
	}
	if fu.Calls("rec") != recordLimit+5 || fu.TotalCalls() != recordLimit+5 || fu.Calls("other") != 0 {
		t.Fatalf("calls %d total %d", fu.Calls("rec"), fu.TotalCalls())
	}
	fu.Reset()
	if fu.TotalCalls() != 0 || fu.Calls("rec") != 0 || len(fu.Requests()) != 0 || fu.Cancelled() != 0 {
		t.Fatal("Reset left state behind")
	}
	if _, ok := fu.LastRequest(); ok {
		t.Fatal("LastRequest after Reset")
	}
	hit("n=x")
	if r, _ := fu.LastRequest(); r.RawQuery != "n=x" {
		t.Fatalf("after Reset %+v", r)
	}
}

func TestConcurrentUse(t *testing.T) {
	f := newFixture(t, Config{KeysByName: true, StreamChunks: 2})
	f.fu.SetStreamHook(func(context.Context, int) {})
	const workers, perWorker = 8, 40
	paths := []struct{ path, body string }{
		{genPath, helloBody},
		{strmPath + "?alt=sse", helloBody},
		{"/v1beta/models/text-embedding-004:embedContent", `{"content":{"parts":[{"text":"x"}]}}`},
		{"/v1beta/models/" + flash + ":countTokens", helloBody},
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			key := "worker-" + strconv.Itoa(w)
			for i := range perWorker {
				p := paths[i%len(paths)]
				req, _ := http.NewRequest(http.MethodPost, f.srv.URL+p.path, strings.NewReader(p.body))
				req.Header.Set("x-goog-api-key", key)
				resp, err := f.srv.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Go(func() {
		for i := range perWorker {
			f.fu.SetBehavior("worker-0", Behavior(i%2)*Overloaded)
			f.fu.Requests()
			f.fu.LastRequest()
			f.fu.Calls("worker-1")
			f.fu.Cancelled()
		}
	})
	wg.Wait()
	if got := f.fu.TotalCalls(); got != workers*perWorker {
		t.Fatalf("total %d, want %d", got, workers*perWorker)
	}
	for w := range workers {
		if got := f.fu.Calls("worker-" + strconv.Itoa(w)); got != perWorker {
			t.Fatalf("worker %d: %d calls", w, got)
		}
	}
}

func BenchmarkGenerateContent(b *testing.B) {
	fu := New(Config{})
	body := []byte(helloBody)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, genPath, bytes.NewReader(body))
			req.Header.Set("x-goog-api-key", goodKey)
			fu.ServeHTTP(httptest.NewRecorder(), req)
		}
	})
}

// Delay scripts the wait of each quota-spending call by its number and key, and reports a client that
// left during it; other routes keep Latency.
func TestDelayScriptAndAbandon(t *testing.T) {
	type seen struct {
		n   int
		key string
	}
	delays := make(chan seen, 4)
	abandoned := make(chan seen, 1)
	fu := New(Config{
		Delay: func(n int, key string) time.Duration {
			delays <- seen{n, key}
			if n == 2 {
				return time.Hour
			}
			return 0
		},
		OnAbandon: func(n int, key string) { abandoned <- seen{n, key} },
	})
	serve := func(ctx context.Context, key string) *httptest.ResponseRecorder {
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, genPath, strings.NewReader(helloBody))
		req.Header.Set("x-goog-api-key", key)
		rec := httptest.NewRecorder()
		fu.ServeHTTP(rec, req)
		return rec
	}
	if rec := serve(t.Context(), "a"); rec.Code != http.StatusOK {
		t.Fatalf("first call: %d %s", rec.Code, rec.Body)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- serve(ctx, "b") }()
	if d := <-delays; d != (seen{1, "a"}) {
		t.Fatalf("first delay %+v", d)
	}
	if d := <-delays; d != (seen{2, "b"}) {
		t.Fatalf("second delay %+v", d)
	}
	cancel()
	if a := <-abandoned; a != (seen{2, "b"}) || fu.Abandoned() != 1 {
		t.Fatalf("abandoned %+v (count %d)", a, fu.Abandoned())
	}
	if rec := <-done; rec.Body.Len() != 0 {
		t.Fatalf("answered a departed client: %s", rec.Body)
	}
	req := httptest.NewRequest(http.MethodGet, "/v1beta/models", nil)
	req.Header.Set("x-goog-api-key", "a")
	fu.ServeHTTP(httptest.NewRecorder(), req)
	if len(delays) != 0 {
		t.Fatal("Delay applied to a route that spends no quota")
	}
}
