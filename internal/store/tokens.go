package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// ClientToken is a client token managed in the admin panel, with its limits.
type ClientToken struct {
	ID         int64
	Token      string
	Name       string
	Enabled    bool
	ExpiresAt  time.Time // zero: never
	Models     []string  // allowed model names or globs; empty allows every model
	DailyQuota int64     // requests per day in TIMEZONE; 0 is unlimited
	UsedDay    string    // the day UsedCount counts, "2006-01-02" in TIMEZONE
	UsedCount  int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Errors of the client token calls.
var (
	ErrTokenExists   = errors.New("store: that client token already exists")
	ErrTokenNotFound = errors.New("store: no such client token")
)

const tokenColumns = "id, token, name, enabled, expires_at, models, daily_quota, used_day, used_count, created_at, updated_at"

// ListClientTokens returns every client token, decrypted, oldest first.
func (s *Store) ListClientTokens(ctx context.Context) ([]ClientToken, error) {
	out, err := All(ctx, s, s.scanToken, "SELECT "+tokenColumns+" FROM t_client_tokens ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: loading client tokens: %w", err)
	}
	return out, nil
}

func (s *Store) scanToken(rows Row) (ClientToken, error) {
	var t ClientToken
	var expires sql.NullInt64
	var models, day sql.NullString
	var created, updated int64
	if err := rows.Scan(&t.ID, &t.Token, &t.Name, &t.Enabled, &expires, &models, &t.DailyQuota, &day, &t.UsedCount, &created, &updated); err != nil {
		return t, err
	}
	plain, err := s.seal.sealer.Open(purposeClientToken, t.Token)
	if err != nil {
		return t, fmt.Errorf("token %d: %w", t.ID, err)
	}
	t.Token, t.UsedDay = plain, day.String
	if expires.Valid {
		t.ExpiresAt = time.Unix(expires.Int64, 0).UTC()
	}
	if models.String != "" {
		// A list another version wrote in a shape this one cannot read allows nothing rather than
		// everything.
		if json.Unmarshal([]byte(models.String), &t.Models) != nil {
			t.Models = []string{}
		}
	}
	t.CreatedAt, t.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	return t, nil
}

// CreateClientToken stores a new token and returns it with its id and times.
func (s *Store) CreateClientToken(ctx context.Context, t ClientToken) (ClientToken, error) {
	ts := time.Now().UTC().Truncate(time.Second)
	t.CreatedAt, t.UpdatedAt = ts, ts
	q := "INSERT INTO t_client_tokens (token_hash, token, name, enabled, expires_at, models, daily_quota, used_count, created_at, updated_at) " +
		"VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)"
	args := []any{s.seal.sealer.LookupHash(t.Token), s.seal.sealer.Seal(purposeClientToken, t.Token), Clip(t.Name, 100), t.Enabled,
		unixArg(t.ExpiresAt), modelsArg(t.Models), t.DailyQuota, ts.Unix(), ts.Unix()}
	var err error
	if s.dialect == Postgres {
		err = s.QueryRow(ctx, q+" RETURNING id", args...).Scan(&t.ID)
	} else {
		var res sql.Result
		if res, err = s.db.ExecContext(ctx, q, args...); err == nil {
			t.ID, err = res.LastInsertId()
		}
	}
	switch {
	case isUniqueViolation(err):
		return t, ErrTokenExists
	case err != nil:
		return t, fmt.Errorf("store: creating a client token: %w", err)
	}
	return t, nil
}

// UpdateClientToken writes a token's name, state and limits; the token itself and its usage stay.
func (s *Store) UpdateClientToken(ctx context.Context, t ClientToken) error {
	res, err := s.Exec(ctx, "UPDATE t_client_tokens SET name = ?, enabled = ?, expires_at = ?, models = ?, daily_quota = ?, updated_at = ? WHERE id = ?",
		Clip(t.Name, 100), t.Enabled, unixArg(t.ExpiresAt), modelsArg(t.Models), t.DailyQuota, time.Now().Unix(), t.ID)
	if err != nil {
		return fmt.Errorf("store: updating client token %d: %w", t.ID, err)
	}
	return affected(res, t.ID)
}

// DeleteClientToken removes a token.
func (s *Store) DeleteClientToken(ctx context.Context, id int64) error {
	res, err := s.Exec(ctx, "DELETE FROM t_client_tokens WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("store: deleting client token %d: %w", id, err)
	}
	return affected(res, id)
}

// AddTokenUsage adds each token's requests since the last call to its count for day (a count of an
// earlier day starts again from the delta) and returns the counts of day as they stand now, other
// instances' requests included. A zero delta still reads the count.
func (s *Store) AddTokenUsage(ctx context.Context, day string, deltas map[int64]int64) (map[int64]int64, error) {
	out := make(map[int64]int64, len(deltas))
	if len(deltas) == 0 {
		return out, nil
	}
	// MySQL assigns left to right, so used_count must be computed before used_day changes.
	upd := s.Rebind("UPDATE t_client_tokens SET used_count = CASE WHEN used_day = ? THEN used_count + ? ELSE ? END, used_day = ? WHERE id = ?")
	get := s.Rebind("SELECT used_day, used_count FROM t_client_tokens WHERE id = ?")
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		clear(out)
		for id, d := range deltas {
			// A zero delta only reads: a count of another day reads as 0 without being rewritten.
			if d != 0 {
				if _, err := tx.ExecContext(ctx, upd, day, d, d, day, id); err != nil {
					return err
				}
			}
			var got sql.NullString
			var n int64
			err := tx.QueryRowContext(ctx, get, id).Scan(&got, &n)
			if errors.Is(err, sql.ErrNoRows) {
				continue // deleted meanwhile
			}
			if err != nil {
				return err
			}
			if got.String == day {
				out[id] = n
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: counting client token usage: %w", err)
	}
	return out, nil
}

func affected(res sql.Result, id int64) error {
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		return fmt.Errorf("%w: %d", ErrTokenNotFound, id)
	}
	return nil
}

func unixArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Unix()
}

func modelsArg(models []string) any {
	if len(models) == 0 {
		return nil
	}
	b, _ := json.Marshal(models)
	return string(b)
}

// isUniqueViolation reports an insert refused by a unique index.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1062
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return strings.Contains(se.Error(), "UNIQUE constraint failed")
	}
	return false
}
