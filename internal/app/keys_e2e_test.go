package app_test

import (
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/secret"
)

func TestKeyAdminAddVerifyEnableDisableExportDelete(t *testing.T) {
	t.Parallel()
	bad := "AIzaSyBad000000000000000000000000000000"
	h := newHarness(t, fakeupstream.Config{Keys: map[string]fakeupstream.Behavior{bad: fakeupstream.Invalid}},
		map[string]string{"API_KEYS": goodKey(0)})
	pasted := "here are my keys:\n" + goodKey(1) + " , " + goodKey(1) + "\n" + bad + "\n" + goodKey(0) + " and junk AIzaShort"
	r := h.do("POST", "/api/keys/add", map[string]any{"text": pasted}, adminHeader).json(t)
	if r["added"].(float64) != 2 || r["duplicates"].(float64) != 2 || r["total"].(float64) != 3 {
		t.Fatalf("add: %v", r)
	}
	// The invalid key is found out by a verify and disabled; good keys stay.
	v := h.do("POST", "/api/keys/verify", map[string]any{"all": true}, adminHeader).json(t)
	if v["valid"].(float64) != 2 || v["invalid"].(float64) != 1 {
		t.Fatalf("verify: %v", v)
	}
	// The failed check says what Google said about the key (400, "API key not valid"), not the 502 a
	// client would get when no key can serve it.
	for _, res := range v["results"].([]any) {
		res := res.(map[string]any)
		if res["valid"] == true {
			continue
		}
		if res["status"].(float64) != 400 || !strings.Contains(res["error"].(string), "API key not valid") {
			t.Fatalf("a failed check in the gateway's words: %v", res)
		}
	}
	if st := h.do("GET", "/api/keys/status?status=disabled", nil, adminHeader).json(t); st["disabled"].(float64) != 1 {
		t.Fatalf("status after verify: %v", st)
	}
	// Google fixes the key (say, the project was restored): verify brings it back.
	h.fake.SetBehavior(bad, fakeupstream.OK)
	v = h.do("POST", "/api/keys/verify", map[string]any{"ids": []string{secret.ID(bad)}}, adminHeader).json(t)
	if v["valid"].(float64) != 1 {
		t.Fatalf("re-verify: %v", v)
	}
	if st := h.do("GET", "/api/keys/status", nil, adminHeader).json(t); st["usable"].(float64) != 3 {
		t.Fatalf("revived key not usable: %v", st)
	}
	h.do("POST", "/api/keys/disable", map[string]any{"ids": []string{secret.ID(goodKey(0))}}, adminHeader)
	h.fake.Reset()
	for range 4 {
		h.generate("gemini-2.5-flash", "hi")
	}
	if h.fake.Calls(goodKey(0)) != 0 {
		t.Fatal("a disabled key was used")
	}
	exp := h.do("GET", "/api/keys/export?status=disabled", nil, adminHeader)
	if strings.TrimSpace(string(exp.body)) != goodKey(0) {
		t.Fatalf("export: %q", exp.body)
	}
	h.do("POST", "/api/keys/enable", map[string]any{"ids": []string{secret.ID(goodKey(0))}}, adminHeader)
	d := h.do("POST", "/api/keys/delete", map[string]any{"ids": []string{secret.ID(bad), "nope"}}, adminHeader).json(t)
	if d["deleted"].(float64) != 1 || d["total"].(float64) != 2 {
		t.Fatalf("delete: %v", d)
	}
	if st := h.do("GET", "/api/keys/status", nil, adminHeader).json(t); st["total"].(float64) != 2 || st["usable"].(float64) != 2 {
		t.Fatalf("after delete: %v", st)
	}
	// Key routes are admin-only, like every /api route.
	if r := h.do("POST", "/api/keys/verify", map[string]any{"all": true}, tokenHeader); r.status != 401 {
		t.Fatalf("client token reached key admin: %d", r.status)
	}
}

func TestModelKeyTagsAndSharedProjectCooldowns(t *testing.T) {
	t.Parallel()
	paid, free1, free2 := goodKey(0), goodKey(1), goodKey(2)
	h := newHarness(t, fakeupstream.Config{}, map[string]string{
		"API_KEYS":       paid + "," + free1 + "," + free2,
		"MODEL_KEY_TAGS": `{"gemini-2.5-pro*": "paid"}`,
	})
	h.do("POST", "/api/keys/meta", map[string]any{"ids": []string{secret.ID(paid)}, "tags": []string{"paid"}, "weight": 1}, adminHeader)
	h.do("POST", "/api/keys/meta", map[string]any{"ids": []string{secret.ID(free1), secret.ID(free2)}, "tags": []string{"Free"}, "project": "proj-a"}, adminHeader)
	for range 6 {
		if r := h.generate("gemini-2.5-pro", "hi"); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	if h.fake.Calls(paid) != 6 || h.fake.Calls(free1)+h.fake.Calls(free2) != 0 {
		t.Fatalf("pro served by non-paid keys: paid %d free %d/%d", h.fake.Calls(paid), h.fake.Calls(free1), h.fake.Calls(free2))
	}
	for range 6 {
		h.generate("gemini-2.5-flash", "hi")
	}
	if h.fake.Calls(free1) == 0 || h.fake.Calls(free2) == 0 {
		t.Fatal("flash did not use every key")
	}
	// Keys of one project share quota: a 429 on one cools the other for that model too.
	h.fake.SetBehavior(free1, fakeupstream.RateLimitMinute)
	h.fake.SetBehavior(free2, fakeupstream.RateLimitMinute)
	h.fake.Reset()
	for range 6 {
		if r := h.generate("gemini-2.5-flash-lite", "hi"); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	if n := h.fake.Calls(free1) + h.fake.Calls(free2); n != 1 {
		t.Fatalf("project keys hit %d times; one 429 should have cooled both", n)
	}
	st := h.do("GET", "/api/keys/status", nil, adminHeader).json(t)
	for _, k := range st["keys"].([]any) {
		m := k.(map[string]any)
		if m["id"] == secret.ID(free2) && (m["project"] != "proj-a" || m["tags"].([]any)[0] != "free") {
			t.Fatalf("meta not shown: %v", m)
		}
	}
	// Metadata survives a restart.
	h.restart(nil)
	h.fake.Reset()
	for range 3 {
		h.generate("gemini-2.5-pro", "hi")
	}
	if h.fake.Calls(paid) != 3 {
		t.Fatal("tags lost across restart")
	}
}

func TestRecheckJobRevivesKeysThatWorkAgain(t *testing.T) {
	t.Parallel()
	bad, manual := "AIzaSyBad000000000000000000000000000000", goodKey(1)
	h := newHarness(t, fakeupstream.Config{Keys: map[string]fakeupstream.Behavior{bad: fakeupstream.Invalid}},
		map[string]string{"API_KEYS": bad + "," + goodKey(0) + "," + manual})
	for range 3 {
		h.generate("gemini-2.5-flash", "hi")
	}
	h.do("POST", "/api/keys/disable", map[string]any{"ids": []string{secret.ID(manual)}}, adminHeader)
	if _, usable := h.app.Pool.Counts(); usable != 1 {
		t.Fatalf("usable %d", usable)
	}
	// Still broken: the job leaves it out.
	if r := h.do("POST", "/api/jobs/check_failed_keys/run?wait=true", nil, adminHeader); r.status != 200 {
		t.Fatalf("run job: %d %s", r.status, r.body)
	}
	if _, usable := h.app.Pool.Counts(); usable != 1 {
		t.Fatal("a key that still fails was revived")
	}
	h.fake.SetBehavior(bad, fakeupstream.OK)
	h.do("POST", "/api/jobs/check_failed_keys/run?wait=true", nil, adminHeader)
	k, _ := h.app.Pool.Lookup(bad)
	m, _ := h.app.Pool.Lookup(manual)
	if k.Disabled() || !m.Disabled() {
		t.Fatalf("after the job: bad disabled=%v, admin-disabled disabled=%v", k.Disabled(), m.Disabled())
	}
}
