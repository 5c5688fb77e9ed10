package upstream

import (
	"testing"

	"github.com/gemgate/gemgate/internal/rpcstatus"
)

// The blame table, answer by answer: real bodies from public reports (peers-and-demand.md §3) and the
// fake upstream.
func TestClassifyBlameTable(t *testing.T) {
	info := func(reason string) string {
		return `,"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"` + reason + `","domain":"googleapis.com"}]`
	}
	cases := []struct {
		status int
		body   string
		want   Class
	}{
		{200, `{}`, OK},
		{400, `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"` + info("API_KEY_INVALID") + `}}`, KeyInvalid},
		{400, `{"error":{"code":400,"message":"API key expired. Please renew the API key.","status":"INVALID_ARGUMENT"}}`, KeyInvalid},
		{400, `{"error":{"code":400,"message":"* GenerateContentRequest.contents: contents is not specified","status":"INVALID_ARGUMENT"}}`, ClientError},
		{400, `{"error":{"code":400,"message":"User location is not supported for the API use.","status":"FAILED_PRECONDITION"}}`, Egress},
		{400, `{"error":{"code":400,"message":"Gemini API free tier is not available in your country. Please enable billing on your project in Google AI Studio.","status":"FAILED_PRECONDITION"}}`, Egress},
		{400, `{"error":{"code":400,"message":"Tool use with a response mime type: 'application/json' is unsupported","status":"INVALID_ARGUMENT"}}`, ClientError},
		{403, `{"error":{"code":403,"message":"Permission denied: Consumer 'api_key:AIza' has been suspended.","status":"PERMISSION_DENIED"` + info("CONSUMER_SUSPENDED") + `}}`, KeyInvalid},
		{403, `{"error":{"code":403,"message":"Generative Language API has not been used in project 1 before or it is disabled.","status":"PERMISSION_DENIED"` + info("SERVICE_DISABLED") + `}}`, KeyInvalid},
		{403, `{"error":{"code":403,"message":"Requests to this API generativelanguage.googleapis.com method google.ai.generativelanguage.v1beta.GenerativeService.StreamGenerateContent are blocked.","status":"PERMISSION_DENIED"` + info("API_KEY_SERVICE_BLOCKED") + `}}`, KeyInvalid},
		{403, `{"error":{"code":403,"message":"This service has been disabled in this account for violation of Terms of Service.","status":"PERMISSION_DENIED"}}`, KeyInvalid},
		{403, `{"error":{"code":403,"message":"You do not have permission to access the File zzzznotmine01 or it may not exist.","status":"PERMISSION_DENIED"}}`, ClientError},
		{403, `{"error":{"code":403,"message":"CachedContent not found (or permission denied)","status":"PERMISSION_DENIED"}}`, ClientError},
		{403, `{"error":{"code":403,"message":"Permission denied on resource tunedModels/my-model (or it may not exist).","status":"PERMISSION_DENIED"}}`, ClientError},
		{403, `{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}}`, KeySuspect},
		{403, `{"error":{"code":403,"message":"Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.","status":"PERMISSION_DENIED"}}`, KeySuspect},
		{401, `{"error":{"code":401,"status":"UNAUTHENTICATED"}}`, KeySuspect},
		{401, `{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"` + info("ACCESS_TOKEN_TYPE_UNSUPPORTED") + `}}`, KeySuspect},
		{404, `{"error":{"code":404,"message":"models/gemini-9 is not found for API version v1beta","status":"NOT_FOUND"}}`, ClientError},
		{404, `{"error":{"code":404,"status":"NOT_FOUND"}}`, ClientError},
		{413, `request too large`, ClientError},
		{408, ``, Transient},
		{429, bareBody, RateLimited},
		{500, `{"error":{"code":500,"status":"INTERNAL"}}`, Transient},
		{503, `{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`, Overloaded},
		{504, `<html>gateway</html>`, Transient},
	}
	for _, c := range cases {
		if got := Classify(c.status, rpcstatus.Parse([]byte(c.body))); got != c.want {
			t.Errorf("%d %.70s: %v, want %v", c.status, c.body, got, c.want)
		}
	}
}

func TestRequestSizedQuota(t *testing.T) {
	body := `{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[` +
		`{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_input_token_count","quotaId":"GenerateContentInputTokensPerModelPerMinute-FreeTier","quotaValue":"250000"}]}]}}`
	if q := ReadQuota(rpcstatus.Parse([]byte(body))); q.InputLimit != 250000 || q.Window != windowMinute {
		t.Fatalf("input-token quota read as %+v", q)
	}
	mixed := `{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[` +
		`{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_input_token_count","quotaId":"GenerateContentInputTokensPerModelPerMinute-FreeTier","quotaValue":"250000"},` +
		`{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier","quotaValue":"10"}]}]}}`
	if q := ReadQuota(rpcstatus.Parse([]byte(mixed))); q.InputLimit != 0 {
		t.Fatalf("a 429 that also names the request quota is the key's: %+v", q)
	}
	if n := promptTokens([]byte(`{"contents":[{"parts":[{"text":"abcdefgh"},{"inlineData":{"data":"AAAA"}}]}]}`)); n != 2+inlineTokens {
		t.Fatalf("estimate %d", n)
	}
}
