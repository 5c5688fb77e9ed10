package jobs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/testutil"
)

// fakeClock moves only when told; timers fire when it reaches their time.
type fakeClock struct {
	mu     sync.Mutex
	cond   *sync.Cond
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(now time.Time) *fakeClock {
	c := &fakeClock{now: now}
	c.cond = sync.NewCond(&c.mu)
	return c
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) At(t time.Time) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ft := &fakeTimer{at: t, ch: make(chan time.Time, 1)}
	if !t.After(c.now) {
		ft.ch <- c.now
		return ft.ch, func() bool { return false }
	}
	c.timers = append(c.timers, ft)
	c.cond.Broadcast()
	return ft.ch, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		i := slices.Index(c.timers, ft)
		if i >= 0 {
			c.timers = slices.Delete(c.timers, i, i+1)
		}
		c.cond.Broadcast()
		return i >= 0
	}
}

// waitTimer blocks until the scheduler sleeps on a timer and returns its time.
func (c *fakeClock) waitTimer(t *testing.T) time.Time {
	t.Helper()
	deadline := time.AfterFunc(testutil.GiveUp, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer deadline.Stop()
	start := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.timers) == 0 {
		if time.Since(start) > testutil.GiveUp {
			t.Fatal("the scheduler never waited on a timer")
		}
		c.cond.Wait()
	}
	earliest := c.timers[0].at
	for _, ft := range c.timers[1:] {
		if ft.at.Before(earliest) {
			earliest = ft.at
		}
	}
	return earliest
}

// advanceTo moves the clock to t and fires the timers due by then.
func (c *fakeClock) advanceTo(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	kept := c.timers[:0]
	for _, ft := range c.timers {
		if !ft.at.After(t) {
			ft.ch <- t
		} else {
			kept = append(kept, ft)
		}
	}
	c.timers = kept
}

func snapshot(t *testing.T, env map[string]string) *config.Snapshot {
	t.Helper()
	s, err := config.FromEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type settingsBox struct {
	mu   sync.Mutex
	snap *config.Snapshot
}

func (b *settingsBox) get() *config.Snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.snap
}

func (b *settingsBox) set(s *config.Snapshot) {
	b.mu.Lock()
	b.snap = s
	b.mu.Unlock()
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// recorder is a job body that reports the clock's time of every run.
func recorder(c *fakeClock) (func(context.Context) error, chan time.Time) {
	ch := make(chan time.Time, 100)
	return func(context.Context) error { ch <- c.Now(); return nil }, ch
}

// waitIdle waits until no job of s is marked as running.
func waitIdle(t *testing.T, s *Scheduler) {
	t.Helper()
	testutil.Eventually(t, "every job run to finish", func() bool {
		for _, st := range s.Jobs() {
			if st.Running {
				return false
			}
		}
		return true
	})
}

func receive(t *testing.T, ch chan time.Time) time.Time {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testutil.GiveUp):
		t.Fatal("the job did not run")
	}
	return time.Time{}
}

func TestIntervalJob(t *testing.T) {
	start := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
	c := newFakeClock(start)
	box := &settingsBox{snap: snapshot(t, map[string]string{"CHECK_INTERVAL_HOURS": "2", "TIMEZONE": "UTC"})}
	s := New(Options{Settings: box.get, Clock: c, Logger: quiet()})
	defer s.Close()
	run, ran := recorder(c)
	every := func(snap *config.Snapshot) time.Duration {
		return time.Duration(config.CheckIntervalHours.Get(snap)) * time.Hour
	}
	if err := s.Register(Job{Name: "check", Every: every, Run: run}); err != nil {
		t.Fatal(err)
	}
	if err := s.Register(Job{Name: "check", Run: run}); !errors.Is(err, ErrExists) {
		t.Fatalf("second registration: %v", err)
	}
	s.Start()
	for i := 1; i <= 3; i++ {
		at := c.waitTimer(t)
		if want := start.Add(time.Duration(2*i) * time.Hour); !at.Equal(want) {
			t.Fatalf("run %d scheduled at %v, want %v", i, at, want)
		}
		c.advanceTo(at)
		if got := receive(t, ran); !got.Equal(at) {
			t.Fatalf("run %d at %v, want %v", i, got, at)
		}
		// The job reported from inside its run; the scheduler only marks it finished afterwards, and a
		// run still marked as going makes the next turn a (correct) "skipped: still running".
		waitIdle(t, s)
	}
	// Settings change: the new interval counts from the change.
	c.advanceTo(c.Now().Add(30 * time.Minute))
	changed := snapshot(t, map[string]string{"CHECK_INTERVAL_HOURS": "5", "TIMEZONE": "UTC"})
	old := box.get()
	box.set(changed)
	s.Reconfigure(old, changed)
	var at time.Time
	testutil.Eventually(t, "the timer five hours on", func() bool { at = c.waitTimer(t); return at.Equal(c.Now().Add(5 * time.Hour)) })
	// Interval 0 unschedules the job.
	off := snapshot(t, map[string]string{"CHECK_INTERVAL_HOURS": "0", "TIMEZONE": "UTC"})
	box.set(off)
	s.Reconfigure(changed, off)
	testutil.Eventually(t, "the job to turn manual", func() bool { return s.Jobs()[0].Next.IsZero() && s.Jobs()[0].Schedule == "manual" })
	st := s.Jobs()[0]
	if st.Runs != 3 || st.Failures != 0 || st.Running {
		t.Fatalf("status %+v", st)
	}
}

// A daily job at midnight in New York across the spring-forward and fall-back changes of 2025 runs
// once per local day, at local midnight; one at 02:30 (skipped on spring-forward day) runs at 03:00
// that day; one at 01:30 (twice on fall-back day) runs once.
func TestDailyJobAcrossDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name         string
		hour, minute int
		from         time.Time
		want         []string // local wall times of consecutive runs
	}{
		{"midnight spring", 0, 0, time.Date(2025, 3, 8, 12, 0, 0, 0, ny),
			[]string{"2025-03-09 00:00 EST", "2025-03-10 00:00 EDT", "2025-03-11 00:00 EDT"}},
		{"skipped time", 2, 30, time.Date(2025, 3, 8, 12, 0, 0, 0, ny),
			[]string{"2025-03-09 03:00 EDT", "2025-03-10 02:30 EDT"}},
		{"repeated time", 1, 30, time.Date(2025, 11, 1, 12, 0, 0, 0, ny),
			[]string{"2025-11-02 01:30 EDT", "2025-11-03 01:30 EST"}},
		{"midnight fall", 0, 0, time.Date(2025, 11, 1, 12, 0, 0, 0, ny),
			[]string{"2025-11-02 00:00 EDT", "2025-11-03 00:00 EST"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeClock(tc.from)
			snap := snapshot(t, map[string]string{"TIMEZONE": "America/New_York"})
			s := New(Options{Settings: func() *config.Snapshot { return snap }, Clock: c, Logger: quiet()})
			defer s.Close()
			run, ran := recorder(c)
			at := func(*config.Snapshot) (int, int, bool) { return tc.hour, tc.minute, true }
			if err := s.Register(Job{Name: "daily", At: at, Run: run}); err != nil {
				t.Fatal(err)
			}
			s.Start()
			var prev time.Time
			for _, want := range tc.want {
				next := c.waitTimer(t)
				c.advanceTo(next)
				got := receive(t, ran)
				waitIdle(t, s)
				if s := got.In(ny).Format("2006-01-02 15:04 MST"); s != want {
					t.Fatalf("run at %s, want %s", s, want)
				}
				if !prev.IsZero() && got.Sub(prev) < 22*time.Hour {
					t.Fatalf("two runs %v apart", got.Sub(prev))
				}
				prev = got
			}
		})
	}
}

func TestTimezoneChangeReschedulesDailyJob(t *testing.T) {
	start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	c := newFakeClock(start)
	box := &settingsBox{snap: snapshot(t, map[string]string{"TIMEZONE": "UTC"})}
	s := New(Options{Settings: box.get, Clock: c, Logger: quiet()})
	defer s.Close()
	run, _ := recorder(c)
	if err := s.Register(Job{Name: "midnight", At: func(*config.Snapshot) (int, int, bool) { return 0, 0, true }, Run: run}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	if at := c.waitTimer(t); !at.Equal(time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("UTC midnight scheduled at %v", at)
	}
	shanghai := snapshot(t, map[string]string{"TIMEZONE": "Asia/Shanghai"})
	old := box.get()
	box.set(shanghai)
	s.Reconfigure(old, shanghai)
	// Midnight in Shanghai (UTC+8) after 12:00 UTC is 16:00 UTC the same day.
	testutil.Eventually(t, "the timer at 16:00 UTC", func() bool { return c.waitTimer(t).Equal(time.Date(2025, 6, 1, 16, 0, 0, 0, time.UTC)) })
	if got := s.Jobs()[0].Schedule; got != "daily at 00:00 Asia/Shanghai" {
		t.Fatalf("schedule %q", got)
	}
	bad := snapshot(t, map[string]string{"TIMEZONE": "Mars/Olympus"})
	box.set(bad)
	s.Reconfigure(shanghai, bad)
	testutil.Eventually(t, "the timer at midnight UTC", func() bool { return c.waitTimer(t).Equal(time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)) })
}

func TestNoOverlapTimeoutPanicAndRunNow(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newFakeClock(start)
	snap := snapshot(t, map[string]string{"TIMEZONE": "UTC"})
	s := New(Options{Settings: func() *config.Snapshot { return snap }, Clock: c, Logger: quiet()})
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	var mu sync.Mutex
	runs := 0
	slow := Job{Name: "slow", Every: func(*config.Snapshot) time.Duration { return time.Minute }, Run: func(ctx context.Context) error {
		mu.Lock()
		runs++
		mu.Unlock()
		started <- struct{}{}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	if err := s.Register(slow); err != nil {
		t.Fatal(err)
	}
	if err := s.Register(Job{Name: "boom", Run: func(context.Context) error { panic("kaput") }}); err != nil {
		t.Fatal(err)
	}
	if err := s.Register(Job{Name: "late", Timeout: 10 * time.Millisecond, Run: func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	c.advanceTo(c.waitTimer(t))
	<-started
	// Two more turns come while the first run is still going: both are skipped.
	for range 2 {
		next := c.waitTimer(t)
		c.advanceTo(next)
	}
	c.waitTimer(t) // the loop has handled the last turn once it sleeps again
	if _, err := s.RunNow("slow"); !errors.Is(err, ErrRunning) {
		t.Fatalf("RunNow on a running job: %v", err)
	}
	close(release)
	testutil.Eventually(t, "the run to end", func() bool { return !s.Jobs()[0].Running })
	mu.Lock()
	if runs != 1 {
		t.Fatalf("slow ran %d times while overlapping, want 1", runs)
	}
	mu.Unlock()

	done, err := s.RunNow("boom")
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil || err.Error() != "panic: kaput" {
		t.Fatalf("panicking job returned %v", err)
	}
	done, err = s.RunNow("late")
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timed-out job returned %v", err)
	}
	if _, err := s.RunNow("nope"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("unknown job: %v", err)
	}
	st := s.Jobs()
	if st[1].Failures != 1 || st[1].LastError != "panic: kaput" || st[1].Schedule != "manual" || !st[1].Next.IsZero() {
		t.Fatalf("boom status %+v", st[1])
	}
	s.Close()
	if _, err := s.RunNow("boom"); err == nil {
		t.Fatal("RunNow after Close succeeded")
	}
}

func TestCloseCancelsRunningJobs(t *testing.T) {
	snap := snapshot(t, map[string]string{"TIMEZONE": "UTC"})
	s := New(Options{Settings: func() *config.Snapshot { return snap }, Logger: quiet()})
	s.Start()
	inside := make(chan struct{})
	if err := s.Register(Job{Name: "wait", Run: func(ctx context.Context) error { close(inside); <-ctx.Done(); return ctx.Err() }}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RunNow("wait"); err != nil {
		t.Fatal(err)
	}
	<-inside
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(testutil.GiveUp):
		t.Fatal("Close did not cancel the running job")
	}
}
