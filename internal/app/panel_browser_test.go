package app_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/testutil"
)

const (
	badKey       = "AIzaSyBad000000000000000000000000000000"
	hostileModel = `<img src=x onerror=alert(1)>`
)

// browserEvents collects what the page did that a test must see: script errors and JavaScript dialogs
// (alert from injected markup, beforeunload from the settings editor).
type browserEvents struct {
	mu         sync.Mutex
	exceptions []string
	dialogs    []string
}

func (e *browserEvents) add(list *[]string, s string) {
	e.mu.Lock()
	*list = append(*list, s)
	e.mu.Unlock()
}

func (e *browserEvents) snapshot() (exceptions, dialogs []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.exceptions...), append([]string(nil), e.dialogs...)
}

// newBrowser starts headless Chromium (GEMGATE_TEST_BROWSER names the binary) with a fresh profile.
// The flags that stop background traffic matter on machines without internet access, where Chromium
// otherwise waits for its update and sync services.
func newBrowser(t *testing.T) (context.Context, *browserEvents) {
	t.Helper()
	bin := os.Getenv("GEMGATE_TEST_BROWSER")
	if bin == "" {
		t.Skip("set GEMGATE_TEST_BROWSER=/usr/bin/chromium to run the browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	ev := &browserEvents{}
	err := chromedp.Listen(ctx, func(e any) {
		switch e := e.(type) {
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			ev.add(&ev.exceptions, fmt.Sprintf("%s (%s:%d)", msg, d.URL, d.LineNumber+1))
		case *page.EventJavascriptDialogOpening:
			ev.add(&ev.dialogs, string(e.Type)+": "+e.Message)
			// Dismissing keeps the page where it is: a beforeunload prompt is answered "stay". The
			// listener may not send commands itself.
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	})
	if err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	return ctx, ev
}

// screenshots is where page images go: GEMGATE_SCREENSHOTS when set (to look at them), else the test's
// artifact folder.
func screenshots(t *testing.T) string {
	if dir := os.Getenv("GEMGATE_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.ArtifactDir()
}

type browserRun struct {
	t    *testing.T
	ctx  context.Context
	ev   *browserEvents
	dir  string
	base string
}

func (b *browserRun) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	start := time.Now()
	defer func() { b.t.Logf("%6.2fs %s", time.Since(start).Seconds(), what) }()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		exceptions, dialogs := b.ev.snapshot()
		b.t.Fatalf("%s: %v (script errors: %q, dialogs: %q)", what, err, exceptions, dialogs)
	}
}

// wait polls a JavaScript condition until it holds.
func (b *browserRun) wait(what, expr string) {
	b.t.Helper()
	b.run(what, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(20*time.Second)))
}

func (b *browserRun) shot(name string) { b.capture(name, chromedp.FullScreenshot(100)) }

// shotScreen takes what is on the screen only, for pages longer than a phone's screen.
func (b *browserRun) shotScreen(name string) { b.capture(name, chromedp.CaptureScreenshot()) }

func (b *browserRun) capture(name string, action chromedp.Action[[]byte]) {
	_, _ = chromedp.Run(b.ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	png, err := chromedp.Run(b.ctx, action)
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

func evalIn[T any](b *browserRun, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

func (b *browserRun) js(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](expr)
}

// TestPanelInBrowser walks through the admin panel as an admin would: log in, paste keys, find a bad
// key by verifying it, change a setting and see it applied, meet the unsaved-changes warning, filter the
// error log (where a hostile model name must stay text), switch to Chinese and log out.
func TestPanelInBrowser(t *testing.T) {
	t.Parallel()
	ctx, ev := newBrowser(t)
	h := newHarness(t, fakeupstream.Config{Keys: map[string]fakeupstream.Behavior{badKey: fakeupstream.Invalid}},
		map[string]string{"API_KEYS": goodKey(0)})
	b := &browserRun{t: t, ctx: ctx, ev: ev, dir: screenshots(t), base: h.srv.URL}

	// A request whose model name is markup leaves an error log entry that the logs page must show as text.
	h.generate(url.PathEscape(hostileModel), "hi")
	testutil.Eventually(t, "the error log entry of the hostile model", func() bool {
		r := h.do("GET", "/api/logs/errors?limit=5", nil, adminHeader)
		return r.status == 200 && strings.Contains(string(r.body), `\u003cimg src=x`)
	})

	b.run("open the login page", chromedp.Navigate(b.base+"/?lang=en"), chromedp.WaitVisible(chromedp.ID("auth_token")))
	b.shot("01-login")

	// FAQ 1: embedded in a frame over plain HTTP the login cannot stick; the page says so and links to
	// itself in a new tab. (A foreign origin may not frame the panel at all, so the frame is our own.)
	b.run("embed the login page", b.js(`const f = document.createElement('iframe'); f.id = 'embed'; f.src = '/?lang=en'; f.width = 900; f.height = 400; document.body.prepend(f)`))
	b.wait("the frame notice", `(() => { const d = document.getElementById('embed').contentDocument; const n = d && d.getElementById('frame-notice');
		return n && !n.hidden && d.getElementById('frame-notice-text').textContent.includes('only over HTTPS') &&
			d.getElementById('frame-notice-link').target === '_blank' && d.getElementById('frame-notice-link').href.endsWith('/?lang=en') &&
			d.getElementById('framed').value === '1'; })()`)
	b.shotScreen("01-login-in-frame")
	b.run("back to the login page", chromedp.Navigate(b.base+"/?lang=en"), chromedp.WaitVisible(chromedp.ID("auth_token")))
	b.run("log in",
		chromedp.SendKeys(chromedp.ID("auth_token"), adminToken),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("keys-body")))
	b.wait("the dashboard shows the configured key", `document.getElementById('total-all').textContent === '1'`)

	// Paste keys among other text; the dashboard finds them.
	pasted := fmt.Sprintf("my keys:\\n%s, %s\\nand junk AIzaShort", goodKey(1), badKey)
	b.run("open the add dialog", chromedp.Click(chromedp.ID("add-keys")), chromedp.WaitVisible(chromedp.ID("add-text")))
	b.run("paste keys", b.js(`document.getElementById('add-text').value = "`+pasted+`"`),
		chromedp.Click(chromedp.CSS(`dialog [data-action="add"]`)))
	b.wait("the pasted keys appear", `document.getElementById('total-all').textContent === '3'`)
	b.wait("the key list shows them", `document.querySelectorAll('#keys-body tr[data-id]').length === 3`)

	// Verify the bad key from its row: it is found invalid and disabled.
	badRow := `#keys-body tr[data-id="` + secret.ID(badKey) + `"]`
	b.run("verify the bad key", chromedp.Click(chromedp.CSS(badRow+` .row-actions button`)))
	b.wait("the verification result", `(document.getElementById('verify-summary') || {}).textContent === '0 valid, 1 failed.'`)
	b.shot("02-verify-result")
	b.run("close the result", chromedp.Click(chromedp.CSS(`dialog .dialog-foot button`)))
	b.wait("the bad key shows as disabled", `(document.querySelector('`+badRow+` .pill.bad') || {}).textContent === 'disabled'`)
	b.wait("the totals count it", `document.getElementById('total-disabled').textContent === '1'`)
	b.run("filter disabled keys", chromedp.SetValue(chromedp.ID("key-filter"), "disabled"),
		b.js(`document.getElementById('key-filter').dispatchEvent(new Event('change'))`))
	b.wait("only the bad key is listed", `document.querySelectorAll('#keys-body tr[data-id]').length === 1 && !!document.querySelector('`+badRow+`')`)
	b.run("show all keys again", chromedp.Click(chromedp.CSS(`#totals [data-filter=""]`)))
	b.wait("all keys listed", `document.querySelectorAll('#keys-body tr[data-id]').length === 3`)
	b.shot("03-keys")

	// Settings: change MAX_RETRIES; the form shows unsaved changes and guards leaving the page.
	b.run("open the settings", chromedp.Navigate(b.base+"/config#api"), chromedp.WaitVisible(chromedp.ID("f-MAX_RETRIES")))
	b.shot("04-config")
	b.run("change MAX_RETRIES", chromedp.SetValue(chromedp.ID("f-MAX_RETRIES"), ""),
		chromedp.SendKeys(chromedp.ID("f-MAX_RETRIES"), "5"))
	b.wait("the unsaved-changes bar", `document.getElementById('savebar').dataset.dirty === 'true' && document.getElementById('dirty-state').textContent.startsWith('1 unsaved')`)
	b.shot("05-config-unsaved")
	b.run("try to leave", chromedp.Click(chromedp.CSS(`nav a[href="/keys"]`)))
	testutil.Eventually(t, "a beforeunload prompt", func() bool {
		_, dialogs := ev.snapshot()
		return len(dialogs) > 0 && strings.HasPrefix(dialogs[0], "beforeunload")
	})
	path := evalIn[string](b, `location.pathname`)
	if path != "/config" {
		t.Fatalf("left the settings page with unsaved changes: now on %s", path)
	}
	if config.MaxRetries.Get(h.app.Settings.Current()) != 3 {
		t.Fatal("an unsaved change was applied")
	}
	b.run("save", chromedp.Click(chromedp.ID("save")))
	b.wait("saved", `document.getElementById('savebar').dataset.dirty === 'false'`)
	testutil.Eventually(t, "MAX_RETRIES applied without restart", func() bool { return config.MaxRetries.Get(h.app.Settings.Current()) == 5 })
	if r := h.do("GET", "/api/config?detailed=1", nil, adminHeader); !strings.Contains(string(r.body), `"name":"MAX_RETRIES","value":5,"source":"database"`) {
		t.Fatalf("GET /api/config does not show the saved value: %s", r.body)
	}
	// An invalid value is refused with the message at its field.
	b.run("enter an invalid value", chromedp.SetValue(chromedp.ID("f-TIME_OUT"), ""), chromedp.SendKeys(chromedp.ID("f-TIME_OUT"), "99999"))
	b.wait("the field says why", `!document.querySelector('#setting-TIME_OUT .field-error').hidden`)
	b.run("discard", chromedp.Click(chromedp.ID("discard")), chromedp.Click(chromedp.CSS(`dialog [data-action="confirm"]`)))
	b.wait("clean again", `document.getElementById('savebar').dataset.dirty === 'false'`)

	// Logs: filter the error log by model; the hostile name is shown as text and runs nothing.
	b.run("open the logs", chromedp.Navigate(b.base+"/logs"), chromedp.WaitVisible(chromedp.ID("errors-body")))
	b.wait("the error log loaded", `document.querySelectorAll('#errors-body tr[data-id]').length >= 1`)
	b.run("filter by error code", chromedp.SendKeys(chromedp.CSS(`#error-filters [name="error_code_search"]`), "429"),
		chromedp.Click(chromedp.CSS(`#error-filters button[type="submit"]`)))
	b.wait("no 429 entries", `document.querySelectorAll('#errors-body tr[data-id]').length === 0`)
	b.run("clear the filter", chromedp.Click(chromedp.CSS(`#error-filters button[type="reset"]`)))
	b.run("filter by the hostile model", chromedp.SendKeys(chromedp.CSS(`#error-filters [name="model"]`), hostileModel),
		chromedp.Click(chromedp.CSS(`#error-filters button[type="submit"]`)))
	b.wait("the hostile entry is listed as text", `[...document.querySelectorAll('#errors-body td')].some(td => td.textContent === '`+hostileModel+`')`)
	b.shot("06-logs")
	b.run("open its details", chromedp.Click(chromedp.CSS(`#errors-body tr[data-id] .row-actions button`)),
		chromedp.WaitVisible(chromedp.CSS(`dialog pre.code`)))
	b.shot("07-log-details")
	injected := evalIn[int](b, `document.querySelectorAll('img[src="x"], img[onerror]').length`)
	if injected != 0 {
		t.Fatalf("the model name became markup: %d injected image(s)", injected)
	}
	b.run("close the details", chromedp.Click(chromedp.CSS(`dialog .dialog-head button`)))

	// Language switch: the pages come back in Chinese, with a phone-sized screen for a look.
	b.run("switch to Chinese", chromedp.Click(chromedp.CSS(`.langs a[lang="zh-CN"]`)), chromedp.WaitVisible(chromedp.ID("errors-body")))
	b.wait("Chinese navigation", `document.documentElement.lang === 'zh-CN' && document.querySelector('nav a[href="/keys"]').textContent === '监控面板'`)
	b.run("open the dashboard in Chinese", chromedp.Navigate(b.base+"/keys"), chromedp.WaitVisible(chromedp.ID("keys-body")))
	b.wait("Chinese dashboard", `document.querySelector('h1').textContent === '监控面板' && document.querySelectorAll('#keys-body tr[data-id]').length === 3`)
	b.shot("08-keys-zh")
	b.run("phone screen", chromedp.EmulateViewport(390, 844), chromedp.Navigate(b.base+"/keys"), chromedp.WaitVisible(chromedp.ID("keys-body")))
	b.wait("the dashboard on a phone", `document.querySelectorAll('#keys-body tr[data-id]').length === 3`)
	b.shotScreen("09-keys-zh-phone")
	b.run("settings on a phone", chromedp.Navigate(b.base+"/config#models"), chromedp.WaitVisible(chromedp.ID("f-TEST_MODEL")))
	b.shotScreen("10-config-zh-phone")
	b.run("desktop screen", chromedp.EmulateViewport(1280, 900))

	b.run("log out", chromedp.Navigate(b.base+"/keys"), chromedp.WaitVisible(chromedp.ID("logout")),
		chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("auth_token")))
	b.wait("the logout notice", `document.getElementById('login-error').textContent === '你已退出登录。'`)
	b.run("the dashboard is closed", chromedp.Navigate(b.base+"/keys"), chromedp.WaitVisible(chromedp.ID("auth_token")))
	path = evalIn[string](b, `location.pathname + location.search`)
	if path != "/?next=%2Fkeys" {
		t.Fatalf("after logout /keys led to %s", path)
	}

	exceptions, dialogs := ev.snapshot()
	if len(exceptions) > 0 {
		t.Fatalf("script errors: %q", exceptions)
	}
	for _, d := range dialogs {
		if !strings.HasPrefix(d, "beforeunload") {
			t.Fatalf("unexpected dialog (injected script?): %s", d)
		}
	}
}

// loginInBrowser opens the panel and logs in.
func (b *browserRun) login() {
	b.t.Helper()
	b.run("log in", chromedp.Navigate(b.base+"/?lang=en"), chromedp.WaitVisible(chromedp.ID("auth_token")),
		chromedp.SendKeys(chromedp.ID("auth_token"), adminToken), chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("keys-body")))
}

// The settings editor's widgets: secrets revealed on demand, list rows with the token generator, the
// model picker fed by the model list, selects of a list of maps, the revert button, and a server-side
// error shown at its field.
func TestPanelSettingsWidgets(t *testing.T) {
	t.Parallel()
	ctx, ev := newBrowser(t)
	h := newHarness(t, fakeupstream.Config{}, nil)
	b := &browserRun{t: t, ctx: ctx, ev: ev, dir: screenshots(t), base: h.srv.URL}
	h.do("PUT", "/api/config", map[string]any{"MAX_RETRIES": 7}, adminHeader)
	b.login()

	b.run("open the API settings", chromedp.Navigate(b.base+"/config#api"), chromedp.WaitVisible(chromedp.CSS(`[data-reveal="ALLOWED_TOKENS"]`)))
	if n := evalIn[int](b, `document.querySelectorAll('#setting-ALLOWED_TOKENS input').length`); n != 0 {
		t.Fatal("a secret list is editable before it was revealed")
	}
	b.run("reveal the client tokens", chromedp.Click(chromedp.CSS(`[data-reveal="ALLOWED_TOKENS"]`)))
	b.wait("the tokens in full", `[...document.querySelectorAll('#setting-ALLOWED_TOKENS input')].some(i => i.value === '`+clientToken+`')`)
	b.run("generate a token", chromedp.Click(chromedp.CSS(`#setting-ALLOWED_TOKENS .toolbar button:nth-child(3)`)))
	b.wait("a generated token", `[...document.querySelectorAll('#setting-ALLOWED_TOKENS input')].some(i => /^sk-[A-Za-z0-9_]{48}$/.test(i.value))`)
	b.run("revert MAX_RETRIES", chromedp.Click(chromedp.CSS(`[data-revert="MAX_RETRIES"]`)), chromedp.Click(chromedp.CSS(`dialog [data-action="confirm"]`)))
	b.wait("MAX_RETRIES back to its default", `document.getElementById('f-MAX_RETRIES').value === '3' && !document.querySelector('[data-revert="MAX_RETRIES"]')`)

	b.run("open the model settings", chromedp.Click(chromedp.CSS(`#config-tabs [data-group="models"]`)), chromedp.WaitVisible(chromedp.ID("setting-IMAGE_MODELS")))
	b.run("open the model picker", chromedp.Click(chromedp.CSS(`#setting-IMAGE_MODELS .toolbar button:nth-child(3)`)))
	b.wait("the model list", `[...document.querySelectorAll('dialog .picker-list li')].some(li => li.textContent.startsWith('gemini-2.5-pro'))`)
	b.run("search and pick", chromedp.SendKeys(chromedp.CSS(`dialog input[type="search"]`), "2.5-pro"),
		chromedp.Click(chromedp.CSS(`dialog .picker-list li:first-child`)))
	b.wait("the picked model is a new row", `[...document.querySelectorAll('#setting-IMAGE_MODELS input')].some(i => i.value.startsWith('gemini-2.5-pro'))`)
	b.run("loosen a safety setting", chromedp.SetValue(chromedp.CSS(`#setting-SAFETY_SETTINGS .row select:nth-of-type(2)`), "BLOCK_ONLY_HIGH"),
		b.js(`document.querySelector('#setting-SAFETY_SETTINGS .row select:nth-of-type(2)').dispatchEvent(new Event('change'))`))
	b.wait("three unsaved changes", `document.getElementById('dirty-state').textContent.startsWith('3 unsaved')`)
	b.shotScreen("11-config-widgets")
	b.run("save", chromedp.Click(chromedp.ID("save")))
	b.wait("saved", `document.getElementById('savebar').dataset.dirty === 'false'`)
	snap := h.app.Settings.Current()
	if tokens := config.AllowedTokens.Get(snap); len(tokens) != 2 || tokens[0] != clientToken || len(tokens[1]) != 51 {
		t.Fatalf("ALLOWED_TOKENS after save: %q", tokens)
	}
	if models := config.ImageModels.Get(snap); len(models) != 3 || !strings.HasPrefix(models[2], "gemini-2.5-pro") {
		t.Fatalf("IMAGE_MODELS after save: %q", models)
	}
	if s := config.SafetySettings.Get(snap); s[0]["threshold"] != "BLOCK_ONLY_HIGH" || s[0]["category"] != "HARM_CATEGORY_HARASSMENT" || len(s) != 5 {
		t.Fatalf("SAFETY_SETTINGS after save: %v", s)
	}

	// An empty AUTH_TOKEN would lock every admin out; the server refuses it and the form says so there.
	b.run("open the API settings again", chromedp.Click(chromedp.CSS(`#config-tabs [data-group="api"]`)),
		chromedp.Click(chromedp.CSS(`[data-reveal="AUTH_TOKEN"]`)))
	b.wait("the admin token in full", `document.getElementById('f-AUTH_TOKEN').value === '`+adminToken+`'`)
	b.run("clear it and save", b.js(`const i = document.getElementById('f-AUTH_TOKEN'); i.value = ''; i.dispatchEvent(new Event('input'))`),
		chromedp.Click(chromedp.ID("save")), chromedp.Click(chromedp.CSS(`dialog [data-action="confirm"]`)))
	b.wait("the refusal at the field", `document.querySelector('#setting-AUTH_TOKEN .field-error').textContent.includes('may not be empty')`)
	if config.AuthToken.Get(h.app.Settings.Current()) != adminToken {
		t.Fatal("the admin token changed")
	}

	// An image host's settings show only while UPLOAD_PROVIDER names that host (shown_when in the schema).
	b.run("open the image settings", chromedp.Click(chromedp.CSS(`#config-tabs [data-group="image"]`)), chromedp.WaitVisible(chromedp.ID("setting-LOCAL_IMAGE_TTL_HOURS")))
	if !evalIn[bool](b, `document.getElementById('setting-SMMS_SECRET_TOKEN').hidden`) {
		t.Fatal("SM.MS settings shown while UPLOAD_PROVIDER=local")
	}
	b.run("choose SM.MS", chromedp.SetValue(chromedp.ID("f-UPLOAD_PROVIDER"), "smms"),
		b.js(`document.getElementById('f-UPLOAD_PROVIDER').dispatchEvent(new Event('change'))`))
	b.wait("the SM.MS token shown, the local settings hidden",
		`!document.getElementById('setting-SMMS_SECRET_TOKEN').hidden && document.getElementById('setting-LOCAL_IMAGE_TTL_HOURS').hidden`)
	exceptions, _ := ev.snapshot()
	if len(exceptions) > 0 {
		t.Fatalf("script errors: %q", exceptions)
	}
}
