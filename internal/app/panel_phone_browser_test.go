package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color/palette"
	"image/draw"
	"image/png"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/secret"
)

// screen is a browser window size the panel must work at.
type screen struct {
	name          string
	width, height int64
	phone         bool
}

var screens = []screen{
	{"desktop", 1440, 900, false},
	{"phone", 390, 844, true},
	{"narrow", 360, 740, true},
}

// docsShots is where the README's screenshots go when GEMGATE_DOCS_SCREENSHOTS is set (see the README,
// "Screenshots"); "" otherwise.
func docsShots(t *testing.T) string {
	if os.Getenv("GEMGATE_DOCS_SCREENSHOTS") == "" {
		return ""
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "docs", "img"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// docShot writes what is on the screen to docs/img as a paletted PNG (a fraction of the size of the
// browser's true-colour one: these files live in git).
// scrollTo, when set, is the element to show at the top (a phone shows only part of a page); "full"
// takes the whole page.
func (b *browserRun) docShot(dir, name, scrollTo string) {
	b.t.Helper()
	if dir == "" {
		return
	}
	scroll := `window.scrollTo(0, 0)`
	shoot := chromedp.CaptureScreenshot()
	if scrollTo == "full" {
		shoot = chromedp.FullScreenshot(100)
	} else if scrollTo != "" {
		scroll = `document.querySelector('` + scrollTo + `').scrollIntoView({block: 'start'})`
	}
	_, _ = chromedp.Run(b.ctx, chromedp.Evaluate[chromedp.Void](scroll))
	raw, err := chromedp.Run(b.ctx, shoot)
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		b.t.Fatal(err)
	}
	pal := image.NewPaletted(img.Bounds(), palette.WebSafe)
	draw.Draw(pal, img.Bounds(), img, image.Point{}, draw.Src)
	var out bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, pal); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), out.Bytes(), 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// layoutProblems lists what makes the page hard to use at this size: sideways scrolling, controls off
// the screen, and on phones touch targets under 40 px, buttons whose label wrapped (Chinese broken one
// character per line), a tall top bar, tall key cards and tall filter inputs.
const layoutProblems = `((phone) => {
  const out = [];
  const W = document.documentElement.clientWidth;
  const say = (n) => (n.id ? '#' + n.id : n.tagName.toLowerCase() + (n.className ? '.' + String(n.className).split(' ').join('.') : '')) +
    ' "' + (n.textContent || n.value || '').trim().slice(0, 20) + '"';
  if (document.documentElement.scrollWidth > W) out.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + W);
  for (const n of document.querySelectorAll('button, a, select, input:not([type=checkbox]):not([type=hidden]):not([type=radio]), label.hit')) {
    if (n.closest('[hidden]') || (n.closest('dialog') && !n.closest('dialog[open]'))) continue;
    const r = n.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    if (r.right > W + 1 && !n.closest('.table-wrap, .tabs.sub, .picker-list, pre')) out.push('off the screen: ' + say(n));
    if (!phone) continue;
    if (r.height < 40 || r.width < 40) out.push('a small target (' + Math.round(r.width) + 'x' + Math.round(r.height) + '): ' + say(n));
    if (n.classList.contains('btn') && r.height > 56) out.push('a label wrapped (' + Math.round(r.height) + ' px tall): ' + say(n));
  }
  if (phone) {
    const top = document.querySelector('.topbar');
    if (top && top.getBoundingClientRect().height > 100) out.push('the top bar is ' + Math.round(top.getBoundingClientRect().height) + ' px tall');
    for (const tr of document.querySelectorAll('#keys-body tr[data-id]')) {
      const h = tr.getBoundingClientRect().height;
      if (h > 240) out.push('a key card is ' + Math.round(h) + ' px tall');
    }
    for (const i of document.querySelectorAll('.filters input, .filters select')) {
      const h = i.getBoundingClientRect().height;
      if (h > 48) out.push('a filter input is ' + Math.round(h) + ' px tall');
    }
  }
  return [...new Set(out)].slice(0, 25);
})`

func (b *browserRun) checkLayout(where string, s screen) {
	b.t.Helper()
	if problems := evalIn[[]string](b, fmt.Sprintf("%s(%v)", layoutProblems, s.phone)); len(problems) > 0 {
		b.shotScreen("layout-" + where + "-" + s.name)
		b.t.Errorf("%s at %dx%d:\n  %s", where, s.width, s.height, strings.Join(problems, "\n  "))
	}
}

// englishFragments are the parts of every English catalogue string that differs from its Chinese one
// (placeholders cut out), which a Chinese page must not show.
func englishFragments(t *testing.T) []string {
	t.Helper()
	read := func(lang string) map[string]string {
		raw, err := os.ReadFile(filepath.Join("..", "web", "i18n", lang+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	en, zh := read("en"), read("zh")
	placeholder := regexp.MustCompile(`\{[a-z_]+\}`)
	letters := regexp.MustCompile(`[A-Za-z]{2,}`)
	// A word that the Chinese strings use too (Google, Gemini, API, Token) is not a sign of English.
	allZh := strings.Join(slices.Collect(maps.Values(zh)), "\n")
	var out []string
	for key, s := range en {
		if zh[key] == s {
			continue
		}
		for _, part := range placeholder.Split(s, -1) {
			part = strings.Trim(part, " .,:;()·—–-…!?/")
			if letters.MatchString(part) && !slices.Contains(out, part) && !strings.Contains(allZh, part) {
				out = append(out, part)
			}
		}
	}
	slices.Sort(out)
	return out
}

// englishOnPage returns the fragments that the page shows as words: text and the placeholders and
// labels of what is on the screen, leaving out data (keys, model names, setting names, Google's own
// messages, marked lang="en").
const englishOnPage = `((fragments) => {
  const texts = [];
  const skip = 'script, style, code, pre, .mono, .setting-name, [lang="en"], [hidden], dialog:not([open])';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const p = n.parentElement;
    if (!p || p.closest(skip) || !p.getClientRects().length) continue;
    texts.push(n.textContent);
  }
  for (const e of document.querySelectorAll('[placeholder], [aria-label], option')) {
    if (e.closest(skip)) continue;
    texts.push(e.getAttribute('placeholder') || '', e.getAttribute('aria-label') || '');
    if (e.tagName === 'OPTION' && !e.closest('.setting')) texts.push(e.textContent);
  }
  const all = texts.join('\n');
  const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return fragments.filter((f) => new RegExp('(^|[^A-Za-z])' + esc(f) + '([^A-Za-z]|$)').test(all));
})`

func (b *browserRun) checkChinese(where string, fragments []string) {
	b.t.Helper()
	arg, _ := json.Marshal(fragments)
	if found := evalIn[[]string](b, englishOnPage+"("+string(arg)+")"); len(found) > 0 {
		b.shotScreen("english-" + where)
		b.t.Errorf("English on the Chinese %s: %q", where, found)
	}
}

// TestPanelPhonesAndLanguages walks the keys, settings and logs pages at desktop and phone sizes in
// both languages: no sideways scrolling, touch targets of 40 px, labels in one piece, the refused
// calls counted apart, and on Chinese pages (and their dialogs) no English string of the catalogue.
// With GEMGATE_DOCS_SCREENSHOTS set it writes the README's screenshots to docs/img.
func TestPanelPhonesAndLanguages(t *testing.T) {
	t.Parallel()
	ctx, ev := newBrowser(t)
	limited := "AIzaSyLimited00000000000000000000000000"
	h := newHarness(t, fakeupstream.Config{Keys: map[string]fakeupstream.Behavior{badKey: fakeupstream.Invalid, limited: fakeupstream.RateLimitMinute}},
		map[string]string{"API_KEYS": strings.Join([]string{goodKey(0), goodKey(1), goodKey(2), goodKey(3), badKey, limited}, ",")})
	b := &browserRun{t: t, ctx: ctx, ev: ev, dir: screenshots(t), base: h.srv.URL}
	docs := docsShots(t)
	fragments := englishFragments(t)

	// Traffic: answered calls (some after a retry on the bad or limited key), and client mistakes that
	// never reach Google: a wrong token and a wrong route.
	for i := range 8 {
		h.generate("gemini-2.5-flash", fmt.Sprint("hello ", i))
	}
	h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent?key=sk-wrong", hello("x"), nil).googleError(t, 403)
	h.do("GET", "/v1beta/no-such-route", nil, tokenHeader)
	h.flushLogs()

	b.login()
	for _, lang := range []string{"en", "zh"} {
		for _, s := range screens {
			where := func(page string) string { return page + "-" + s.name + "-" + lang }
			b.run("keys "+where(""), chromedp.EmulateViewport(s.width, s.height), chromedp.Navigate(b.base+"/keys?lang="+lang),
				chromedp.WaitVisible(chromedp.ID("keys-body")))
			b.wait("the key list", `document.querySelectorAll('#keys-body tr[data-id]').length === 6`)
			b.wait("the call counts", `/[1-9]/.test(document.querySelector('[data-split="calls_1h"]').textContent)`)
			split := evalIn[string](b, `document.querySelector('[data-split="calls_1h"]').textContent`)
			if want := map[string]string{"en": "2 refused", "zh": "拒绝 2"}[lang]; !strings.Contains(split, want) {
				t.Errorf("the hour's calls say %q, want the refused calls counted apart (%q)", split, want)
			}
			b.wait("the chart", `!!document.querySelector('#chart svg')`)
			b.checkLayout(where("keys"), s)
			if lang == "zh" {
				b.checkChinese(where("keys"), fragments)
			}
			keysAt := "full"
			if s.phone {
				keysAt = "#keys-card"
			}
			b.docShot(docs, where("keys"), keysAt)

			b.run("settings "+where(""), chromedp.Navigate(b.base+"/config#api"), chromedp.WaitVisible(chromedp.ID("f-MAX_RETRIES")))
			b.checkLayout(where("config"), s)
			if lang == "zh" {
				b.checkChinese(where("config"), fragments)
			}
			b.docShot(docs, where("config"), "")

			b.run("logs "+where(""), chromedp.Navigate(b.base+"/logs#requests"), chromedp.WaitVisible(chromedp.ID("requests-body")))
			b.wait("the request log", `document.querySelectorAll('#requests-body tr[data-id]').length >= 10`)
			b.checkLayout(where("logs"), s)
			if lang == "zh" {
				b.checkChinese(where("logs"), fragments)
			}
			logsAt := ""
			if s.phone {
				logsAt = "#requests-panel .toolbar.bulk"
			}
			b.docShot(docs, where("logs"), logsAt)
		}
	}

	// The dialogs in Chinese on a phone: a verification result, a key's details, a request's details
	// and an error's details.
	b.run("phone, Chinese", chromedp.EmulateViewport(390, 844), chromedp.Navigate(b.base+"/keys?lang=zh"), chromedp.WaitVisible(chromedp.ID("keys-body")))
	badRow := `#keys-body tr[data-id="` + secret.ID(badKey) + `"]`
	b.wait("the bad key's row", `!!document.querySelector('`+badRow+`')`)
	b.run("verify the bad key", chromedp.Click(chromedp.CSS(badRow+` .row-actions button`)))
	b.wait("the verification result", `!!document.getElementById('verify-summary')`)
	b.checkChinese("verify-dialog", fragments)
	b.checkLayout("verify-dialog", screens[1])
	b.run("close", chromedp.Click(chromedp.CSS(`dialog[open] .dialog-foot button`)))
	b.run("open the logs", chromedp.Navigate(b.base+"/logs"), chromedp.WaitVisible(chromedp.ID("errors-body")))
	b.wait("the error log", `document.querySelectorAll('#errors-body tr[data-id]').length >= 1`)
	b.checkChinese("error-log", fragments)
	b.run("an error's details", chromedp.Click(chromedp.CSS(`#errors-body tr[data-id] .row-actions button`)),
		chromedp.WaitVisible(chromedp.CSS(`dialog[open] pre.code`)))
	b.checkChinese("error-dialog", fragments)
	b.run("close", chromedp.Click(chromedp.CSS(`dialog[open] .dialog-head button`)))
	b.run("the request log", chromedp.Click(chromedp.CSS(`#log-tabs [data-tab="requests"]`)))
	b.wait("the request log", `document.querySelectorAll('#requests-body tr[data-id]').length >= 1`)
	b.run("a request's details", chromedp.Click(chromedp.CSS(`#requests-body tr[data-id] .row-actions button`)),
		chromedp.WaitVisible(chromedp.CSS(`dialog[open] dl.fields`)))
	b.wait("its attempts' errors", `!document.querySelector('dialog[open]').textContent.includes('加载中')`)
	b.checkChinese("request-dialog", fragments)

	exceptions, _ := ev.snapshot()
	if len(exceptions) > 0 {
		t.Fatalf("script errors: %q", exceptions)
	}
}

// TestPanelRoundTwo walks the flows that were dead ends or misleading: a key found by any fragment,
// verified and explained in Google's words, shown in full, filtered and sorted by failures and acted
// on from "keys needing attention"; secret lists edited before "Reveal"; Discard that leaves no error;
// toasts that cover no button; and a change of the admin token that ends on the login page without a
// "leave site?" prompt.
func TestPanelRoundTwo(t *testing.T) {
	t.Parallel()
	ctx, ev := newBrowser(t)
	h := newHarness(t, fakeupstream.Config{Keys: map[string]fakeupstream.Behavior{badKey: fakeupstream.Invalid}},
		map[string]string{"API_KEYS": strings.Join([]string{goodKey(0), goodKey(1), badKey}, ",")})
	b := &browserRun{t: t, ctx: ctx, ev: ev, dir: screenshots(t), base: h.srv.URL}
	// Calls that meet the bad key leave its 400 in the statistics ("keys needing attention").
	for i := range 3 {
		h.generate("gemini-2.5-flash", fmt.Sprint("hello ", i))
	}
	h.flushLogs()
	b.login()
	badRow := `#keys-body tr[data-id="` + secret.ID(badKey) + `"]`
	count := `document.querySelectorAll('#keys-body tr[data-id]').length`

	// Search by fragments of the full key: a middle part, and the common prefix in any case.
	b.run("search a middle fragment", chromedp.SendKeys(chromedp.ID("key-search"), "Bad0000"))
	b.wait("only the bad key", count+` === 1 && !!document.querySelector('`+badRow+`')`)
	b.run("search the prefix", b.js(`{ const i = document.getElementById('key-search'); i.value = 'aizasy'; i.dispatchEvent(new Event('input')) }`))
	b.wait("every key", count+` === 3`)
	b.run("clear the search", b.js(`{ const i = document.getElementById('key-search'); i.value = ''; i.dispatchEvent(new Event('input')) }`))
	b.wait("every key", count+` === 3`)

	// Healthy keys offer no Reset.
	resets := evalIn[int](b, `[...document.querySelectorAll('#keys-body button')].filter((x) => x.textContent === 'Reset').length`)
	if resets != 0 {
		t.Errorf("%d Reset buttons on healthy keys", resets)
	}

	// Verify the bad key: the result is grouped under Google's 400 with Google's words.
	b.run("verify the bad key", chromedp.Click(chromedp.CSS(badRow+` .row-actions button`)))
	b.wait("the result grouped by Google's code", `(() => { const g = document.querySelector('dialog[open] .verify-group');
		return g && g.dataset.code === '400' && g.textContent.includes('API key not valid') && !g.textContent.includes("gemgate's"); })()`)
	b.shotScreen("r2-verify")
	b.run("close", chromedp.Click(chromedp.CSS(`dialog[open] .dialog-foot button`)))

	// Failures: at least one, most first; the bad key has one.
	b.run("at least one failure", b.js(`{ const i = document.getElementById('min-failures'); i.value = '1'; i.dispatchEvent(new Event('change')) }`))
	b.wait("only the failing key", count+` === 1 && !!document.querySelector('`+badRow+`')`)
	b.run("most failures first", b.js(`{ const i = document.getElementById('min-failures'); i.value = '0'; i.dispatchEvent(new Event('change')) }`),
		chromedp.Click(chromedp.ID("sort-failures")))
	b.wait("the failing key first", `document.querySelector('#keys-body tr[data-id]').dataset.id === '`+secret.ID(badKey)+`'`)

	// A key in full on demand.
	b.run("show the bad key", chromedp.Click(chromedp.CSS(badRow+` .row-actions button:nth-child(3)`)))
	b.wait("the full key", `(document.getElementById('full-key') || {}).textContent === '`+badKey+`'`)
	b.run("close", chromedp.Click(chromedp.CSS(`dialog[open] .dialog-foot button:last-child`)))

	// Keys needing attention, by 400: every listed key at once.
	b.run("keys with 400", chromedp.Click(chromedp.CSS(`#attention-codes [data-code="400"]`)))
	b.wait("the bad key listed", `!!document.querySelector('#attention-list li[data-id="`+secret.ID(badKey)+`"]') && !document.getElementById('attention-bulk').hidden`)
	b.run("verify every listed key", chromedp.Click(chromedp.CSS(`[data-attention="verify"]`)))
	b.wait("their verification", `(document.getElementById('verify-summary') || {}).textContent === '0 valid, 1 failed.'`)
	b.run("close", chromedp.Click(chromedp.CSS(`dialog[open] .dialog-foot button`)))

	// Toasts cover none of the buttons at the top.
	b.run("copy a key", chromedp.Click(chromedp.CSS(badRow+` .row-actions button:nth-child(4)`)))
	b.wait("a toast", `!!document.querySelector('#toasts .toast')`)
	covered := evalIn[[]string](b, `(() => { const t = document.querySelector('#toasts .toast').getBoundingClientRect();
		return [...document.querySelectorAll('.topbar button, .topbar a, .page-head button')].filter((n) => { const r = n.getBoundingClientRect();
			return r.left < t.right && t.left < r.right && r.top < t.bottom && t.top < r.bottom; }).map((n) => n.textContent.trim()); })()`)
	if len(covered) > 0 {
		t.Errorf("a toast covers %q", covered)
	}

	// Secret lists: add, paste and generate are there before "Reveal"; generate reveals, then adds.
	b.run("open the API settings", chromedp.Navigate(b.base+"/config#api"), chromedp.WaitVisible(chromedp.CSS(`[data-reveal="ALLOWED_TOKENS"]`)))
	for _, name := range []string{"ALLOWED_TOKENS", "PROXIES", "CUSTOM_HEADERS", "VERTEX_API_KEYS"} {
		if n := evalIn[int](b, `document.querySelectorAll('#setting-`+name+` .rows > .toolbar button').length`); n == 0 {
			t.Errorf("%s shows no add/paste controls before Reveal", name)
		}
	}
	b.run("generate a client token", b.js(`[...document.querySelectorAll('#setting-ALLOWED_TOKENS button')].find((x) => x.textContent === 'Generate').click()`))
	b.wait("the tokens revealed and a new one added", `(() => { const v = [...document.querySelectorAll('#setting-ALLOWED_TOKENS input')].map((i) => i.value);
		return v.includes('`+clientToken+`') && v.some((s) => /^sk-[A-Za-z0-9_]{48}$/.test(s)); })()`)
	b.wait("one unsaved change", `document.getElementById('dirty-state').textContent.startsWith('1 unsaved')`)

	// Discard leaves no error behind, neither the form's nor the server's.
	b.run("an invalid value", chromedp.SetValue(chromedp.ID("f-TIME_OUT"), ""), chromedp.SendKeys(chromedp.ID("f-TIME_OUT"), "99999"))
	b.wait("the field says why", `!document.querySelector('#setting-TIME_OUT .field-error').hidden`)
	b.run("discard", chromedp.Click(chromedp.ID("discard")), chromedp.Click(chromedp.CSS(`dialog[open] [data-action="confirm"]`)))
	b.wait("clean, with no error shown", `document.getElementById('savebar').dataset.dirty === 'false' &&
		![...document.querySelectorAll('.field-error')].some((e) => !e.hidden) && !document.querySelector('#toasts .toast.error')`)

	// A new admin token: saved, then straight to the login page, which says why; no "leave site?".
	const newToken = "sk-the-new-admin-token-0000000000"
	b.run("reveal the admin token", chromedp.Click(chromedp.CSS(`[data-reveal="AUTH_TOKEN"]`)))
	b.wait("the admin token in full", `document.getElementById('f-AUTH_TOKEN').value === '`+adminToken+`'`)
	b.run("type a new one and save", b.js(`{ const i = document.getElementById('f-AUTH_TOKEN'); i.value = '`+newToken+`'; i.dispatchEvent(new Event('input')) }`),
		chromedp.Click(chromedp.ID("save")), chromedp.Click(chromedp.CSS(`dialog[open] [data-action="confirm"]`)),
		chromedp.WaitVisible(chromedp.ID("login-submit")))
	b.wait("the login page says the token changed", `location.pathname === '/' && !!document.getElementById('auth_token') &&
		document.getElementById('login-error').className === 'banner info' && document.getElementById('login-error').textContent.includes('token was changed')`)
	if _, dialogs := ev.snapshot(); len(dialogs) > 0 {
		t.Errorf("dialogs on the way to the login page: %q", dialogs)
	}
	b.run("log in with the new token", chromedp.SendKeys(chromedp.ID("auth_token"), newToken), chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("config-search")))

	// Logging out is news, not an error.
	b.run("log out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("auth_token")))
	if cls := evalIn[string](b, `document.getElementById('login-error').className`); cls != "banner info" {
		t.Errorf("the logout notice is styled %q", cls)
	}
	exceptions, _ := ev.snapshot()
	if len(exceptions) > 0 {
		t.Fatalf("script errors: %q", exceptions)
	}
}
