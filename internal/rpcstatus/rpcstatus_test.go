package rpcstatus

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"
)

const quota429 = `{"error":{"code":429,"message":"You exceeded your current quota. Please retry in 37.5s.","status":"RESOURCE_EXHAUSTED","details":[
 {"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier","quotaDimensions":{"location":"global","model":"gemini-2.5-pro"},"quotaValue":"250"}]},
 {"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},
 {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"26s"}]}}`

func TestParseQuota(t *testing.T) {
	p := Parse([]byte(quota429))
	if !p.OK || p.Code != 429 || p.Status.Status != "RESOURCE_EXHAUSTED" {
		t.Fatalf("%+v", p)
	}
	if p.RetryDelay != 26*time.Second {
		t.Fatalf("retry %v", p.RetryDelay)
	}
	if len(p.Violations) != 1 || p.Violations[0].QuotaDimensions["model"] != "gemini-2.5-pro" {
		t.Fatalf("violations %+v", p.Violations)
	}
}

func TestParseShapes(t *testing.T) {
	invalid := `[{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}]`
	if p := Parse([]byte(invalid)); !p.HasReason("API_KEY_INVALID") {
		t.Fatalf("array form not read: %+v", p)
	}
	for _, bad := range []string{"", "null", "[]", "{}", `{"error":"x"}`, "<html>", `[1]`} {
		if p := Parse([]byte(bad)); p.OK {
			t.Errorf("Parse(%q) OK", bad)
		}
	}
	msgOnly := `{"error":{"code":429,"message":"Please retry in 1.5s.","status":"RESOURCE_EXHAUSTED"}}`
	if p := Parse([]byte(msgOnly)); p.RetryDelay != 1500*time.Millisecond {
		t.Fatalf("message retry %v", p.RetryDelay)
	}
}

func TestWrite(t *testing.T) {
	rec := httptest.NewRecorder()
	Write(rec, 401, "missing token")
	var env struct{ Error Status }
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 401 || env.Error.Status != "UNAUTHENTICATED" || env.Error.Message != "missing token" || env.Error.Code != 401 {
		t.Fatalf("%d %+v", rec.Code, env)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(quota429))
	f.Add([]byte(`[{"error":{"code":1}}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = Parse(b)
	})
}
