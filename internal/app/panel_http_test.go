package app_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/testutil"
)

// panelSession is a browser's login: the session cookie and the page's CSRF token.
type panelSession struct {
	cookie string
	csrf   string
}

var (
	cookiePattern = regexp.MustCompile(`(gemgate_(?:login|session))=([^;]+)`)
	csrfPattern   = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)
	loginPattern  = regexp.MustCompile(`name="login_csrf" value="([^"]+)"`)
)

func setCookie(r result, name string) string {
	for _, c := range r.header.Values("Set-Cookie") {
		if m := cookiePattern.FindStringSubmatch(c); m != nil && m[1] == name {
			return m[2]
		}
	}
	return ""
}

// doNoRedirect is do without following redirects, to see where a page sends the browser.
func (h *harness) doNoRedirect(method, path string, body string, header map[string]string) result {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: b}
}

// login goes through the login form as a browser does.
func (h *harness) login() panelSession { return h.loginWith(adminToken) }

func (h *harness) loginWith(token string) panelSession {
	h.t.Helper()
	r := h.loginAs(token, "")
	sc := setCookie(r, "gemgate_session")
	if r.status != http.StatusSeeOther || sc == "" {
		h.t.Fatalf("login: %d, session cookie %q", r.status, sc)
	}
	s := panelSession{cookie: "gemgate_session=" + sc}
	keys := h.do("GET", "/keys", nil, map[string]string{"Cookie": s.cookie})
	cm := csrfPattern.FindSubmatch(keys.body)
	if keys.status != 200 || cm == nil {
		h.t.Fatalf("/keys after login: %d", keys.status)
	}
	s.csrf = string(cm[1])
	return s
}

func (s panelSession) header(csrf string) map[string]string {
	h := map[string]string{"Cookie": s.cookie}
	if csrf != "" {
		h["X-CSRF-Token"] = csrf
	}
	return h
}

// expiredSession stores a session whose time is up, as one left from yesterday.
func (h *harness) expiredSession() panelSession {
	h.t.Helper()
	id := strings.Repeat("A", 43)
	sum := sha256.Sum256([]byte(id))
	st := h.app.Store
	var tag, csrf string
	if err := st.DB().QueryRow("SELECT auth_tag, csrf_token FROM t_admin_sessions").Scan(&tag, &csrf); err != nil {
		h.t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour).Unix()
	_, err := st.DB().Exec(st.Rebind("INSERT INTO t_admin_sessions (id_hash, csrf_token, auth_tag, user_agent, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)"),
		hex.EncodeToString(sum[:]), csrf, tag, "", past-3600, past)
	if err != nil {
		h.t.Fatal(err)
	}
	return panelSession{cookie: "gemgate_session=" + id, csrf: csrf}
}

// concrete turns a route pattern into a request line: {name} parameters become "1".
func concrete(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	return method, regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(path, "1")
}

// Every admin route, whoever registered it, wants a live session (and for changes its CSRF token) or
// the admin token; nothing else gets through.
func TestAdminRoutesNeedAuthorization(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	s := h.login()
	expired := h.expiredSession()
	routes := h.app.Admin.Routes()
	if len(routes) < 30 {
		t.Fatalf("only %d admin routes registered: %v", len(routes), routes)
	}
	denied := func(r result) bool { return r.status == 401 || r.status == 403 }
	for _, pattern := range routes {
		method, path := concrete(pattern)
		if r := h.do(method, path, nil, nil); r.status != 401 {
			t.Errorf("%s without credentials: %d", pattern, r.status)
		}
		if r := h.do(method, path, nil, map[string]string{"Authorization": "Bearer " + clientToken}); r.status != 401 {
			t.Errorf("%s with a client token: %d", pattern, r.status)
		}
		if r := h.do(method, path, nil, expired.header(expired.csrf)); r.status != 401 {
			t.Errorf("%s with an expired session: %d", pattern, r.status)
		}
		if method != "GET" {
			if r := h.do(method, path, nil, s.header("")); r.status != 403 {
				t.Errorf("%s without the CSRF token: %d", pattern, r.status)
			}
			if r := h.do(method, path, nil, s.header("forged-"+s.csrf)); r.status != 403 {
				t.Errorf("%s with a wrong CSRF token: %d", pattern, r.status)
			}
		}
		if r := h.do(method, path, nil, s.header(s.csrf)); denied(r) {
			t.Errorf("%s with a session: %d %s", pattern, r.status, r.body)
		}
		if r := h.do(method, path, nil, adminHeader); denied(r) {
			t.Errorf("%s with the admin token: %d %s", pattern, r.status, r.body)
		}
	}
}

// Changing AUTH_TOKEN (here through the API, as another admin might) ends every panel session.
func TestPanelSessionsEndWithTokenChange(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	s := h.login()
	r := h.do("PUT", "/api/config", map[string]any{"AUTH_TOKEN": "sk-new-admin-token-0000000000000000"}, s.header(s.csrf))
	if r.status != 200 {
		t.Fatalf("changing the token: %d %s", r.status, r.body)
	}
	if r := h.do("GET", "/api/keys/status", nil, s.header("")); r.status != 401 {
		t.Fatalf("the old session still reads the API: %d", r.status)
	}
	if r := h.doNoRedirect("GET", "/config", "", s.header("")); r.status != http.StatusSeeOther {
		t.Fatalf("the old session still opens pages: %d", r.status)
	}
}

// A model name is whatever a client sends. It lands in the error log and must come back as data: JSON
// escapes it, and no page renders it as markup (the pages show log data through textContent only,
// which the browser test checks).
func TestHostileLogContentsStayData(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	s := h.login()
	h.generate(url.PathEscape(hostileModel), "hi")
	var list result
	testutil.Eventually(t, "the error log entry", func() bool {
		list = h.do("GET", "/api/logs/errors?model="+url.QueryEscape(hostileModel), nil, s.header(""))
		return list.status == 200 && strings.Contains(string(list.body), `"total":1`)
	})
	id := regexp.MustCompile(`"id":(\d+)`).FindSubmatch(list.body)[1]
	details := h.do("GET", "/api/logs/errors/"+string(id)+"/details", nil, s.header(""))
	for _, r := range []result{list, details} {
		if strings.Contains(string(r.body), "<img") || !strings.Contains(string(r.body), `\u003cimg src=x onerror=alert(1)\u003e`) {
			t.Fatalf("log JSON does not escape the model name: %s", r.body)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("log JSON served as %q", ct)
		}
	}
	for _, page := range []string{"/logs", "/keys", "/config"} {
		r := h.do("GET", page, nil, s.header(""))
		if r.status != 200 || strings.Contains(string(r.body), "onerror") {
			t.Fatalf("%s: %d, or it carries the log data", page, r.status)
		}
	}
}

func TestPanelKeyRoutes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{Keys: map[string]fakeupstream.Behavior{badKey: fakeupstream.Invalid}},
		map[string]string{"API_KEYS": goodKey(0) + "," + goodKey(1) + "," + badKey})
	h.do("POST", "/api/keys/verify", map[string]any{"ids": []string{secret.ID(badKey)}}, adminHeader)
	k1, _ := h.app.Pool.Lookup(goodKey(1))
	h.app.Pool.CoolDown(k1, "gemini-2.5-pro", time.Now().Add(time.Hour), "quota")
	h.do("POST", "/api/keys/meta", map[string]any{"ids": []string{secret.ID(goodKey(0))}, "tags": []string{"paid"}}, adminHeader)

	status := func(q string) map[string]any { return h.do("GET", "/api/keys/status?"+q, nil, adminHeader).json(t) }
	all := status("")
	if all["total"].(float64) != 3 || all["cooling"].(float64) != 1 || all["disabled"].(float64) != 1 {
		t.Fatalf("totals: %v", all)
	}
	for q, want := range map[string]string{
		"status=cooling":                    secret.ID(goodKey(1)),
		"status=disabled":                   secret.ID(badKey),
		"search=PAID":                       secret.ID(goodKey(0)),
		"search=" + secret.ID(badKey)[:6]:   secret.ID(badKey),
		"search=" + url.QueryEscape(badKey): secret.ID(badKey), // a pasted full key finds itself
		"search=000b&status=usable":         secret.ID(goodKey(1)),
		"status=usable&search=" + goodKey(0)[len(goodKey(0))-4:]: secret.ID(goodKey(0)),
	} {
		r := status(q)
		keys := r["keys"].([]any)
		if r["matching"].(float64) != 1 || len(keys) != 1 || keys[0].(map[string]any)["id"] != want {
			t.Errorf("%s: %v", q, r)
		}
	}
	ids := h.do("GET", "/api/keys/ids?status=usable", nil, adminHeader).json(t)
	if ids["count"].(float64) != 2 {
		t.Fatalf("ids of usable keys: %v", ids)
	}
	cp := h.do("POST", "/api/keys/copy", map[string]any{"ids": []string{secret.ID(badKey), "nope"}}, adminHeader).json(t)
	if keys := cp["keys"].([]any); len(keys) != 1 || keys[0] != badKey || cp["not_found"].([]any)[0] != "nope" {
		t.Fatalf("copy: %v", cp)
	}
	del := h.do("POST", "/api/keys/delete-text", map[string]any{"text": "drop " + badKey + " and AIzaSyNotThere0000000000000000000000000"}, adminHeader).json(t)
	if del["deleted"].(float64) != 1 || del["not_found"].(float64) != 1 || del["total"].(float64) != 2 {
		t.Fatalf("delete by text: %v", del)
	}
	if _, ok := h.app.Pool.Lookup(badKey); ok {
		t.Fatal("the deleted key is still in the pool")
	}
}

func TestPanelConfigRoutes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"MAX_RETRIES": "4", "PAID_KEY": "AIzaSyPaid0000000000000000000000000000"})
	h.do("PUT", "/api/config", map[string]any{"MAX_RETRIES": 6}, adminHeader)
	schema := h.do("GET", "/api/config/schema", nil, adminHeader)
	var got struct {
		Groups []struct {
			ID    string
			Title struct{ EN, ZH string }
		}
		Settings []map[string]any
	}
	if err := json.Unmarshal(schema.body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Groups) != len(config.Groups) || got.Groups[0].Title.ZH == "" || len(got.Settings) != len(config.All()) {
		t.Fatalf("schema: %d groups, %d settings", len(got.Groups), len(got.Settings))
	}
	byName := map[string]map[string]any{}
	for _, s := range got.Settings {
		byName[s["name"].(string)] = s
	}
	retries := byName["MAX_RETRIES"]
	if retries["env_value"] != "4" || retries["env_differs"] != true || retries["max"].(float64) != 100 || retries["help"].(map[string]any)["zh"] == "" {
		t.Fatalf("MAX_RETRIES schema: %v", retries)
	}
	paid := byName["PAID_KEY"]
	if _, shown := paid["env_value"]; shown || paid["env_set"] != true || strings.Contains(string(schema.body), "AIzaSyPaid") {
		t.Fatalf("the schema shows a secret: %v", paid)
	}
	if byName["SAFETY_SETTINGS"]["item_options"] == nil || byName["TEST_MODEL"]["widget"] != "model" || !reflect.DeepEqual(byName["SMMS_SECRET_TOKEN"]["shown_when"], map[string]any{"setting": "UPLOAD_PROVIDER", "value": "smms"}) {
		t.Fatal("widget hints are missing")
	}
	// Secrets stay masked until asked for by name.
	if strings.Contains(string(h.do("GET", "/api/config", nil, adminHeader).body), "AIzaSyPaid") {
		t.Fatal("GET /api/config shows PAID_KEY")
	}
	rev := h.do("POST", "/api/config/reveal", map[string]any{"names": []string{"PAID_KEY"}}, adminHeader).json(t)
	if rev["values"].(map[string]any)["PAID_KEY"] != "AIzaSyPaid0000000000000000000000000000" {
		t.Fatalf("reveal: %v", rev)
	}
	models := h.do("GET", "/api/config/models", nil, adminHeader)
	if models.status != 200 || !strings.Contains(string(models.body), `"name":"gemini-2.5-flash"`) {
		t.Fatalf("models: %d %s", models.status, models.body)
	}
}

// Proxy checks go through the proxy to BASE_URL's host, name the proxy without its password, and
// bound each check.
func TestProxyCheck(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	var mu sync.Mutex
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.String())
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(proxy.Close)
	one := h.do("POST", "/api/config/proxy/check", map[string]any{"proxy": proxy.URL}, adminHeader).json(t)
	mu.Lock()
	got := append([]string(nil), seen...)
	mu.Unlock()
	if one["is_available"] != true || len(got) != 1 || !strings.HasPrefix(got[0], "HEAD "+h.up.URL) {
		t.Fatalf("check through a working proxy: %v, proxy saw %v", one, got)
	}
	dead := "http://user:hunter2@127.0.0.1:1"
	all := h.do("POST", "/api/config/proxy/check-all", map[string]any{"proxies": []string{proxy.URL, dead, "ftp://nope"}}, adminHeader)
	if strings.Contains(string(all.body), "hunter2") {
		t.Fatalf("a proxy password came back: %s", all.body)
	}
	res := all.json(t)["results"].([]any)
	if len(res) != 3 || res[0].(map[string]any)["is_available"] != true || res[1].(map[string]any)["is_available"] != false ||
		!strings.Contains(res[2].(map[string]any)["error_message"].(string), "Invalid proxy format") {
		t.Fatalf("check-all: %s", all.body)
	}
	// Without a list, the configured PROXIES are checked without being revealed.
	h.do("PUT", "/api/config", map[string]any{"PROXIES": []string{dead}}, adminHeader)
	cfg := h.do("POST", "/api/config/proxy/check-all", map[string]any{}, adminHeader)
	if strings.Contains(string(cfg.body), "hunter2") || !strings.Contains(string(cfg.body), `"index":0`) {
		t.Fatalf("check of the configured proxies: %s", cfg.body)
	}
}

// The panel answers its own paths only; anything else keeps the API's JSON 404.
func TestPanelLeavesOtherPathsAlone(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	for _, path := range []string{"/nope", "/keys/extra", "/config.json", "/logs/1"} {
		r := h.doNoRedirect("GET", path, "", nil)
		if r.status != 404 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Errorf("GET %s: %d %s", path, r.status, r.header.Get("Content-Type"))
		}
	}
	if r := h.doNoRedirect("GET", "/static/app.css", "", nil); r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d %s", r.status, r.header.Get("Content-Type"))
	}
	if r := h.doNoRedirect("GET", "/", "", nil); r.status != 200 || r.header.Get("X-Frame-Options") != "SAMEORIGIN" {
		t.Errorf("login page: %d, X-Frame-Options %q", r.status, r.header.Get("X-Frame-Options"))
	}
}
