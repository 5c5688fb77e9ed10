// Package web is the admin panel: server-rendered pages (login, keys dashboard, settings editor, logs)
// with small vanilla scripts that call the admin JSON API, every asset embedded in the binary. It owns
// the admin sessions: a random id in an HttpOnly cookie, kept hashed in the database so that several
// instances share logins, with a CSRF token per session and throttled logins.
package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/store"
	"github.com/gemgate/gemgate/internal/version"
)

//go:embed templates/*.html
var templateFiles embed.FS

const (
	sessionCookie = "gemgate_session"
	loginCookie   = "gemgate_login" // the login form's double-submit token
	csrfHeader    = "X-CSRF-Token"
)

// pagePaths are the pages behind the login, with their title and scripts.
var pagePaths = map[string]struct {
	title   string
	scripts []string
}{
	"/keys":   {"keys.title", []string{"chart.js", "logview.js", "keys.js"}},
	"/config": {"config.title", []string{"config.js"}},
	"/logs":   {"logs.title", []string{"logview.js", "logs.js"}},
}

// Routes are the exact patterns the API router mounts the panel on, so unknown paths keep their JSON
// 404.
var Routes = []string{"GET /{$}", "POST /auth", "POST /logout", "GET /keys", "GET /config", "GET /logs", "GET /static/"}

// Options configure the panel.
type Options struct {
	Settings *config.Manager
	Store    *store.Store // admin sessions
	Version  string
	// Releases is the cached result of the background release check; nil shows the version alone.
	Releases func() version.Status
	Logger   *slog.Logger
	// OnLogin runs after each successful admin login (the generated token's start-up reminder ends).
	OnLogin func(context.Context)
}

// Panel serves the admin pages.
type Panel struct {
	settings *config.Manager
	sessions *sessionStore
	throttle *throttle
	catalog  catalog
	assets   assets
	tmpl     map[string]*template.Template
	releases func() version.Status
	version  string
	log      *slog.Logger
	mux      *http.ServeMux
	onLogin  func(context.Context)
}

// New builds the panel.
func New(o Options) (*Panel, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	cat, err := loadCatalog()
	if err != nil {
		return nil, err
	}
	as, err := loadAssets()
	if err != nil {
		return nil, err
	}
	p := &Panel{settings: o.Settings, sessions: newSessionStore(o.Store, log), throttle: newThrottle(),
		catalog: cat, assets: as, releases: o.Releases, version: o.Version, log: log, mux: http.NewServeMux(), onLogin: o.OnLogin}
	if p.tmpl, err = p.parseTemplates(); err != nil {
		return nil, err
	}
	p.routes()
	return p, nil
}

func (p *Panel) routes() {
	p.mux.HandleFunc("GET /{$}", p.loginPage)
	p.mux.HandleFunc("POST /auth", p.login)
	p.mux.HandleFunc("POST /logout", p.logout)
	for path := range pagePaths {
		p.mux.HandleFunc("GET "+path, p.page)
	}
	p.mux.HandleFunc("GET /static/", p.assets.serve)
}

// ServeHTTP serves the pages, the login and logout forms, and the embedded assets.
func (p *Panel) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.mux.ServeHTTP(w, r) }

func (p *Panel) parseTemplates() (map[string]*template.Template, error) {
	funcs := template.FuncMap{"asset": p.assets.url}
	out := map[string]*template.Template{}
	for _, name := range []string{"login", "keys", "config", "logs", "framed"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}

func (p *Panel) ttl() time.Duration {
	return time.Duration(config.AdminSessionExpire.Get(p.settings.Current())) * time.Second
}

func (p *Panel) authToken() string { return config.AuthToken.Get(p.settings.Current()) }

// current returns the request's session. Both a partitioned (embedded) and a normal cookie may
// arrive; the first live one counts.
func (p *Panel) current(r *http.Request) (string, *session, bool) {
	token := p.authToken()
	for _, c := range r.CookiesNamed(sessionCookie) {
		if sess, ok := p.sessions.lookup(r.Context(), c.Value, token); ok {
			return c.Value, sess, true
		}
	}
	return "", nil, false
}

// Check is the admin API's session check: whether r carries a live session, and whether it sent that
// session's CSRF token in the X-CSRF-Token header.
func (p *Panel) Check(r *http.Request) (loggedIn, csrfOK bool) {
	_, sess, ok := p.current(r)
	if !ok {
		return false, false
	}
	p.sessions.extend(r.Context(), sess, p.ttl())
	tok := r.Header.Get(csrfHeader)
	return true, tok != "" && secret.Equal(tok, sess.csrf)
}

// isHTTPS tells whether the browser reached us over HTTPS, directly or through a TLS-terminating
// proxy (Hugging Face, Render and most others set X-Forwarded-Proto).
func (p *Panel) isHTTPS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") ||
		strings.HasPrefix(strings.ToLower(config.PublicURL.Get(p.settings.Current())), "https://")
}

// framed tells whether the request comes from a page inside another site's iframe: browsers say so in
// Sec-Fetch-Dest, and the login form adds its own finding for browsers that do not.
func framed(r *http.Request) bool {
	return r.Header.Get("Sec-Fetch-Dest") == "iframe" || r.PostFormValue("framed") == "1"
}

// cookie builds a panel cookie. Inside an iframe a Lax cookie is never sent, so there (and only over
// HTTPS, which SameSite=None requires) the cookie is SameSite=None and Partitioned: the browser keeps it
// for this embedding site alone. Cross-site requests then carry it, which the CSRF token covers.
func (p *Panel) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if p.isHTTPS(r) {
		c.Secure = true
		if framed(r) {
			c.SameSite, c.Partitioned = http.SameSiteNoneMode, true
		}
	}
	return c
}

// securityHeaders go on every page: scripts only from our own files (no inline script, so injected
// markup cannot run), framing only by ourselves and FRAME_ANCESTORS (the Hugging Face Space page by
// default, FAQ 1).
func securityHeaders(h http.Header, snap *config.Snapshot) {
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "+config.FrameAncestorsPolicy(snap))
	// Browsers that know frame-ancestors ignore this; older ones at least refuse foreign framing.
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// pageData is what every template sees.
type pageData struct {
	Lang      string
	Page      string
	TitleKey  string
	Scripts   []string
	LoggedIn  bool
	CSRF      string
	Version   string
	Update    *version.Status
	Notices   []string // what the start found about admin access (config.Manager.Notices)
	Error     string
	Notice    bool // Error is news (logged out, token changed), not a failure
	Next      string
	LoginCSRF string
	I18N      template.JS
	lang      string
	cat       catalog
}

// T returns the string for key in the page's language.
func (d *pageData) T(key string) string { return d.cat.text(d.lang, key) }

// HTMLLang is the page's lang attribute.
func (d *pageData) HTMLLang() string {
	if d.lang == "zh" {
		return "zh-CN"
	}
	return "en"
}

func (p *Panel) newPageData(w http.ResponseWriter, r *http.Request, page string) *pageData {
	lang, switched := pickLang(r)
	if switched {
		// Through p.cookie: inside a Hugging Face frame a plain Lax cookie is refused, and the next page
		// would be in the browser's language again.
		http.SetCookie(w, p.cookie(r, langCookie, lang, 365*24*3600))
	}
	// json.Marshal escapes <, > and &, so the catalogue cannot end the script element it sits in.
	msgs, _ := json.Marshal(p.catalog[lang])
	return &pageData{Lang: lang, lang: lang, Page: page, cat: p.catalog, Version: p.version, I18N: template.JS(msgs)}
}

func (p *Panel) render(w http.ResponseWriter, status int, name string, d *pageData) {
	p.renderWith(w, status, name, d, func(h http.Header) { securityHeaders(h, p.settings.Current()) })
}

// foreignFrame tells a page requested by a frame on a site that FRAME_ANCESTORS does not allow: the
// browser would refuse to show the panel there and show its grey error instead. The browser says
// which site frames us in Referer (its origin at least, under the default referrer policy).
func foreignFrame(r *http.Request, snap *config.Snapshot) bool {
	if r.Header.Get("Sec-Fetch-Dest") != "iframe" || r.Header.Get("Sec-Fetch-Site") != "cross-site" {
		return false
	}
	ref, err := url.Parse(r.Header.Get("Referer"))
	if err != nil || ref.Host == "" {
		return false // no way to tell; the normal page and its policy apply
	}
	return !config.FrameAllowed(snap, ref)
}

// renderFramedNotice answers a foreign frame with a page that any site may frame, because it holds
// nothing to click but a link that opens the panel in its own tab: no form, no session, nothing a
// framing site could trick an admin into using.
func (p *Panel) renderFramedNotice(w http.ResponseWriter, r *http.Request) {
	d := p.newPageData(w, r, "framed")
	d.TitleKey, d.Next = "login.title", r.URL.Path
	p.renderWith(w, http.StatusOK, "framed", d, func(h http.Header) {
		securityHeaders(h, p.settings.Current())
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "+
			"object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors *")
		h.Del("X-Frame-Options")
	})
}

func (p *Panel) renderWith(w http.ResponseWriter, status int, name string, d *pageData, headers func(http.Header)) {
	var buf bytes.Buffer
	if err := p.tmpl[name].Execute(&buf, d); err != nil {
		p.log.Error("rendering an admin page", "page", name, "err", err)
		http.Error(w, "could not render the page", http.StatusInternalServerError)
		return
	}
	headers(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// page renders a panel page for a logged-in admin, or sends the browser to the login page.
func (p *Panel) page(w http.ResponseWriter, r *http.Request) {
	if foreignFrame(r, p.settings.Current()) {
		p.renderFramedNotice(w, r)
		return
	}
	id, sess, ok := p.current(r)
	if !ok {
		http.Redirect(w, r, "/?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
		return
	}
	if next, moved := p.sessions.extend(r.Context(), sess, p.ttl()); moved {
		sess = next
		p.setSessionCookie(w, r, id, sess)
	}
	info := pagePaths[r.URL.Path]
	d := p.newPageData(w, r, strings.TrimPrefix(r.URL.Path, "/"))
	d.TitleKey, d.Scripts, d.LoggedIn, d.CSRF = info.title, info.scripts, true, sess.csrf
	d.Update = p.update()
	d.Notices = p.notices(d.lang)
	p.render(w, http.StatusOK, d.Page, d)
}

// notices are the start's notices about admin access in the page's language.
func (p *Panel) notices(lang string) []string {
	var out []string
	for _, n := range p.settings.Notices() {
		if lang == "zh" {
			out = append(out, n.ZH)
		} else {
			out = append(out, n.EN)
		}
	}
	return out
}

// update returns the cached release check when it found a newer release; the page never waits for
// GitHub, and offline the badge simply shows the version.
func (p *Panel) update() *version.Status {
	if p.releases == nil {
		return nil
	}
	s := p.releases()
	if !s.UpdateAvailable {
		return nil
	}
	return &s
}

func (p *Panel) setSessionCookie(w http.ResponseWriter, r *http.Request, id string, sess *session) {
	left := sess.expires.Sub(p.sessions.now()).Round(time.Second)
	http.SetCookie(w, p.cookie(r, sessionCookie, id, int(left.Seconds())))
}
