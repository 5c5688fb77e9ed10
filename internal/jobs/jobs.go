// Package jobs runs gemgate's scheduled work on one scheduler: jobs that repeat at an interval and jobs
// that run daily at a time of day in TIMEZONE. Schedules are functions of the settings, evaluated again
// whenever the settings change (Reconfigure, wired to config.Manager.OnChange), so an interval or a
// time edited in the admin panel applies at once, without restart. Each run has a timeout and panic
// recovery, and a job never overlaps itself: a run that is still going when the next one is due makes
// the scheduler skip that turn.
//
// Registering a job, e.g. from app.New (App.Jobs is the scheduler):
//
//	err := a.Jobs.Register(jobs.Job{
//		Name: "check_failed_keys",
//		Every: func(s *config.Snapshot) time.Duration {
//			return time.Duration(config.CheckIntervalHours.Get(s)) * time.Hour // 0: not scheduled
//		},
//		Timeout: 10 * time.Minute,
//		Run:     func(ctx context.Context) error { return checkKeys(ctx) },
//	})
//
// or, for a daily job, At: func(s *config.Snapshot) (hour, minute int, ok bool) { return 3, 0, true }.
// A job with neither (or whose functions say "off") runs only when asked: RunNow, which the admin API
// exposes as POST /api/jobs/{name}/run. An interval job first runs one interval after it is scheduled;
// a daily job at the next occurrence of its time. Daily times follow the wall clock across daylight
// saving changes: a time skipped by the change runs at the change (the first instant the clock reads
// later), a time that occurs twice runs once.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
	_ "time/tzdata" // TIMEZONE must work in minimal containers without /usr/share/zoneinfo

	"github.com/gemgate/gemgate/internal/config"
)

// Job is one kind of scheduled work.
type Job struct {
	Name string
	// Every returns the interval between runs; 0 or less means no interval schedule.
	Every func(*config.Snapshot) time.Duration
	// At returns the daily time in TIMEZONE; ok false means no daily schedule.
	At func(*config.Snapshot) (hour, minute int, ok bool)
	// Timeout bounds one run (default 30 minutes); the run's context is cancelled after it.
	Timeout time.Duration
	Run     func(ctx context.Context) error
}

// Clock is the scheduler's time source; tests inject a fake one.
type Clock interface {
	Now() time.Time
	// At returns a channel that receives once t has come, and a function that stops it.
	At(t time.Time) (<-chan time.Time, func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) At(t time.Time) (<-chan time.Time, func() bool) {
	timer := time.NewTimer(time.Until(t))
	return timer.C, timer.Stop
}

// Options configure a Scheduler.
type Options struct {
	Settings func() *config.Snapshot // required
	Clock    Clock                   // default: the real clock
	Logger   *slog.Logger
}

// Errors of RunNow and Register.
var (
	ErrUnknown = errors.New("no such job")
	ErrRunning = errors.New("the job is already running")
	ErrExists  = errors.New("a job with that name is already registered")
)

// defaultTimeout bounds a run when the job sets none.
const defaultTimeout = 30 * time.Minute

// Scheduler runs the registered jobs from one goroutine (the runs themselves get their own).
type Scheduler struct {
	settings func() *config.Snapshot
	clock    Clock
	logger   *slog.Logger

	mu      sync.Mutex
	jobs    []*entry
	loc     *time.Location
	badZone string // the invalid TIMEZONE last warned about

	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	started bool
	closed  bool
	paused  bool // Pause: due jobs wait until Resume (Gemini Balance's /api/scheduler/stop)
	runCtx  context.Context
	cancel  context.CancelFunc
	runs    sync.WaitGroup
}

// entry is a registered job and its state; guarded by Scheduler.mu.
type entry struct {
	job     Job
	spec    spec
	next    time.Time // zero: not scheduled
	running bool
	waiters []chan error

	lastStart, lastEnd time.Time
	lastErr            string
	runs, failures     int
}

// spec is a job's schedule under one snapshot; a change of spec reschedules the job.
type spec struct {
	every        time.Duration
	daily        bool
	hour, minute int
	zone         string
}

// New returns a scheduler; Start begins running jobs.
func New(opts Options) *Scheduler {
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scheduler{settings: opts.Settings, clock: opts.Clock, logger: opts.Logger,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), runCtx: ctx, cancel: cancel}
	s.loc = s.location(opts.Settings())
	return s
}

// Register adds a job and schedules it from the current settings.
func (s *Scheduler) Register(j Job) error {
	if j.Name == "" || j.Run == nil {
		return errors.New("jobs: a job needs a name and a Run function")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.jobs {
		if e.job.Name == j.Name {
			return fmt.Errorf("jobs: %s: %w", j.Name, ErrExists)
		}
	}
	e := &entry{job: j}
	e.spec = s.specOf(j, s.settings())
	e.next = nextRun(e.spec, s.clock.Now(), s.loc)
	s.jobs = append(s.jobs, e)
	s.poke()
	return nil
}

// Start runs the scheduling loop until Close.
func (s *Scheduler) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return
	}
	s.started = true
	go s.loop()
}

// Pause holds every scheduled run until Resume; runs in progress finish, RunNow still works. It is
// Gemini Balance's POST /api/scheduler/stop, which its config page sent before saving.
func (s *Scheduler) Pause() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paused = true
}

// Resume reschedules every job from the current settings and lets them run again (Gemini Balance's
// POST /api/scheduler/start); it reports whether the scheduler was paused.
func (s *Scheduler) Resume() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	was := s.paused
	s.paused = false
	snap := s.settings()
	s.loc = s.location(snap)
	now := s.clock.Now()
	for _, e := range s.jobs {
		e.spec = s.specOf(e.job, snap)
		e.next = nextRun(e.spec, now, s.loc)
	}
	s.poke()
	return was
}

// Paused reports whether Pause holds the scheduled runs.
func (s *Scheduler) Paused() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paused
}

// Reconfigure reschedules the jobs whose schedule the new settings change; it has the signature of a
// config.Manager.OnChange listener.
func (s *Scheduler) Reconfigure(_, next *config.Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loc = s.location(next)
	now := s.clock.Now()
	for _, e := range s.jobs {
		sp := s.specOf(e.job, next)
		if sp != e.spec {
			e.spec = sp
			e.next = nextRun(sp, now, s.loc)
		}
	}
	s.poke()
}

// Close stops scheduling, cancels the runs in progress and waits for them to return.
func (s *Scheduler) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	started := s.started
	s.mu.Unlock()
	close(s.stop)
	if started {
		<-s.done
	}
	s.cancel()
	s.runs.Wait()
}

// RunNow starts a job at once, outside its schedule. The channel receives the run's result.
func (s *Scheduler) RunNow(name string) (<-chan error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("jobs: the scheduler is stopped")
	}
	for _, e := range s.jobs {
		if e.job.Name != name {
			continue
		}
		if e.running {
			return nil, fmt.Errorf("jobs: %s: %w", name, ErrRunning)
		}
		done := make(chan error, 1)
		e.waiters = append(e.waiters, done)
		s.start(e, s.clock.Now())
		return done, nil
	}
	return nil, fmt.Errorf("jobs: %q: %w", name, ErrUnknown)
}

// Status is a job as the admin API lists it.
type Status struct {
	Name           string    `json:"name"`
	Schedule       string    `json:"schedule"`
	Next           time.Time `json:"next_run,omitzero"`
	Running        bool      `json:"running"`
	LastStart      time.Time `json:"last_start,omitzero"`
	LastEnd        time.Time `json:"last_end,omitzero"`
	LastDurationMS int64     `json:"last_duration_ms"`
	LastError      string    `json:"last_error,omitempty"`
	Runs           int       `json:"runs"`
	Failures       int       `json:"failures"`
}

// Jobs lists the registered jobs in registration order.
func (s *Scheduler) Jobs() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, 0, len(s.jobs))
	for _, e := range s.jobs {
		st := Status{Name: e.job.Name, Schedule: e.spec.String(), Next: e.next, Running: e.running, LastStart: e.lastStart,
			LastEnd: e.lastEnd, LastError: e.lastErr, Runs: e.runs, Failures: e.failures}
		if !e.lastEnd.IsZero() && !e.lastEnd.Before(e.lastStart) {
			st.LastDurationMS = e.lastEnd.Sub(e.lastStart).Milliseconds()
		}
		out = append(out, st)
	}
	return out
}

func (sp spec) String() string {
	switch {
	case sp.every > 0:
		return "every " + sp.every.String()
	case sp.daily:
		return fmt.Sprintf("daily at %02d:%02d %s", sp.hour, sp.minute, sp.zone)
	}
	return "manual"
}

func (s *Scheduler) specOf(j Job, snap *config.Snapshot) spec {
	if j.Every != nil {
		if d := j.Every(snap); d > 0 {
			return spec{every: d}
		}
	}
	if j.At != nil {
		if h, m, ok := j.At(snap); ok {
			return spec{daily: true, hour: h, minute: m, zone: s.loc.String()}
		}
	}
	return spec{}
}

// location reads TIMEZONE; an invalid zone falls back to UTC, with one warning per bad value.
func (s *Scheduler) location(snap *config.Snapshot) *time.Location {
	name := config.Timezone.Get(snap)
	loc, err := time.LoadLocation(name)
	if err == nil {
		return loc
	}
	if s.badZone != name {
		s.badZone = name
		s.logger.Warn("TIMEZONE is not a known time zone; scheduled jobs use UTC", "timezone", name, "err", err)
	}
	return time.UTC
}

// nextRun is the first run of sp strictly after now; zero when sp schedules nothing.
func nextRun(sp spec, now time.Time, loc *time.Location) time.Time {
	switch {
	case sp.every > 0:
		return now.Add(sp.every)
	case sp.daily:
		return nextDaily(now, sp.hour, sp.minute, loc)
	}
	return time.Time{}
}

// nextDaily is the first hour:minute in loc strictly after now. A wall time that a daylight saving
// change skips becomes the instant of the change (when the clock first reads later than it); of a wall
// time that occurs twice, time.Date picks one, so the job runs once every local day.
func nextDaily(now time.Time, hour, minute int, loc *time.Location) time.Time {
	local := now.In(loc)
	for day := 0; day < 3; day++ {
		t := time.Date(local.Year(), local.Month(), local.Day()+day, hour, minute, 0, 0, loc)
		if lt := t.In(loc); lt.Hour() != hour || lt.Minute() != minute {
			// time.Date normalised a skipped time to before the change; the zone it landed in ends
			// at the change.
			if _, end := t.ZoneBounds(); !end.IsZero() {
				t = end
			}
		}
		if t.After(now) {
			return t
		}
	}
	return now.Add(24 * time.Hour) // unreachable: one of three consecutive days is after now
}

// poke wakes the loop to look at the schedules again.
func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Scheduler) loop() {
	defer close(s.done)
	for {
		next := s.runDue()
		var fire <-chan time.Time
		stop := func() bool { return false }
		if !next.IsZero() {
			fire, stop = s.clock.At(next)
		}
		select {
		case <-fire:
		case <-s.wake:
		case <-s.stop:
			stop()
			return
		}
		stop()
	}
}

// runDue starts the jobs that are due and returns the earliest next run.
func (s *Scheduler) runDue() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paused {
		return time.Time{} // Resume pokes the loop
	}
	now := s.clock.Now()
	var earliest time.Time
	for _, e := range s.jobs {
		if e.next.IsZero() {
			continue
		}
		if !e.next.After(now) {
			if e.running {
				s.logger.Warn("scheduled job skipped: its previous run is still going", "job", e.job.Name)
			} else {
				s.start(e, now)
			}
			e.next = following(e.spec, e.next, now, s.loc)
		}
		if earliest.IsZero() || e.next.Before(earliest) {
			earliest = e.next
		}
	}
	return earliest
}

// following is the run after the one due at due: an interval keeps its phase unless the scheduler fell
// behind by more than one interval (a suspended machine), which skips the missed runs.
func following(sp spec, due, now time.Time, loc *time.Location) time.Time {
	if sp.every > 0 {
		if n := due.Add(sp.every); n.After(now) {
			return n
		}
	}
	return nextRun(sp, now, loc)
}

// start runs e in its own goroutine; s.mu is held.
func (s *Scheduler) start(e *entry, now time.Time) {
	e.running = true
	e.lastStart = now
	timeout := e.job.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	s.runs.Add(1)
	go func() {
		defer s.runs.Done()
		ctx, cancel := context.WithTimeout(s.runCtx, timeout)
		err := s.call(ctx, e.job)
		cancel()
		s.finish(e, err)
	}()
}

// call runs the job, turning a panic into an error so that one broken job cannot take gemgate down.
func (s *Scheduler) call(ctx context.Context, j Job) (err error) {
	defer func() {
		if v := recover(); v != nil {
			s.logger.Error("scheduled job panicked", "job", j.Name, "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	s.logger.Debug("scheduled job starting", "job", j.Name)
	return j.Run(ctx)
}

func (s *Scheduler) finish(e *entry, err error) {
	s.mu.Lock()
	e.running = false
	e.lastEnd = s.clock.Now()
	e.runs++
	e.lastErr = ""
	if err != nil {
		e.failures++
		e.lastErr = err.Error()
	}
	waiters := e.waiters
	e.waiters = nil
	took := e.lastEnd.Sub(e.lastStart)
	s.mu.Unlock()
	if err != nil {
		s.logger.Warn("scheduled job failed", "job", e.job.Name, "duration", took, "err", err)
	} else {
		s.logger.Info("scheduled job done", "job", e.job.Name, "duration", took)
	}
	for _, w := range waiters {
		w <- err
	}
}
