package version

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gemgate/gemgate/internal/config"
)

func TestRepo(t *testing.T) {
	for _, tc := range []struct {
		owner, name, want string
	}{
		{"", "", ""}, // the defaults: Gemini Balance's repository
		{"snailyp", "gemini-balance", ""},
		{"SnailYP", "Gemini-Balance", ""},
		{"gemgate", "gemgate", "gemgate/gemgate"},
		{"me", "", ""},
		{" me ", " fork ", "me/fork"},
	} {
		env := map[string]string{}
		if tc.owner != "" || tc.name != "" {
			env[config.GitHubRepoOwner.Name()] = tc.owner
			env[config.GitHubRepoName.Name()] = tc.name
		}
		snap, err := config.FromEnv(env)
		if err != nil {
			t.Fatal(err)
		}
		if got := Repo(snap); got != tc.want {
			t.Errorf("Repo(%q, %q) = %q, want %q", tc.owner, tc.name, got, tc.want)
		}
	}
}

func TestNewer(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"v1.2.0", "1.1.9", true},
		{"1.10.0", "1.9.2", true},
		{"1.2", "1.2.0", false},
		{"1.2.0", "1.2.0-rc1", true},
		{"1.2.0-rc1", "1.2.0", false},
		{"1.2.0", "1.2.0", false},
		{"1.1.0", "1.2.0", false},
		{"v2.0.0+build5", "1.9.9", true},
		{"latest", "1.0.0", false},
		{"1.0.0", "dev", false},
		{"1.2.3.4", "1.0.0", false},
	} {
		if got := Newer(tc.a, tc.b); got != tc.want {
			t.Errorf("Newer(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// fakeGitHub answers /repos/{repo}/releases/latest with tag, counting calls.
func fakeGitHub(t *testing.T, tag string, status int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path != "/repos/gemgate/gemgate/releases/latest" || r.Header.Get("User-Agent") == "" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"tag_name":"` + tag + `","html_url":"https://github.com/gemgate/gemgate/releases/tag/` + tag + `"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestCheckAndLatest(t *testing.T) {
	gh, _ := fakeGitHub(t, "v1.3.0", http.StatusOK)
	repo := "gemgate/gemgate"
	c := NewChecker("1.2.0", func() string { return repo }, Options{API: gh.URL})
	if s := c.Latest(); s.Latest != "" || s.UpdateAvailable || s.Current != "1.2.0" || s.Repo != repo {
		t.Fatalf("before any check: %+v", s)
	}
	if err := c.Check(t.Context(), repo); err != nil {
		t.Fatal(err)
	}
	s := c.Latest()
	if s.Latest != "1.3.0" || !s.UpdateAvailable || s.URL != "https://github.com/gemgate/gemgate/releases/tag/v1.3.0" || s.CheckedAt.IsZero() {
		t.Fatalf("after a check: %+v", s)
	}
	// Switching the repository (or turning the check off) hides a result that was about another one.
	repo = ""
	if s := c.Latest(); s.Latest != "" || s.UpdateAvailable {
		t.Fatalf("with the check off: %+v", s)
	}
}

func TestUpToDate(t *testing.T) {
	gh, _ := fakeGitHub(t, "v1.2.0", http.StatusOK)
	c := NewChecker("v1.2.0", func() string { return "gemgate/gemgate" }, Options{API: gh.URL})
	if err := c.Check(t.Context(), "gemgate/gemgate"); err != nil {
		t.Fatal(err)
	}
	if s := c.Latest(); s.Latest != "1.2.0" || s.UpdateAvailable {
		t.Fatalf("same version: %+v", s)
	}
}

func TestFailedCheckKeepsLastResult(t *testing.T) {
	good, _ := fakeGitHub(t, "v1.3.0", http.StatusOK)
	c := NewChecker("1.2.0", func() string { return "gemgate/gemgate" }, Options{API: good.URL})
	if err := c.Check(t.Context(), "gemgate/gemgate"); err != nil {
		t.Fatal(err)
	}
	limited, _ := fakeGitHub(t, "", http.StatusForbidden)
	c.api = limited.URL
	if err := c.Check(t.Context(), "gemgate/gemgate"); err == nil {
		t.Fatal("a 403 from GitHub should fail the check")
	}
	if s := c.Latest(); s.Latest != "1.3.0" {
		t.Fatalf("a failed check lost the last result: %+v", s)
	}
	// Offline: the connection is refused.
	c.api = "http://127.0.0.1:1"
	if err := c.Check(t.Context(), "gemgate/gemgate"); err == nil {
		t.Fatal("an unreachable GitHub should fail the check")
	}
	garbage, _ := fakeGitHub(t, "nightly", http.StatusOK)
	c.api = garbage.URL
	if err := c.Check(t.Context(), "gemgate/gemgate"); err == nil {
		t.Fatal("a tag that is no version should fail the check")
	}
}

// inBubble is a GitHub for tests in a synctest bubble: answered in memory (a real socket would keep the
// bubble's clock from advancing), counting calls; hang makes every call wait for its context.
func inBubble(tag string, hang bool) (*http.Client, *atomic.Int32) {
	var calls atomic.Int32
	return &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		calls.Add(1)
		if hang {
			<-r.Context().Done()
			return nil, r.Context().Err()
		}
		rec := httptest.NewRecorder()
		_, _ = rec.WriteString(`{"tag_name":"` + tag + `","html_url":"https://github.com/gemgate/gemgate/releases/tag/` + tag + `"}`)
		return rec.Result(), nil
	})}, &calls
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Run checks FirstAfter after it starts, then every Every, and returns when stopped.
func TestRunChecksInBackground(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, calls := inBubble("v9.0.0", false)
		c := NewChecker("1.0.0", func() string { return "gemgate/gemgate" },
			Options{Client: client, FirstAfter: time.Minute, Every: time.Hour})
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { c.Run(stop); close(done) }()
		time.Sleep(time.Minute - time.Nanosecond)
		synctest.Wait()
		if n := calls.Load(); n != 0 || c.Latest().UpdateAvailable {
			t.Fatalf("%d checks before FirstAfter", n)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if n := calls.Load(); n != 1 || !c.Latest().UpdateAvailable {
			t.Fatalf("%d checks at FirstAfter, status %+v", n, c.Latest())
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := calls.Load(); n != 2 {
			t.Fatalf("%d checks an hour later, want 2", n)
		}
		close(stop)
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("Run did not return after stop")
		}
	})
}

func TestRunSkips(t *testing.T) {
	for _, tc := range []struct{ name, current, repo string }{
		{"development build", "dev", "gemgate/gemgate"},
		{"not configured", "1.0.0", ""},
	} {
		synctest.Test(t, func(t *testing.T) {
			client, calls := inBubble("v9.0.0", false)
			c := NewChecker(tc.current, func() string { return tc.repo }, Options{Client: client, FirstAfter: time.Minute, Every: time.Hour})
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { c.Run(stop); close(done) }()
			time.Sleep(3 * time.Hour) // the first check's time and two more
			close(stop)
			<-done
			if n := calls.Load(); n != 0 {
				t.Fatalf("%s: %d requests to GitHub", tc.name, n)
			}
		})
	}
}

func TestCheckHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, calls := inBubble("", true)
		c := NewChecker("1.0.0", func() string { return "gemgate/gemgate" }, Options{Client: client})
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := c.Check(ctx, "gemgate/gemgate"); err == nil || calls.Load() != 1 {
			t.Fatalf("a hanging GitHub should fail the check (err %v, %d calls)", err, calls.Load())
		}
		if took := time.Since(start); took != 50*time.Millisecond {
			t.Fatalf("the check ended %v after it started, want when its context did (50ms)", took)
		}
	})
}
