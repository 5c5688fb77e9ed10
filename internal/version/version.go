// Package version checks a GitHub repository's releases for a newer gemgate. The check runs in the
// background at most every few hours and its result is cached: the reference asked GitHub on every admin
// page load, which let anyone reaching the page spend the server's GitHub rate limit. Offline servers
// simply never learn of an update; a failed check is not an error anyone needs to see.
package version

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gemgate/gemgate/internal/config"
)

// DefaultEvery is the pause between checks.
const DefaultEvery = 6 * time.Hour

// DefaultFirstAfter delays the first check past start-up, so short runs (tests, restarts in a crash
// loop, CLI commands) never touch the network.
const DefaultFirstAfter = time.Minute

// DefaultAPI is GitHub's REST API.
const DefaultAPI = "https://api.github.com"

// referenceRepo is the default of GITHUB_REPO_OWNER/NAME, inherited from Gemini Balance. Its releases
// number Gemini Balance, so comparing gemgate against them would announce bogus updates.
const referenceRepo = "snailyp/gemini-balance"

// Repo returns the repository the settings name as "owner/name", or "" when the check is off: either
// part empty, or still Gemini Balance's default.
func Repo(snap *config.Snapshot) string {
	owner := strings.TrimSpace(config.GitHubRepoOwner.Get(snap))
	name := strings.TrimSpace(config.GitHubRepoName.Get(snap))
	if owner == "" || name == "" || strings.EqualFold(owner+"/"+name, referenceRepo) {
		return ""
	}
	return owner + "/" + name
}

// Status is what the admin API shows.
type Status struct {
	Current         string    `json:"version"`
	Repo            string    `json:"repo,omitempty"` // "" = update check off
	Latest          string    `json:"latest,omitempty"`
	URL             string    `json:"url,omitempty"`
	UpdateAvailable bool      `json:"update_available"`
	CheckedAt       time.Time `json:"checked_at,omitzero"`
}

// Checker holds the last check's result.
type Checker struct {
	current    string
	repo       func() string
	client     *http.Client
	api        string
	every      time.Duration
	firstAfter time.Duration

	mu   sync.Mutex
	last *release
}

type release struct {
	repo, tag, url string
	at             time.Time
}

// Options tune a Checker; zero values mean the defaults.
type Options struct {
	Client     *http.Client
	API        string
	Every      time.Duration
	FirstAfter time.Duration
}

// NewChecker returns a checker for the running version current; repo is asked before every check, so a
// settings change applies to the next one.
func NewChecker(current string, repo func() string, o Options) *Checker {
	c := &Checker{current: current, repo: repo, client: o.Client, api: o.API, every: o.Every, firstAfter: o.FirstAfter}
	if c.client == nil {
		c.client = &http.Client{Timeout: 10 * time.Second}
	}
	if c.api == "" {
		c.api = DefaultAPI
	}
	if c.every <= 0 {
		c.every = DefaultEvery
	}
	if c.firstAfter <= 0 {
		c.firstAfter = DefaultFirstAfter
	}
	return c
}

// Run checks now and then until stop is closed. Development builds have no number to compare, so they
// never check.
func (c *Checker) Run(stop <-chan struct{}) {
	if _, ok := parse(c.current); !ok {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	timer := time.NewTimer(c.firstAfter)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if repo := c.repo(); repo != "" {
			_ = c.Check(ctx, repo) // the cached result stays until a check succeeds
		}
		timer.Reset(c.every)
	}
}

// Check asks GitHub for repo's latest release (drafts and pre-releases excluded) and caches it.
func (c *Checker) Check(ctx context.Context, repo string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.api+"/repos/"+repo+"/releases/latest", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("User-Agent", "gemgate/"+c.current)
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("releases of %s: GitHub answered %s", repo, resp.Status)
	}
	var rel struct {
		Tag string `json:"tag_name"`
		URL string `json:"html_url"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&rel); err != nil {
		return fmt.Errorf("releases of %s: %w", repo, err)
	}
	if _, ok := parse(rel.Tag); !ok {
		return fmt.Errorf("releases of %s: tag %q is not a version number", repo, rel.Tag)
	}
	if !strings.HasPrefix(rel.URL, "https://") {
		rel.URL = "https://github.com/" + repo + "/releases/latest"
	}
	c.mu.Lock()
	c.last = &release{repo: repo, tag: rel.Tag, url: rel.URL, at: time.Now().UTC()}
	c.mu.Unlock()
	return nil
}

// Latest returns the cached result, never waiting for the network. A result for another repository
// than the one configured now is not shown.
func (c *Checker) Latest() Status {
	s := Status{Current: c.current, Repo: c.repo()}
	c.mu.Lock()
	last := c.last
	c.mu.Unlock()
	if last == nil || s.Repo == "" || !strings.EqualFold(last.repo, s.Repo) {
		return s
	}
	s.Latest, s.URL, s.CheckedAt = strings.TrimPrefix(last.tag, "v"), last.url, last.at
	s.UpdateAvailable = Newer(last.tag, c.current)
	return s
}

// Newer reports whether version a is newer than b. Numbers compare part by part ("1.10.0" > "1.9.2"); a
// pre-release ("1.2.0-rc1") comes before its release. Anything unparseable is never newer.
func Newer(a, b string) bool {
	va, ok1 := parse(a)
	vb, ok2 := parse(b)
	if !ok1 || !ok2 {
		return false
	}
	for i := range va.nums {
		if va.nums[i] != vb.nums[i] {
			return va.nums[i] > vb.nums[i]
		}
	}
	return va.pre == "" && vb.pre != ""
}

type parsed struct {
	nums [3]int
	pre  string
}

// parse reads "v1.2.3", "1.2" or "1.2.3-rc1"; build metadata after '+' is ignored.
func parse(s string) (parsed, bool) {
	var v parsed
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	s, _, _ = strings.Cut(s, "+")
	s, v.pre, _ = strings.Cut(s, "-")
	parts := strings.Split(s, ".")
	if len(parts) > 3 {
		return v, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return v, false
		}
		v.nums[i] = n
	}
	return v, true
}
