package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/store"
	"github.com/gemgate/gemgate/internal/store/storetest"
	"github.com/gemgate/gemgate/internal/version"
)

type fixture struct {
	t        *testing.T
	p        *Panel
	settings *config.Manager
	release  version.Status
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := storetest.Open(t, store.SQLite)
	mgr, err := config.NewManager(map[string]string{"AUTH_TOKEN": token}, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, settings: mgr, release: version.Status{Current: "1.2.0"}}
	f.p, err = New(Options{Settings: mgr, Store: st, Version: "1.2.0",
		Releases: func() version.Status { return f.release }, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) do(r *http.Request) *http.Response {
	w := httptest.NewRecorder()
	f.p.ServeHTTP(w, r)
	return w.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func cookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// loginForm fetches the login page and returns a POST /auth carrying its double-submit token.
func (f *fixture) loginForm(authToken string, header http.Header) *http.Request {
	f.t.Helper()
	get := httptest.NewRequest("GET", "/", nil)
	for k, v := range header {
		get.Header[k] = v
	}
	resp := f.do(get)
	lc := cookie(resp, loginCookie)
	if lc == nil {
		f.t.Fatal("the login page set no login cookie")
	}
	if !strings.Contains(body(f.t, resp), `name="login_csrf" value="`+lc.Value+`"`) {
		f.t.Fatal("the login form does not carry the cookie's token")
	}
	form := url.Values{"auth_token": {authToken}, "login_csrf": {lc.Value}, "next": {"/config"}}
	r := httptest.NewRequest("POST", "/auth", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		r.Header[k] = v
	}
	r.AddCookie(lc)
	return r
}

func (f *fixture) login() *http.Cookie {
	f.t.Helper()
	resp := f.do(f.loginForm(token, nil))
	sc := cookie(resp, sessionCookie)
	if resp.StatusCode != http.StatusSeeOther || sc == nil {
		f.t.Fatalf("login: %d, cookie %v", resp.StatusCode, sc)
	}
	return sc
}

func TestLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	resp := f.do(f.loginForm(token, nil))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/config" {
		t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	sc := cookie(resp, sessionCookie)
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Secure || sc.MaxAge != 3600 || !validID(sc.Value) {
		t.Fatalf("session cookie: %+v", sc)
	}
	// The session opens the pages, which carry its CSRF token.
	r := httptest.NewRequest("GET", "/keys", nil)
	r.AddCookie(sc)
	resp = f.do(r)
	page := body(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(page, `<meta name="csrf-token" content="`) {
		t.Fatalf("/keys with a session: %d", resp.StatusCode)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") ||
		!strings.HasSuffix(csp, "frame-ancestors 'self' https://huggingface.co") {
		t.Fatalf("CSP: %q", csp)
	}
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(page, -1) {
		if !strings.Contains(tag, ` src="/static/`) && tag != `<script type="application/json" id="i18n">` {
			t.Fatalf("inline script %s: the CSP would block it", tag)
		}
	}
	// Over HTTPS (as a TLS-terminating proxy reports it) the cookie is Secure.
	resp = f.do(f.loginForm(token, http.Header{"X-Forwarded-Proto": {"https"}}))
	if sc := cookie(resp, sessionCookie); sc == nil || !sc.Secure || sc.SameSite != http.SameSiteLaxMode || sc.Partitioned {
		t.Fatalf("HTTPS cookie: %+v", sc)
	}
}

func TestLoginRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	resp := f.do(f.loginForm("wrong", nil))
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/?e=bad") || cookie(resp, sessionCookie) != nil {
		t.Fatalf("wrong token: %d to %q", resp.StatusCode, loc)
	}
	// A form posted from another site has no login cookie of ours.
	form := url.Values{"auth_token": {token}, "login_csrf": {"forged"}}
	r := httptest.NewRequest("POST", "/auth", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp = f.do(r)
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/?e=expired") || cookie(resp, sessionCookie) != nil {
		t.Fatalf("login without the form's cookie: %d to %q", resp.StatusCode, loc)
	}
	// The after-login target stays on our pages.
	get := httptest.NewRequest("GET", "/?next=https://evil.example/", nil)
	if page := body(t, f.do(get)); !strings.Contains(page, `name="next" value="/keys"`) {
		t.Fatal("the login form took an outside next")
	}
	// Unknown error codes show nothing; known ones show their text.
	if page := body(t, f.do(httptest.NewRequest("GET", "/?e=%3Cb%3E", nil))); strings.Contains(page, "login-error") {
		t.Fatal("an unknown error code was shown")
	}
	if page := body(t, f.do(httptest.NewRequest("GET", "/?e=bad", nil))); !strings.Contains(page, "Wrong admin token.") {
		t.Fatal("the wrong-token message is missing")
	}
}

func TestLoginThrottled(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for range freeFailures {
		f.do(f.loginForm("wrong", nil))
	}
	resp := f.do(f.loginForm(token, nil))
	page := body(t, resp)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "5" ||
		!strings.Contains(page, "Too many wrong tokens. Wait before trying again: 5 s") || cookie(resp, sessionCookie) != nil {
		t.Fatalf("after %d failures: %d, Retry-After %q", freeFailures, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// In Chinese too.
	r := f.loginForm(token, http.Header{"Accept-Language": {"zh-CN,zh;q=0.9"}})
	if page := body(t, f.do(r)); !strings.Contains(page, "错误次数过多") {
		t.Fatal("the throttle message is not translated")
	}
}

// FAQ 1: inside a Hugging Face Space the panel is a cross-site iframe. Over HTTPS the cookies become
// SameSite=None and Partitioned so they work there; over HTTP that is impossible and the page says so.
func TestLoginInFrame(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	framed := http.Header{"Sec-Fetch-Dest": {"iframe"}, "X-Forwarded-Proto": {"https"}}
	resp := f.do(f.loginForm(token, framed))
	sc := cookie(resp, sessionCookie)
	if sc == nil || sc.SameSite != http.SameSiteNoneMode || !sc.Secure || !sc.Partitioned || !sc.HttpOnly {
		t.Fatalf("framed HTTPS cookie: %+v", sc)
	}
	resp = f.do(f.loginForm(token, http.Header{"Sec-Fetch-Dest": {"iframe"}}))
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/?e=framehttp") || cookie(resp, sessionCookie) != nil {
		t.Fatalf("framed HTTP login: %d to %q", resp.StatusCode, loc)
	}
	if page := body(t, f.do(httptest.NewRequest("GET", "/?e=framehttp", nil))); !strings.Contains(page, "needs HTTPS") {
		t.Fatal("the framed-HTTP explanation is missing")
	}
	// A framed login whose cookie the browser dropped is explained, not called a stale form.
	form := url.Values{"auth_token": {token}, "login_csrf": {"x"}, "framed": {"1"}}
	r := httptest.NewRequest("POST", "/auth", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Forwarded-Proto", "https")
	if loc := f.do(r).Header.Get("Location"); !strings.HasPrefix(loc, "/?e=cookie") {
		t.Fatalf("blocked cookie in a frame led to %q", loc)
	}
}

func TestPagesNeedSession(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, path := range []string{"/keys", "/config", "/logs"} {
		resp := f.do(httptest.NewRequest("GET", path, nil))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?next="+url.QueryEscape(path) {
			t.Errorf("%s without a session: %d to %q", path, resp.StatusCode, resp.Header.Get("Location"))
		}
		r := httptest.NewRequest("GET", path, nil)
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: randomToken()})
		if resp := f.do(r); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s with an unknown session: %d", path, resp.StatusCode)
		}
	}
	// Logged in, the login page sends the admin on.
	r := httptest.NewRequest("GET", "/?next=/logs", nil)
	r.AddCookie(f.login())
	if resp := f.do(r); resp.Header.Get("Location") != "/logs" {
		t.Fatalf("login page with a session: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestCheckAndLogout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := f.login()
	id, sess, ok := f.p.current(withCookie(httptest.NewRequest("GET", "/keys", nil), sc))
	if !ok || id != sc.Value {
		t.Fatal("no session after login")
	}
	for _, tc := range []struct {
		header         string
		logged, csrfOK bool
	}{
		{"", true, false},
		{"wrong", true, false},
		{sess.csrf, true, true},
	} {
		r := withCookie(httptest.NewRequest("POST", "/api/keys/verify", nil), sc)
		if tc.header != "" {
			r.Header.Set(csrfHeader, tc.header)
		}
		if logged, csrfOK := f.p.Check(r); logged != tc.logged || csrfOK != tc.csrfOK {
			t.Errorf("Check with CSRF %q = %v, %v", tc.header, logged, csrfOK)
		}
	}
	if logged, _ := f.p.Check(httptest.NewRequest("GET", "/api/keys/status", nil)); logged {
		t.Fatal("Check without a cookie said logged in")
	}

	// Logout needs the CSRF token, so another site cannot log the admin out.
	resp := f.do(withCookie(httptest.NewRequest("POST", "/logout", nil), sc))
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("logout without CSRF: %d", resp.StatusCode)
	}
	form := url.Values{"csrf": {sess.csrf}}
	r := withCookie(httptest.NewRequest("POST", "/logout", strings.NewReader(form.Encode())), sc)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp = f.do(r)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?e=out" {
		t.Fatalf("logout: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if c := cookie(resp, sessionCookie); c == nil || c.MaxAge >= 0 {
		t.Fatalf("logout left the cookie: %+v", c)
	}
	if logged, _ := f.p.Check(withCookie(httptest.NewRequest("GET", "/api/keys/status", nil), sc)); logged {
		t.Fatal("the session works after logout")
	}
}

func TestTokenChangeEndsSessions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := f.login()
	if err := f.settings.Update(t.Context(), map[string]string{"AUTH_TOKEN": "sk-a-brand-new-admin-token-0000000"}); err != nil {
		t.Fatal(err)
	}
	if logged, _ := f.p.Check(withCookie(httptest.NewRequest("GET", "/api/config", nil), sc)); logged {
		t.Fatal("a session outlived the change of AUTH_TOKEN")
	}
}

func withCookie(r *http.Request, c *http.Cookie) *http.Request {
	r.AddCookie(c)
	return r
}

func TestLanguage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := f.login()
	r := withCookie(httptest.NewRequest("GET", "/keys", nil), sc)
	r.Header.Set("Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8")
	if page := body(t, f.do(r)); !strings.Contains(page, `<html lang="zh-CN">`) || !strings.Contains(page, "监控面板") {
		t.Fatal("Accept-Language zh did not give Chinese")
	}
	r = withCookie(httptest.NewRequest("GET", "/keys?lang=en", nil), sc)
	r.Header.Set("Accept-Language", "zh-CN")
	resp := f.do(r)
	if c := cookie(resp, langCookie); c == nil || c.Value != "en" || !strings.Contains(body(t, resp), `<html lang="en">`) {
		t.Fatal("the language switch did not stick")
	}
	r = withCookie(httptest.NewRequest("GET", "/config", nil), sc)
	r.AddCookie(&http.Cookie{Name: langCookie, Value: "zh"})
	if page := body(t, f.do(r)); !strings.Contains(page, "配置编辑") {
		t.Fatal("the language cookie was ignored")
	}
	for header, want := range map[string]string{"": "en", "fr-FR,fr;q=0.9": "en", "en-US": "en", "zh-TW": "zh", "de, zh;q=0.5": "zh"} {
		if got := acceptLang(header); got != want {
			t.Errorf("acceptLang(%q) = %s, want %s", header, got, want)
		}
	}
}

func TestVersionBadge(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := f.login()
	page := body(t, f.do(withCookie(httptest.NewRequest("GET", "/keys", nil), sc)))
	if !strings.Contains(page, `id="version"`) || !strings.Contains(page, "v1.2.0") || strings.Contains(page, "badge update") {
		t.Fatal("the badge without a known release is wrong")
	}
	f.release = version.Status{Current: "1.2.0", Latest: "1.3.0", URL: "https://github.com/gemgate/gemgate/releases/tag/v1.3.0", UpdateAvailable: true}
	page = body(t, f.do(withCookie(httptest.NewRequest("GET", "/keys", nil), sc)))
	if !strings.Contains(page, `href="https://github.com/gemgate/gemgate/releases/tag/v1.3.0"`) || !strings.Contains(page, "New release v1.3.0") {
		t.Fatal("the update notice is missing")
	}
}

func TestStaticAssets(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u, err := f.p.assets.url("common.js")
	if err != nil {
		t.Fatal(err)
	}
	resp := f.do(httptest.NewRequest("GET", u, nil))
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("%s: %d %v", u, resp.StatusCode, resp.Header)
	}
	if resp := f.do(httptest.NewRequest("GET", "/static/common.js?v=old", nil)); resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatal("a stale hash is cached for a year")
	}
	if resp := f.do(httptest.NewRequest("GET", "/static/nope.js", nil)); resp.StatusCode != 404 {
		t.Fatalf("missing asset: %d", resp.StatusCode)
	}
}

// Every string a template or script asks for exists in both languages, and the two catalogues have
// the same keys.
func TestCatalogComplete(t *testing.T) {
	t.Parallel()
	cat, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for key, en := range cat["en"] {
		zh, ok := cat["zh"][key]
		if !ok || zh == "" || en == "" {
			t.Errorf("%s: en %q, zh %q", key, en, zh)
		}
	}
	for key := range cat["zh"] {
		if _, ok := cat["en"][key]; !ok {
			t.Errorf("%s is only in zh.json", key)
		}
	}
	uses := map[string]*regexp.Regexp{
		"templates": regexp.MustCompile(`\.T "([a-z0-9_.]+)"`),
		"static":    regexp.MustCompile(`\bt\('([a-z0-9_.]+[a-z0-9_])'`),
	}
	for _, dir := range []fs.FS{templateFiles, staticFiles} {
		err := fs.WalkDir(dir, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, _ := fs.ReadFile(dir, p)
			for _, m := range uses[strings.Split(p, "/")[0]].FindAllStringSubmatch(string(b), -1) {
				if _, ok := cat["en"][m[1]]; !ok {
					t.Errorf("%s uses %q, which the catalogue lacks", p, m[1])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range loginErrors {
		if _, ok := cat["en"][key]; !ok {
			t.Errorf("login error %q lacks a string", key)
		}
	}
}

// The scripts never put data into the page as markup.
func TestScriptsAvoidMarkupSinks(t *testing.T) {
	t.Parallel()
	sinks := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function`)
	err := fs.WalkDir(staticFiles, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		b, _ := fs.ReadFile(staticFiles, p)
		if m := sinks.Find(b); m != nil {
			t.Errorf("%s uses %s", p, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Inside a Hugging Face frame over HTTPS the language choice is a partitioned SameSite=None cookie, like
// the session: a Lax cookie would be refused there and the next page would be English again.
func TestLanguageInFrame(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := httptest.NewRequest("GET", "/?lang=zh", nil)
	r.Header.Set("Sec-Fetch-Dest", "iframe")
	r.Header.Set("X-Forwarded-Proto", "https")
	c := cookie(f.do(r), langCookie)
	if c == nil || c.Value != "zh" || c.SameSite != http.SameSiteNoneMode || !c.Secure || !c.Partitioned {
		t.Fatalf("language cookie in a frame: %+v", c)
	}
}

// A frame on a site that may not frame the panel gets a notice page that any site may frame (the
// browser would show its grey error for the panel itself); Hugging Face and our own frames get the
// panel.
func TestForeignFrameNotice(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for referer, foreign := range map[string]bool{
		"https://evil.example/page":           true,
		"http://localhost:8080/":              true,
		"https://huggingface.co/spaces/me/gg": false,
		"https://other-space.hf.space/":       true, // another Space: FRAME_ANCESTORS allows only the Space page
		"":                                    false,
	} {
		r := httptest.NewRequest("GET", "/keys", nil)
		r.Header.Set("Sec-Fetch-Dest", "iframe")
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		if referer != "" {
			r.Header.Set("Referer", referer)
		}
		resp := f.do(r)
		page := body(t, resp)
		csp := resp.Header.Get("Content-Security-Policy")
		got := strings.Contains(page, `id="foreign-frame"`)
		if got != foreign {
			t.Errorf("Referer %q: notice %v, want %v (status %d)", referer, got, foreign, resp.StatusCode)
		}
		if foreign && (!strings.Contains(csp, "frame-ancestors *") || !strings.Contains(csp, "script-src 'none'") ||
			resp.Header.Get("X-Frame-Options") != "" || strings.Contains(page, "<form")) {
			t.Errorf("Referer %q: the notice page must be frameable and inert: CSP %q, XFO %q", referer, csp, resp.Header.Get("X-Frame-Options"))
		}
		if !foreign && strings.Contains(csp, "frame-ancestors *") {
			t.Errorf("Referer %q: the panel became frameable by anyone", referer)
		}
	}
}

// News on the login page (logged out, token changed) is not styled as an error.
func TestLoginNotices(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for code, class := range map[string]string{"out": "banner info", "token": "banner info", "bad": "banner error"} {
		page := body(t, f.do(httptest.NewRequest("GET", "/?lang=en&e="+code, nil)))
		if !strings.Contains(page, `class="`+class+`"`) {
			t.Errorf("e=%s is not shown as %q", code, class)
		}
	}
}

// The panel's scripts take setting names from the schema (/api/config/schema): a name spelled in the
// code (comments aside) is a second place to change when the settings table changes.
func TestScriptsSpellNoSettingName(t *testing.T) {
	comments := regexp.MustCompile(`(?m)/\*[\s\S]*?\*/|(^|\s)//[^\n]*`)
	scripts, err := fs.Glob(staticFiles, "static/*.js")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no scripts found: %v", err)
	}
	for _, name := range scripts {
		src, err := fs.ReadFile(staticFiles, name)
		if err != nil {
			t.Fatal(err)
		}
		code := comments.ReplaceAllString(string(src), "$1")
		for _, d := range config.All() {
			if regexp.MustCompile(`\b` + d.Name + `\b`).MatchString(code) {
				t.Errorf("%s spells the setting %s; read it from the schema instead", name, d.Name)
			}
		}
	}
}
