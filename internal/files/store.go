package files

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/gemgate/gemgate/internal/resources"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/store"
)

// Record is a row of t_file_records: a file uploaded through gemgate (or through Gemini Balance).
type Record struct {
	ID          int64
	Name        string // files/<id>
	DisplayName string
	MimeType    string
	SizeBytes   int64
	SHA256      string
	State       string // PROCESSING, ACTIVE or FAILED
	Created     time.Time
	Updated     time.Time
	Expires     time.Time
	URI         string
	KeyID       string // secret.ID of the uploading key; "" on Gemini Balance's rows
	KeyMasked   string // the uploading key as logs show it, written to api_key
	OwnerID     string // secret.ID of the uploading client token; "" on Gemini Balance's rows
	// Gemini Balance stored the key and the token in full; its rows are read as they are.
	legacyKey, legacyToken string
}

// owner is the record as an ownership record, with the ids gemgate's rows hold.
func (r *Record) owner() *resources.Owner {
	return &resources.Owner{Name: r.Name, KeyID: r.KeyID, TokenID: r.OwnerID, Created: r.Created, Expires: r.Expires}
}

// Owned reports whether the client with token id ownerID uploaded the file.
func (r *Record) Owned(ownerID string) bool {
	if r.OwnerID != "" {
		return r.OwnerID == ownerID
	}
	return r.legacyToken != "" && secret.ID(r.legacyToken) == ownerID
}

// Session is a resumable upload in progress.
type Session struct {
	Path        string // Google's upload URL without scheme and host (path and query), key removed
	KeyID       string
	OwnerID     string
	DisplayName string
	MimeType    string
	SizeBytes   int64
	Expires     time.Time
}

// Store keeps file records and upload sessions in the database.
type Store struct{ st *store.Store }

// NewStore keeps its rows in st.
func NewStore(st *store.Store) *Store { return &Store{st: st} }

// ErrNotFound is a missing (or expired) record or session.
var ErrNotFound = errors.New("not found")

// sessionHash keys sessions: Google's upload ids are long and opaque, the hash is a fixed 64 characters.
func sessionHash(uploadID string) string {
	sum := sha256.Sum256([]byte(uploadID))
	return hex.EncodeToString(sum[:])
}

// SaveSession remembers an upload that has started.
func (s *Store) SaveSession(ctx context.Context, uploadID string, sess Session, now time.Time) error {
	_, err := s.st.Exec(ctx, `INSERT INTO gg_upload_sessions
		(id_hash, upload_url, key_id, owner_id, display_name, mime_type, size_bytes, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sessionHash(uploadID), sess.Path, sess.KeyID, sess.OwnerID, store.NullString(store.Clip(sess.DisplayName, 255)), store.NullString(store.Clip(sess.MimeType, 100)),
		sess.SizeBytes, now.Unix(), sess.Expires.Unix())
	if err != nil {
		return fmt.Errorf("saving the upload session: %w", err)
	}
	return nil
}

// Session returns a live upload session.
func (s *Store) Session(ctx context.Context, uploadID string, now time.Time) (*Session, error) {
	var sess Session
	var display, mt sql.NullString
	var size sql.NullInt64
	var expires int64
	err := s.st.QueryRow(ctx, `SELECT upload_url, key_id, owner_id, display_name, mime_type, size_bytes, expires_at
		FROM gg_upload_sessions WHERE id_hash = ? AND expires_at > ?`, sessionHash(uploadID), now.Unix()).
		Scan(&sess.Path, &sess.KeyID, &sess.OwnerID, &display, &mt, &size, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading the upload session: %w", err)
	}
	sess.DisplayName, sess.MimeType, sess.SizeBytes, sess.Expires = display.String, mt.String, size.Int64, time.Unix(expires, 0)
	return &sess, nil
}

// DeleteSession forgets a finished upload.
func (s *Store) DeleteSession(ctx context.Context, uploadID string) error {
	_, err := s.st.Exec(ctx, "DELETE FROM gg_upload_sessions WHERE id_hash = ?", sessionHash(uploadID))
	return err
}

// Save records a finalized upload; a record of the same name (an upload repeated under a chosen name)
// is replaced.
func (s *Store) Save(ctx context.Context, r *Record) error {
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM t_file_records WHERE name = ?", r.Name); err != nil {
			return err
		}
		// api_key is NOT NULL in Gemini Balance's schema; it gets the masked key, never the key itself.
		_, err := tx.Exec(ctx, `INSERT INTO t_file_records (name, display_name, mime_type, size_bytes, sha256_hash, state,
			create_time, update_time, expiration_time, uri, api_key, user_token, upload_completed, key_id, owner_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)`,
			store.Clip(r.Name, 255), store.NullString(store.Clip(r.DisplayName, 255)), store.Clip(r.MimeType, 100), r.SizeBytes, store.NullString(store.Clip(r.SHA256, 255)), r.State,
			store.TimeArg(r.Created), store.TimeArg(r.Updated), store.TimeArg(r.Expires), store.Clip(r.URI, 500), r.KeyMasked, store.TimeArg(r.Updated),
			r.KeyID, r.OwnerID)
		return err
	})
	if err != nil {
		return fmt.Errorf("saving the file record: %w", err)
	}
	return nil
}

const recordColumns = `id, name, display_name, mime_type, size_bytes, sha256_hash, state, create_time, update_time,
	expiration_time, uri, api_key, user_token, key_id, owner_id`

func scanRecord(row store.Row) (*Record, error) {
	var r Record
	var display, sha, apiKey, token, keyID, ownerID sql.NullString
	var created, updated, expires store.Time
	if err := row.Scan(&r.ID, &r.Name, &display, &r.MimeType, &r.SizeBytes, &sha, &r.State, &created, &updated, &expires,
		&r.URI, &apiKey, &token, &keyID, &ownerID); err != nil {
		return nil, err
	}
	r.DisplayName, r.SHA256, r.KeyID, r.OwnerID = display.String, sha.String, keyID.String, ownerID.String
	r.Created, r.Updated, r.Expires = created.T, updated.T, expires.T
	if !keyID.Valid {
		r.legacyKey = apiKey.String
	}
	if !ownerID.Valid {
		r.legacyToken = token.String
	}
	return &r, nil
}

// Get returns the unexpired record of name (files/<id>).
func (s *Store) Get(ctx context.Context, name string, now time.Time) (*Record, error) {
	r, err := scanRecord(s.st.QueryRow(ctx, "SELECT "+recordColumns+" FROM t_file_records WHERE name = ? AND expiration_time > ?",
		name, store.TimeArg(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading the file record: %w", err)
	}
	return r, nil
}

// Owner implements resources.FileLookup: the uploading key and client token of a live file, as ids
// (Gemini Balance's rows hold both in full, and their ids are computed here).
func (s *Store) Owner(ctx context.Context, name string, now time.Time) (*resources.Owner, error) {
	r, err := s.Get(ctx, name, now)
	if errors.Is(err, ErrNotFound) {
		return nil, resources.ErrUnknown
	}
	if err != nil {
		return nil, err
	}
	o := r.owner()
	if o.KeyID == "" && r.legacyKey != "" {
		o.KeyID = secret.ID(r.legacyKey)
	}
	if o.TokenID == "" && r.legacyToken != "" {
		o.TokenID = secret.ID(r.legacyToken)
	}
	return o, nil
}

// List returns up to limit unexpired records from offset, oldest first; with owner set, only that
// client's (ownerID, or for Gemini Balance's rows the token itself).
func (s *Store) List(ctx context.Context, now time.Time, owner *Owner, offset, limit int) ([]*Record, error) {
	q := "SELECT " + recordColumns + " FROM t_file_records WHERE expiration_time > ?"
	args := []any{store.TimeArg(now)}
	if owner != nil {
		q += " AND (owner_id = ? OR (owner_id IS NULL AND user_token = ?))"
		args = append(args, owner.ID, owner.Token)
	}
	q += " ORDER BY id LIMIT ? OFFSET ?"
	args = append(args, limit, offset)
	out, err := store.All(ctx, s.st, scanRecord, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing files: %w", err)
	}
	return out, nil
}

// Find implements resources.FileFinder for the admin's views: the live files one key uploaded, or one
// client token, newest first. Gemini Balance's rows (no key_id or owner_id) are not matched: they
// expire within two days of the migration.
func (s *Store) Find(ctx context.Context, f resources.Filter, now time.Time, limit int) ([]*resources.Owner, error) {
	q := "SELECT " + recordColumns + " FROM t_file_records WHERE expiration_time > ?"
	args := []any{store.TimeArg(now)}
	for _, c := range []struct{ col, val string }{{"key_id", f.KeyID}, {"owner_id", f.TokenID}} {
		if c.val != "" {
			q += " AND " + c.col + " = ?"
			args = append(args, c.val)
		}
	}
	recs, err := store.All(ctx, s.st, scanRecord, q+" ORDER BY id DESC LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("finding files: %w", err)
	}
	var out []*resources.Owner
	for _, r := range recs {
		out = append(out, r.owner())
	}
	return out, nil
}

// Owner is a client token, as its id (gemgate's rows) and itself (matched against Gemini Balance's
// rows in the query, never stored).
type Owner struct {
	ID    string
	Token string
}

// SetState records a state Google reported.
func (s *Store) SetState(ctx context.Context, name, state string, now time.Time) error {
	_, err := s.st.Exec(ctx, "UPDATE t_file_records SET state = ?, update_time = ? WHERE name = ?", state, store.TimeArg(now), name)
	return err
}

// Delete removes the record of name.
func (s *Store) Delete(ctx context.Context, name string) error {
	_, err := s.st.Exec(ctx, "DELETE FROM t_file_records WHERE name = ?", name)
	return err
}

// Expired returns up to limit records past their expiration.
func (s *Store) Expired(ctx context.Context, now time.Time, limit int) ([]*Record, error) {
	out, err := store.All(ctx, s.st, scanRecord, "SELECT "+recordColumns+" FROM t_file_records WHERE expiration_time <= ? ORDER BY id LIMIT ?",
		store.TimeArg(now), limit)
	if err != nil {
		return nil, fmt.Errorf("finding expired files: %w", err)
	}
	return out, nil
}

// DeleteExpiredSessions forgets uploads that were never finished.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) error {
	_, err := s.st.Exec(ctx, "DELETE FROM gg_upload_sessions WHERE expires_at <= ?", now.Unix())
	return err
}
