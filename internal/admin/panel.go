package admin

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/rpcstatus"
)

// ModelLister is the upstream model list (the gemini package's cache), for the settings editor's model
// picker.
type ModelLister interface {
	List(ctx context.Context, snap *config.Snapshot) ([]map[string]json.RawMessage, error)
}

// Panel serves what the web panel needs beyond the plain settings and key routes: the settings
// schema with bilingual help, one secret on request, the model list, proxy checks, and key ids and
// values for bulk actions and copying.
type Panel struct {
	Settings *config.Manager
	Pool     *keypool.Pool
	Models   ModelLister
	Store    KeyStore
	Vertex   *KeySet // ?pool=vertex: the Vertex AI Express keys; nil: Gemini keys only

	proxyCache proxyCache
}

// proxyCacheTTL is how long a proxy check's result is reused, as the reference's (§22.2): a page
// that checks every proxy twice in a row need not wait twice.
const proxyCacheTTL = 10 * time.Second

// proxyCache holds recent proxy check results by proxy URL; the zero value is ready.
type proxyCache struct {
	mu sync.Mutex
	m  map[string]cachedProxy
}

type cachedProxy struct {
	res ProxyResult
	at  time.Time
}

func (c *proxyCache) get(proxy string, now time.Time) (ProxyResult, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[proxy]
	if !ok || now.Sub(e.at) >= proxyCacheTTL {
		return ProxyResult{}, false
	}
	return e.res, true
}

func (c *proxyCache) put(proxy string, res ProxyResult, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cachedProxy{}
	}
	// Expired entries go first, so the cache never outgrows the proxies checked in the last seconds.
	for k, e := range c.m {
		if now.Sub(e.at) >= proxyCacheTTL {
			delete(c.m, k)
		}
	}
	c.m[proxy] = cachedProxy{res, now}
}

// stats counts the cached results and those still fresh.
func (c *proxyCache) stats() (total, fresh int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for _, e := range c.m {
		total++
		if now.Sub(e.at) < proxyCacheTTL {
			fresh++
		}
	}
	return total, fresh
}

func (c *proxyCache) clear() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.m)
	c.m = nil
	return n
}

// Register mounts the panel's routes on h.
func (p *Panel) Register(h *Handler) {
	h.Handle("GET /api/config/schema", p.schema)
	h.Handle("POST /api/config/reveal", p.reveal)
	h.Handle("GET /api/config/models", p.models)
	h.Handle("POST /api/config/proxy/check", p.checkProxy)
	h.Handle("POST /api/config/proxy/check-all", p.checkProxies)
	h.Handle("GET /api/keys/ids", p.keyIDs)
	h.Handle("POST /api/keys/copy", p.copyKeys)
	h.Handle("POST /api/keys/delete-text", p.deleteText)
}

type text struct {
	EN string `json:"en"`
	ZH string `json:"zh"`
}

type groupSchema struct {
	ID    string `json:"id"`
	Title text   `json:"title"`
}

// settingSchema tells the editor how to show and check one setting.
type settingSchema struct {
	Name        string              `json:"name"`
	Group       string              `json:"group"`
	Kind        string              `json:"kind"`
	Help        text                `json:"help"`
	Secret      bool                `json:"secret"`
	EnvOnly     bool                `json:"env_only"`
	Required    bool                `json:"required,omitempty"`
	Options     []string            `json:"options,omitempty"`
	Min         *float64            `json:"min,omitempty"`
	Max         *float64            `json:"max,omitempty"`
	Default     any                 `json:"default,omitempty"`
	Widget      string              `json:"widget,omitempty"`
	ItemOptions map[string][]string `json:"item_options,omitempty"`
	Suggestions []string            `json:"suggestions,omitempty"`
	ShownWhen   *config.When        `json:"shown_when,omitempty"`
	// EnvSet and EnvValue show the admin what env says, since the stored value wins over it (FAQ 2, 8);
	// EnvValue is left out for secrets.
	EnvSet         bool   `json:"env_set"`
	EnvValue       string `json:"env_value,omitempty"`
	EnvDiffers     bool   `json:"env_differs"`
	DefaultDiffers bool   `json:"default_differs"`
}

func (p *Panel) schema(w http.ResponseWriter, _ *http.Request) {
	snap := p.Settings.Current()
	groups := make([]groupSchema, 0, len(config.Groups))
	for _, g := range config.Groups {
		t := g.Title()
		groups = append(groups, groupSchema{ID: string(g), Title: text{EN: t.EN, ZH: t.ZH}})
	}
	out := make([]settingSchema, 0, len(config.All()))
	for _, d := range config.All() {
		out = append(out, p.describe(snap, d))
	}
	writeJSON(w, http.StatusOK, map[string]any{"groups": groups, "settings": out, "version": snap.Version()})
}

func (p *Panel) describe(snap *config.Snapshot, d *config.Def) settingSchema {
	s := settingSchema{Name: d.Name, Group: string(d.Group), Kind: d.Kind.String(), Help: text{EN: d.Help.EN, ZH: d.Help.ZH},
		Secret: d.Secret, EnvOnly: d.Bootstrap, Required: d.NonEmpty, Options: d.Options, Min: d.Min, Max: d.Max,
		Widget: d.Widget, ItemOptions: d.ItemOptions, Suggestions: d.Suggestions, ShownWhen: d.ShownWhen}
	if !d.Secret {
		s.Default = d.Default
	}
	cur := snap.Value(d)
	s.DefaultDiffers = !reflect.DeepEqual(cur, d.Default)
	if raw, ok := p.Settings.Env(d.Name); ok {
		s.EnvSet = true
		if !d.Secret {
			s.EnvValue = raw
		}
		if v, err := d.Parse(raw); err == nil {
			s.EnvDiffers = !reflect.DeepEqual(cur, v)
		}
	}
	return s
}

// reveal takes {"names":[...]} and returns those settings' values in full. It is a POST so that it
// needs the panel's CSRF token, like every call that hands out a secret.
func (p *Panel) reveal(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Names []string `json:"names"`
	}
	if err := decode(r, &body); err != nil || len(body.Names) == 0 {
		rpcstatus.Write(w, http.StatusBadRequest, `expected {"names":["SETTING", ...]}`)
		return
	}
	snap := p.Settings.Current()
	values := make(map[string]any, len(body.Names))
	for _, name := range body.Names {
		d, ok := config.Lookup(name)
		if !ok {
			rpcstatus.Write(w, http.StatusBadRequest, name+": unknown setting")
			return
		}
		values[name] = snap.Value(d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"values": values})
}

type modelEntry struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name,omitempty"`
}

// models lists the upstream models by name for the picker (cached by the model list for minutes).
func (p *Panel) models(w http.ResponseWriter, r *http.Request) {
	if p.Models == nil {
		writeJSON(w, http.StatusOK, map[string]any{"models": []modelEntry{}})
		return
	}
	list, err := p.Models.List(r.Context(), p.Settings.Current())
	if err != nil {
		rpcstatus.Write(w, http.StatusBadGateway, "Could not fetch the model list from Gemini: "+err.Error())
		return
	}
	out := make([]modelEntry, 0, len(list))
	for _, m := range list {
		var e modelEntry
		_ = json.Unmarshal(m["name"], &e.Name)
		_ = json.Unmarshal(m["displayName"], &e.DisplayName)
		if e.Name = strings.TrimPrefix(e.Name, "models/"); e.Name != "" {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b modelEntry) int { return strings.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, map[string]any{"models": out})
}

// Proxy checks, as the reference's (§22.2) but against BASE_URL's host, which is what the proxies are
// used for, instead of www.google.com.
const (
	proxyCheckTimeout     = 10 * time.Second
	proxyCheckConcurrency = 5
	maxProxiesPerCheck    = 500
)

// ProxyResult is the outcome of checking one proxy. Proxy is shown without its password; Index is the
// proxy's position in the request (or in PROXIES when the request named none).
type ProxyResult struct {
	Proxy        string  `json:"proxy"`
	Index        int     `json:"index"`
	IsAvailable  bool    `json:"is_available"`
	ResponseTime float64 `json:"response_time"`
	ErrorMessage string  `json:"error_message,omitempty"`
	CheckedAt    int64   `json:"checked_at"`
}

func (p *Panel) checkProxy(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Proxy    string `json:"proxy"`
		UseCache *bool  `json:"use_cache"`
	}
	if err := decode(r, &body); err != nil || strings.TrimSpace(body.Proxy) == "" {
		rpcstatus.Write(w, http.StatusBadRequest, `expected {"proxy":"socks5://host:port"}`)
		return
	}
	writeJSON(w, http.StatusOK, p.cachedCheck(r.Context(), strings.TrimSpace(body.Proxy), 0, body.UseCache == nil || *body.UseCache))
}

// checkProxies takes {"proxies":[...]}; without proxies it checks the configured PROXIES, so they can
// be tested without revealing them.
func (p *Panel) checkProxies(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Proxies  []string `json:"proxies"`
		UseCache *bool    `json:"use_cache"`
	}
	if err := decode(r, &body); err != nil {
		rpcstatus.Write(w, http.StatusBadRequest, err.Error())
		return
	}
	proxies := body.Proxies
	if len(proxies) == 0 {
		proxies = config.Proxies.Get(p.Settings.Current())
	}
	if len(proxies) > maxProxiesPerCheck {
		rpcstatus.Write(w, http.StatusBadRequest, "too many proxies in one check; send at most 500")
		return
	}
	results := make([]ProxyResult, len(proxies))
	sem := make(chan struct{}, proxyCheckConcurrency)
	var wg sync.WaitGroup
	for i, proxy := range proxies {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = p.cachedCheck(r.Context(), strings.TrimSpace(proxy), i, body.UseCache == nil || *body.UseCache)
		}()
	}
	wg.Wait()
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

// cachedCheck checks a proxy, reusing a result of the last proxyCacheTTL when useCache.
func (p *Panel) cachedCheck(ctx context.Context, proxy string, index int, useCache bool) ProxyResult {
	if useCache {
		if res, ok := p.proxyCache.get(proxy, time.Now()); ok {
			res.Index = index
			return res
		}
	}
	res := p.check(ctx, proxy, index)
	p.proxyCache.put(proxy, res, time.Now())
	return res
}

func (p *Panel) check(ctx context.Context, proxy string, index int) ProxyResult {
	res := ProxyResult{Proxy: proxy, Index: index, CheckedAt: time.Now().Unix()}
	u, err := url.Parse(proxy)
	if err != nil || u.Hostname() == "" || !slices.Contains([]string{"http", "https", "socks5", "socks5h"}, u.Scheme) {
		res.Proxy, res.ErrorMessage = "", "Invalid proxy format (want http://, https:// or socks5://host:port)"
		return res
	}
	res.Proxy = u.Redacted()
	target, err := url.Parse(config.BaseURL.Get(p.Settings.Current()))
	if err != nil || target.Host == "" {
		res.ErrorMessage = "BASE_URL is not a URL"
		return res
	}
	ctx, cancel := context.WithTimeout(ctx, proxyCheckTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodHead, target.Scheme+"://"+target.Host+"/", nil)
	// A fresh transport per check: a pooled connection would hide a proxy that just went down.
	transport := &http.Transport{Proxy: http.ProxyURL(u), TLSHandshakeTimeout: proxyCheckTimeout, DisableKeepAlives: true}
	client := &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	start := time.Now()
	resp, err := client.Do(req)
	res.ResponseTime = math.Round(time.Since(start).Seconds()*1000) / 1000
	if err != nil {
		res.ErrorMessage = proxyError(err, u)
		return res
	}
	resp.Body.Close()
	// Any answer from the far side proves the path works; 407 and gateway errors come from the proxy.
	switch {
	case resp.StatusCode == http.StatusProxyAuthRequired:
		res.ErrorMessage = "the proxy wants credentials (407)"
	case resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout:
		res.ErrorMessage = "the proxy could not reach " + target.Host + " (" + resp.Status + ")"
	default:
		res.IsAvailable = true
	}
	return res
}

// proxyError describes a failed check without the proxy's password, which url errors quote.
func proxyError(err error, u *url.URL) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer within 10 s"
	}
	msg := err.Error()
	if pw, ok := u.User.Password(); ok && pw != "" {
		msg = strings.ReplaceAll(msg, pw, "xxxxx")
	}
	return msg
}

// keyFilter selects keys for the key list: a status (usable, cooling, disabled), a least number of
// failures, and a search text that matches any part of the full key (case-insensitively), its id, its
// masked form or one of its tags.
type keyFilter struct {
	status      string
	search      string
	exact       string
	minFailures int
	now         time.Time
}

func newKeyFilter(q url.Values) keyFilter {
	s := strings.TrimSpace(q.Get("search"))
	return keyFilter{status: strings.ToLower(q.Get("status")), search: strings.ToLower(s), exact: s,
		minFailures: clampInt(q.Get("min_failures"), 0, 0, 1<<30), now: time.Now()}
}

// cooling reports a usable key that at least one model may not use right now.
func (f keyFilter) cooling(k *keypool.Key) bool {
	return !k.Disabled() && len(k.CooldownsAt(f.now)) > 0
}

func (f keyFilter) match(k *keypool.Key, cooling bool) bool {
	switch f.status {
	case "usable":
		if k.Disabled() {
			return false
		}
	case "cooling":
		if !cooling {
			return false
		}
	case "disabled":
		if !k.Disabled() {
			return false
		}
	}
	if f.minFailures > 0 && k.Failures() < f.minFailures {
		return false
	}
	if f.search == "" {
		return true
	}
	if containsFold(k.Value(), f.exact) || strings.Contains(k.ID(), f.search) {
		return true
	}
	// Only a search with the ellipsis can match the masked form; masking every key of a large pool
	// for each search would cost an allocation per key.
	if strings.Contains(f.search, "…") && strings.Contains(strings.ToLower(k.Masked()), f.search) {
		return true
	}
	return slices.ContainsFunc(k.Meta().Tags, func(t string) bool { return strings.Contains(strings.ToLower(t), f.search) })
}

// containsFold reports whether sub is in s, ignoring ASCII case, without allocating: the key list
// runs it over every key of the pool on each keystroke of a search.
func containsFold(s, sub string) bool {
	if strings.Contains(s, sub) {
		return true
	}
	if !hasLetter(sub) {
		return false // the exact search was the whole answer
	}
	first := lowerASCII(sub[0])
	for i := 0; i+len(sub) <= len(s); i++ {
		if lowerASCII(s[i]) == first && strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

func hasLetter(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') }) >= 0
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func (p *Panel) set(r *http.Request) KeySet {
	return chooseSet(r, KeySet{Pool: p.Pool, List: config.APIKeys}, p.Vertex)
}

// keyIDs lists the ids of every key matching the filter, for actions on "all matching" keys that the
// page sends in batches.
func (p *Panel) keyIDs(w http.ResponseWriter, r *http.Request) {
	ks := p.set(r)
	f := newKeyFilter(r.URL.Query())
	ids := []string{}
	for _, k := range ks.Pool.Keys() {
		if f.match(k, f.status == "cooling" && f.cooling(k)) {
			ids = append(ids, k.ID())
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"ids": ids, "count": len(ids)})
}

// copyKeys takes {"ids":[...]} and returns those keys in full, in the order asked, for the copy
// buttons. Keys travel only in this answer, never in a URL.
func (p *Panel) copyKeys(w http.ResponseWriter, r *http.Request) {
	ks := p.set(r)
	var body selection
	if err := decode(r, &body); err != nil || (!body.All && len(body.IDs) == 0) {
		rpcstatus.Write(w, http.StatusBadRequest, `expected {"ids":["<key id>", ...]} or {"all":true}`)
		return
	}
	keys := []string{}
	var unknown []string
	if body.All {
		for _, k := range ks.Pool.Keys() {
			keys = append(keys, k.Value())
		}
	}
	for _, id := range body.IDs {
		if k, ok := ks.Pool.LookupID(id); ok {
			keys = append(keys, k.Value())
		} else {
			unknown = append(unknown, id)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys, "not_found": unknown})
}

// deleteText takes {"text":"..."}: every key found in the pasted text leaves API_KEYS, like the
// reference's bulk-delete dialog.
func (p *Panel) deleteText(w http.ResponseWriter, r *http.Request) {
	ks := p.set(r)
	var body struct {
		Text string `json:"text"`
	}
	if err := decode(r, &body); err != nil {
		rpcstatus.Write(w, http.StatusBadRequest, err.Error())
		return
	}
	drop := map[string]bool{}
	for _, s := range ks.extract(body.Text) {
		drop[s] = true
	}
	current := ks.List.Get(p.Settings.Current())
	next := make([]string, 0, len(current))
	var gone []string
	for _, s := range current {
		if drop[s] {
			gone = append(gone, s)
		} else {
			next = append(next, s)
		}
	}
	out := map[string]any{"found": len(drop), "deleted": len(gone), "not_found": len(drop) - len(gone), "total": len(next)}
	if len(gone) == 0 {
		writeJSON(w, http.StatusOK, out)
		return
	}
	if err := p.Settings.Update(r.Context(), map[string]string{ks.List.Name(): ks.List.Def().Format(next)}); err != nil {
		rpcstatus.Write(w, http.StatusInternalServerError, "could not save the keys: "+err.Error())
		return
	}
	if p.Store != nil {
		if err := p.Store.DeleteKeyStates(r.Context(), gone); err != nil {
			out["warning"] = "the keys' saved state could not be removed: " + err.Error()
		}
	}
	writeJSON(w, http.StatusOK, out)
}
