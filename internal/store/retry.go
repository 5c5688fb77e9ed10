package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// Pauses between attempts to reach a database at start: short at first (a container a moment behind),
// then steady, so that a long wait neither hammers the server nor sleeps past the moment it is up.
const (
	firstRetryPause = 500 * time.Millisecond
	maxRetryPause   = 5 * time.Second
	attemptTimeout  = 10 * time.Second
)

// OpenRetry is Open for a database that may still be starting (containers started together): while
// the database does not answer, it tries again with growing pauses for up to wait, calling onRetry
// before each pause. A database that answers and refuses the credentials fails at once, as do
// configuration and migration errors: waiting would not change them.
func OpenRetry(ctx context.Context, cfg Config, wait time.Duration, onRetry func(attempt int, err error, pause time.Duration)) (*Store, error) {
	s, secrets, err := connect(cfg)
	if err != nil {
		return nil, redact(err, secrets)
	}
	start := time.Now()
	deadline := start.Add(wait)
	for attempt := 1; ; attempt++ {
		err := s.pingOnce(ctx, deadline)
		if err == nil {
			break
		}
		// The last pause is cut short so that the last attempt falls on the deadline.
		pause := min(retryPause(attempt), time.Until(deadline))
		if !worthRetrying(s.dialect, err) || ctx.Err() != nil || pause <= 0 {
			s.db.Close()
			if attempt > 1 {
				err = fmt.Errorf("%w (gave up after %d attempts in %s; DB_CONNECT_TIMEOUT is %s)",
					err, attempt, time.Since(start).Round(100*time.Millisecond), wait)
			}
			return nil, redact(err, secrets)
		}
		if onRetry != nil {
			onRetry(attempt, redact(err, secrets), pause)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			s.db.Close()
			return nil, redact(err, secrets)
		case <-t.C:
		}
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, redact(fmt.Errorf("store: migrating %s: %w", s.where, err), secrets)
	}
	return s, nil
}

// pingOnce bounds one attempt, so a server that accepts connections and never answers costs one
// attempt rather than the whole wait.
func (s *Store) pingOnce(ctx context.Context, deadline time.Time) error {
	limit := min(attemptTimeout, max(time.Until(deadline), time.Second))
	actx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	return s.Ping(actx)
}

func retryPause(attempt int) time.Duration {
	return min(firstRetryPause<<min(attempt-1, 8), maxRetryPause)
}

// worthRetrying is false when the server answered and refused the login (a wrong password stays
// wrong) and for a SQLite file, which has no server to wait for, unless another process holds a lock.
func worthRetrying(d Dialect, err error) bool {
	if d == SQLite {
		return transient(err)
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number != 1045 && me.Number != 1044 // ER_ACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code != "28000" && pe.Code != "28P01" // invalid_authorization_specification, invalid_password
	}
	return true
}
