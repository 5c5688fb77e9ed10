package web

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gemgate/gemgate/internal/clientip"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/secret"
)

// loginErrors are the ?e= codes the login page explains; anything else is ignored.
var loginErrors = map[string]string{
	"bad":       "login.err.bad",
	"expired":   "login.err.expired",
	"session":   "login.err.session",
	"cookie":    "login.err.cookie",
	"framehttp": "login.err.framehttp",
	"out":       "login.err.out",
	"token":     "login.err.token",
}

// loginNotices are the codes that report what happened rather than what went wrong.
var loginNotices = map[string]bool{"out": true, "token": true}

// safeNext keeps the after-login redirect on one of our own pages: an open redirect would let a link
// to the login page send the admin anywhere.
func safeNext(next string) string {
	if _, ok := pagePaths[next]; ok {
		return next
	}
	return "/keys"
}

func (p *Panel) loginPage(w http.ResponseWriter, r *http.Request) {
	if foreignFrame(r, p.settings.Current()) {
		p.renderFramedNotice(w, r)
		return
	}
	if _, _, ok := p.current(r); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	code := r.URL.Query().Get("e")
	p.renderLogin(w, r, http.StatusOK, loginErrors[code], "", loginNotices[code])
}

// renderLogin shows the login form with a fresh double-submit token: the same random value in a cookie
// and in the form. Another site can post a form here but can neither read nor set our cookie.
func (p *Panel) renderLogin(w http.ResponseWriter, r *http.Request, status int, errKey, extra string, notice bool) {
	tok := randomToken()
	http.SetCookie(w, p.cookie(r, loginCookie, tok, 3600))
	d := p.newPageData(w, r, "login")
	d.TitleKey, d.Scripts, d.LoginCSRF = "login.title", []string{"login.js"}, tok
	d.Next = safeNext(r.URL.Query().Get("next"))
	if r.Method == http.MethodPost {
		d.Next = safeNext(r.PostFormValue("next"))
	}
	if errKey != "" {
		d.Error, d.Notice = d.T(errKey)+extra, notice
	}
	p.render(w, status, "login", d)
}

// login checks the admin token from the form (field auth_token, as the reference's form).
func (p *Panel) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	ip := clientip.Of(r, config.TrustedProxies.Get(p.settings.Current()))
	if wait := p.throttle.wait(ip); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		p.renderLogin(w, r, http.StatusTooManyRequests, "login.err.throttled", " "+formatWait(wait), false)
		return
	}
	next := safeNext(r.PostFormValue("next"))
	if !p.loginTokenOK(r) {
		p.loginRedirect(w, r, next, p.cookieProblem(r))
		return
	}
	token := p.authToken()
	if given := r.PostFormValue("auth_token"); token == "" || !secret.Equal(given, token) {
		p.throttle.fail(ip)
		p.log.Warn("admin login failed: wrong token", "client", ip)
		p.loginRedirect(w, r, next, "bad")
		return
	}
	if framed(r) && !p.isHTTPS(r) {
		// A cookie that an embedded page may use needs SameSite=None, which browsers accept only with
		// Secure, which needs HTTPS: over plain HTTP the login could not stick.
		p.loginRedirect(w, r, next, "framehttp")
		return
	}
	p.throttle.ok(ip)
	p.log.Info("admin logged in", "client", ip)
	if p.onLogin != nil {
		p.onLogin(r.Context())
	}
	id, sess := p.sessions.create(r.Context(), token, r.UserAgent(), p.ttl())
	p.setSessionCookie(w, r, id, sess)
	http.SetCookie(w, p.cookie(r, loginCookie, "", -1))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (p *Panel) loginTokenOK(r *http.Request) bool {
	c, err := r.Cookie(loginCookie)
	form := r.PostFormValue("login_csrf")
	return err == nil && form != "" && secret.Equal(c.Value, form)
}

// cookieProblem explains a login form whose cookie did not come back: inside an iframe the browser
// blocks it (FAQ 1); otherwise the form is just old.
func (p *Panel) cookieProblem(r *http.Request) string {
	if framed(r) {
		if !p.isHTTPS(r) {
			return "framehttp"
		}
		return "cookie"
	}
	return "expired"
}

func (p *Panel) loginRedirect(w http.ResponseWriter, r *http.Request, next, code string) {
	http.Redirect(w, r, "/?e="+code+"&next="+url.QueryEscape(next), http.StatusSeeOther)
}

func formatWait(d time.Duration) string {
	if d < time.Minute {
		return strconv.Itoa(int(math.Ceil(d.Seconds()))) + " s"
	}
	return strconv.Itoa(int(math.Ceil(d.Minutes()))) + " min"
}

// logout ends the session; the form carries the session's CSRF token so another site cannot log the
// admin out.
func (p *Panel) logout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	_, sess, ok := p.current(r)
	if !ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	tok := r.PostFormValue("csrf")
	if tok == "" {
		tok = r.Header.Get(csrfHeader)
	}
	if tok == "" || !secret.Equal(tok, sess.csrf) {
		http.Error(w, "Missing or wrong CSRF token; reload the page and try again.", http.StatusForbidden)
		return
	}
	p.sessions.remove(r.Context(), sess.idHash)
	http.SetCookie(w, p.cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, "/?e=out", http.StatusSeeOther)
}
