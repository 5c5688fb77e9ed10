package logs

import (
	"context"
	"log/slog"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/jobs"
)

// Names of the clean-up jobs (the reference's job ids, where it had them).
const (
	JobDeleteErrorLogs   = "delete_old_error_logs"
	JobDeleteRequestLogs = "delete_old_request_logs"
	JobPruneStats        = "prune_statistics"
	JobTrimLogs          = "trim_log_tables"
)

// trimEvery is how often the log tables are brought back within LOG_MAX_ROWS.
const trimEvery = 10 * time.Minute

// Jobs returns the clean-up jobs: old error and request logs at midnight in TIMEZONE (AUTO_DELETE_*,
// as in the reference), and counters past their retention a quarter of an hour later.
func Jobs(s *Store, settings func() *config.Snapshot, logger *slog.Logger) []jobs.Job {
	if logger == nil {
		logger = slog.Default()
	}
	return []jobs.Job{
		deleteOldJob(s, settings, logger, JobDeleteErrorLogs, ErrorTable,
			config.AutoDeleteErrorLogsEnabled, config.AutoDeleteErrorLogsDays),
		deleteOldJob(s, settings, logger, JobDeleteRequestLogs, RequestTable,
			config.AutoDeleteRequestLogsEnabled, config.AutoDeleteRequestLogsDays),
		{
			Name:    JobTrimLogs,
			Every:   func(*config.Snapshot) time.Duration { return trimEvery },
			Timeout: time.Hour,
			Run: func(ctx context.Context) error {
				budget := config.LogMaxRows.Get(settings())
				for _, table := range []string{RequestTable, ErrorTable} {
					n, err := s.TrimTo(ctx, table, budget)
					if n > 0 {
						logger.Warn("log table over LOG_MAX_ROWS: removed the oldest rows", "table", table, "rows", n, "budget", budget)
					}
					if err != nil {
						return err
					}
				}
				return nil
			},
		},
		{
			Name:    JobPruneStats,
			At:      func(*config.Snapshot) (int, int, bool) { return 0, 15, true },
			Timeout: time.Hour,
			Run: func(ctx context.Context) error {
				days := config.StatsRetentionDays.Get(settings())
				n, err := s.PruneStats(ctx, time.Now(), time.Duration(days)*24*time.Hour)
				logger.Info("pruned old statistics", "rows", n, "retention_days", days)
				return err
			},
		},
	}
}

func deleteOldJob(s *Store, settings func() *config.Snapshot, logger *slog.Logger, name, table string,
	enabled config.Setting[bool], days config.Setting[int]) jobs.Job {
	return jobs.Job{
		Name:    name,
		At:      func(snap *config.Snapshot) (int, int, bool) { return 0, 0, enabled.Get(snap) },
		Timeout: time.Hour,
		Run: func(ctx context.Context) error {
			snap := settings()
			if !enabled.Get(snap) {
				return nil // run by hand while automatic deletion is off: nothing is meant to go
			}
			n, err := s.DeleteBefore(ctx, table, time.Now().AddDate(0, 0, -days.Get(snap)))
			logger.Info("deleted old logs", "table", table, "rows", n, "older_than_days", days.Get(snap))
			return err
		},
	}
}
