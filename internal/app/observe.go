package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/jobs"
	"github.com/gemgate/gemgate/internal/logs"
	"github.com/gemgate/gemgate/internal/metrics"
	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/secret"
)

// secretValues is every value of a Secret() setting: keys, tokens, passwords, header values. The
// scrubber takes them out of stored logs and log lines.
func secretValues(snap *config.Snapshot) [][]string {
	var out [][]string
	for _, d := range config.All() {
		if !d.Secret {
			continue
		}
		switch v := snap.Value(d).(type) {
		case string:
			out = append(out, []string{v})
		case []string:
			out = append(out, v)
		case map[string]string:
			vals := make([]string, 0, len(v))
			for _, s := range v {
				vals = append(vals, s)
			}
			out = append(out, vals)
		}
	}
	return out
}

// observe sets up what watches the traffic: metrics, the request and error logs with their writer,
// and the job scheduler with the log clean-up jobs.
func (a *App) observe(scrub *secret.Scrubber) {
	mgr := a.Settings
	snap := mgr.Current()
	a.Scrubber = scrub
	a.Metrics = metrics.New()
	a.Logs = logs.NewStore(a.Store)
	a.LogWriter = logs.NewWriter(a.Logs, logs.WriterOptions{
		Buffer: config.LogBufferSize.Get(snap),
		Mode:   func() logs.Mode { return logs.Mode(config.RequestLogMode.Get(mgr.Current())) },
		Scrub:  scrub,
		Logger: a.Logger,
	})
	a.sink = teeSink{a.Metrics, a.LogWriter}
	a.exportPool()
	a.exportWriter()

	a.Jobs = jobs.New(jobs.Options{Settings: mgr.Current, Logger: a.Logger})
	for _, j := range append(logs.Jobs(a.Logs, mgr.Current, a.Logger), a.keyJobs()...) {
		// The names are fixed and distinct; a failure here is a programming error caught by tests.
		if err := a.Jobs.Register(j); err != nil {
			a.Logger.Error("registering a job", "job", j.Name, "err", err)
		}
	}
	mgr.OnChange(func(_, next *config.Snapshot) { scrub.Update(secretValues(next)...) })
	mgr.OnChange(a.Jobs.Reconfigure)
	a.Jobs.Start()
}

// stopObserving stops the jobs and writes every accepted log entry; the database is still open.
func (a *App) stopObserving() {
	if a.Jobs != nil {
		a.Jobs.Close()
	}
	if a.LogWriter != nil {
		a.LogWriter.Close()
	}
}

func (a *App) exportPool() {
	a.Metrics.KeyGauge("total", func() float64 { total, _ := a.Pool.Counts(); return float64(total) })
	a.Metrics.KeyGauge("usable", func() float64 { _, usable := a.Pool.Counts(); return float64(usable) })
	a.Metrics.KeyGauge("cooling", a.coolingKeys)
	a.Metrics.KeyGauge("disabled", func() float64 { total, usable := a.Pool.Counts(); return float64(total - usable) })
}

func (a *App) exportWriter() {
	w := a.LogWriter
	for _, reason := range logs.DropReasons {
		a.Metrics.CounterFunc("gemgate_log_entries_dropped_total",
			"Requests whose log rows (request row, error rows, statistics) were lost, by reason: buffer_full (the database fell behind), write_failed (the database refused the batch), shutdown.",
			prometheus.Labels{"reason": reason}, func() float64 { return float64(w.Dropped(reason)) })
	}
	for _, reason := range logs.RefusalReasons {
		a.Metrics.CounterFunc("gemgate_requests_refused_total",
			"Requests gemgate refused before asking Google, by reason; only a few per source and minute become log rows.",
			prometheus.Labels{"reason": reason}, func() float64 { return float64(w.RefusalTotal(reason)) })
	}
	a.Metrics.CounterFunc("gemgate_log_entries_written_total", "Requests whose log rows were written.", nil,
		func() float64 { return float64(w.Stats().Written) })
	a.Metrics.GaugeFunc("gemgate_log_buffer_entries", "Finished requests waiting to be written to the logs.", nil,
		func() float64 { return float64(w.Stats().Buffered) })
	a.Metrics.GaugeFunc("gemgate_log_buffer_capacity", "Size of the log buffer (LOG_BUFFER_SIZE).", nil,
		func() float64 { return float64(w.Stats().BufferSize) })
}

// teeSink hands each finished request to every sink in turn.
type teeSink []reqlog.Sink

func (t teeSink) Submit(e *reqlog.Entry) {
	for _, s := range t {
		s.Submit(e)
	}
}
