package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// tokenTag fingerprints an admin token; the table never holds the token itself.
func tokenTag(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])[:32]
}

// MarkTokenUnclaimed records that token was generated and no one has logged in with it yet.
func (s *Store) MarkTokenUnclaimed(ctx context.Context, token string) error {
	if err := s.ClaimToken(ctx); err != nil {
		return err
	}
	if _, err := s.Exec(ctx, "INSERT INTO gg_unclaimed_token (auth_tag) VALUES (?)", tokenTag(token)); err != nil {
		return fmt.Errorf("store: marking the generated admin token: %w", err)
	}
	return nil
}

// TokenUnclaimed reports whether token is the generated admin token and no one has logged in with it.
// A token set by hand since then has another fingerprint and is never reported.
func (s *Store) TokenUnclaimed(ctx context.Context, token string) (bool, error) {
	var n int
	err := s.QueryRow(ctx, "SELECT COUNT(*) FROM gg_unclaimed_token WHERE auth_tag = ?", tokenTag(token)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: reading the generated admin token's state: %w", err)
	}
	return n > 0, nil
}

// ClaimToken records that an admin has logged in: the generated token is no longer printed.
func (s *Store) ClaimToken(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, "DELETE FROM gg_unclaimed_token"); err != nil {
		return fmt.Errorf("store: clearing the generated admin token's state: %w", err)
	}
	return nil
}
