package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

//go:embed i18n/*.json
var catalogFiles embed.FS

// languages are the panel's languages; the first is the fallback.
var languages = []string{"en", "zh"}

const langCookie = "gemgate_lang"

// catalog holds every string of the panel, one file per language, so a translator edits one file and a
// test can check that both languages have the same keys.
type catalog map[string]map[string]string

func loadCatalog() (catalog, error) {
	c := catalog{}
	for _, lang := range languages {
		b, err := catalogFiles.ReadFile("i18n/" + lang + ".json")
		if err != nil {
			return nil, err
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("i18n/%s.json: %w", lang, err)
		}
		c[lang] = m
	}
	return c, nil
}

// text returns the string for key, falling back to English and then to the key itself, so a missing
// translation shows up as readable English rather than an empty label.
func (c catalog) text(lang, key string) string {
	if s, ok := c[lang][key]; ok {
		return s
	}
	if s, ok := c[languages[0]][key]; ok {
		return s
	}
	return key
}

func knownLang(l string) bool {
	for _, x := range languages {
		if x == l {
			return true
		}
	}
	return false
}

// pickLang chooses the page language: an explicit ?lang= switch (remembered in a cookie by the
// caller), then the cookie, then the browser's Accept-Language.
func pickLang(r *http.Request) (lang string, switched bool) {
	if l := r.URL.Query().Get("lang"); knownLang(l) {
		return l, true
	}
	if c, err := r.Cookie(langCookie); err == nil && knownLang(c.Value) {
		return c.Value, false
	}
	return acceptLang(r.Header.Get("Accept-Language")), false
}

// acceptLang takes the first listed language the panel has; q-values are rarely out of order in
// practice, and browsers list the preferred language first.
func acceptLang(header string) string {
	for part := range strings.SplitSeq(header, ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if knownLang(primary) {
			return primary
		}
	}
	return languages[0]
}
