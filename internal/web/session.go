package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/store"
)

// recheckEvery bounds how long a cached session is trusted without asking the database, so that a
// logout on another instance behind the same load balancer takes effect within this time.
const recheckEvery = 30 * time.Second

// maxCachedSessions keeps a flood of logins from growing the cache without bound; past it the cache is
// emptied and refilled from the database on demand.
const maxCachedSessions = 10000

// session is one admin login. The cookie holds a random id; only its SHA-256 is kept, here and in the
// database, so neither can be turned back into a working cookie.
type session struct {
	idHash  string
	csrf    string
	authTag string
	created time.Time
	expires time.Time
	checked time.Time // when the database last confirmed the row
	local   bool      // the database refused it: it lives in this instance's memory only
}

// sessionStore keeps sessions in t_admin_sessions with an in-memory cache in front, so that several
// instances share logins and a page load does not cost a query.
type sessionStore struct {
	st  *store.Store
	log *slog.Logger
	now func() time.Time

	mu    sync.Mutex
	cache map[string]*session
}

func newSessionStore(st *store.Store, log *slog.Logger) *sessionStore {
	return &sessionStore{st: st, log: log, now: time.Now, cache: map[string]*session{}}
}

// authTag fingerprints the admin token, so sessions opened with an older token stop working the moment
// it changes, on every instance, without anyone having to delete them.
func authTag(token string) string {
	sum := sha256.Sum256([]byte("gemgate admin session\x00" + token))
	return hex.EncodeToString(sum[:16])
}

func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// randomToken returns 256 random bits, URL-safe.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// validID rejects cookies that cannot be ours before any hashing or query: a flood of junk cookies
// must not turn into a flood of database lookups.
func validID(id string) bool {
	if len(id) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(id)
	return err == nil
}

// create opens a session for ttl and returns the cookie value. When the database cannot store it the
// login still works on this instance, so an admin can get in to see what is wrong.
func (s *sessionStore) create(ctx context.Context, token, userAgent string, ttl time.Duration) (string, *session) {
	id := randomToken()
	now := s.now()
	sess := &session{idHash: hashID(id), csrf: randomToken(), authTag: authTag(token), created: now,
		expires: now.Add(ttl), checked: now}
	s.purgeExpired(ctx, now)
	_, err := s.st.Exec(ctx, `INSERT INTO t_admin_sessions
		(id_hash, csrf_token, auth_tag, user_agent, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		sess.idHash, sess.csrf, sess.authTag, store.Clip(userAgent, 255), now.Unix(), sess.expires.Unix())
	if err != nil {
		s.log.Warn("admin session not stored; it works on this instance only", "err", err)
		sess.local = true
	}
	s.put(sess)
	return id, sess
}

func (s *sessionStore) put(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cache) >= maxCachedSessions {
		s.cache = map[string]*session{}
	}
	s.cache[sess.idHash] = sess
}

// lookup returns the live session of a cookie value opened with the current token.
func (s *sessionStore) lookup(ctx context.Context, id, token string) (*session, bool) {
	if !validID(id) || token == "" {
		return nil, false
	}
	h := hashID(id)
	now := s.now()
	s.mu.Lock()
	sess, ok := s.cache[h]
	s.mu.Unlock()
	if !ok || (!sess.local && now.Sub(sess.checked) > recheckEvery) {
		var err error
		sess, err = s.load(ctx, h, now)
		if err != nil {
			if ok && !errors.Is(err, sql.ErrNoRows) {
				return s.valid(ctx, s.cached(h), token, now) // database down: keep serving known logins
			}
			s.forget(h)
			return nil, false
		}
		s.put(sess)
	}
	return s.valid(ctx, sess, token, now)
}

func (s *sessionStore) cached(h string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cache[h]
}

func (s *sessionStore) valid(ctx context.Context, sess *session, token string, now time.Time) (*session, bool) {
	if sess == nil {
		return nil, false
	}
	if !now.Before(sess.expires) || !secret.Equal(sess.authTag, authTag(token)) {
		s.remove(ctx, sess.idHash)
		return nil, false
	}
	return sess, true
}

func (s *sessionStore) load(ctx context.Context, h string, now time.Time) (*session, error) {
	var created, expires int64
	sess := &session{idHash: h, checked: now}
	err := s.st.QueryRow(ctx, `SELECT csrf_token, auth_tag, created_at, expires_at
		FROM t_admin_sessions WHERE id_hash = ?`, h).Scan(&sess.csrf, &sess.authTag, &created, &expires)
	if err != nil {
		return nil, err
	}
	sess.created, sess.expires = time.Unix(created, 0), time.Unix(expires, 0)
	return sess, nil
}

// extend slides the expiry of an active session once half of ttl has passed, so an admin working in
// the panel is not logged out mid-edit, while an idle session still ends after ttl. Sessions are shared
// between requests, so a changed one is a new value. It reports whether the expiry moved (the cookie
// then needs its lifetime renewed).
func (s *sessionStore) extend(ctx context.Context, sess *session, ttl time.Duration) (*session, bool) {
	now := s.now()
	if sess.expires.Sub(now) > ttl/2 {
		return sess, false
	}
	next := *sess
	next.expires = now.Add(ttl)
	if !sess.local {
		if _, err := s.st.Exec(ctx, `UPDATE t_admin_sessions SET expires_at = ? WHERE id_hash = ?`,
			next.expires.Unix(), sess.idHash); err != nil {
			s.log.Warn("could not extend an admin session", "err", err)
			return sess, false
		}
		next.checked = now
	}
	s.put(&next)
	return &next, true
}

// remove ends a session everywhere.
func (s *sessionStore) remove(ctx context.Context, h string) {
	s.forget(h)
	if _, err := s.st.Exec(ctx, `DELETE FROM t_admin_sessions WHERE id_hash = ?`, h); err != nil {
		s.log.Warn("could not delete an admin session", "err", err)
	}
}

func (s *sessionStore) forget(h string) {
	s.mu.Lock()
	delete(s.cache, h)
	s.mu.Unlock()
}

// purgeExpired drops ended sessions; logins are rare, so doing it there needs no background job.
func (s *sessionStore) purgeExpired(ctx context.Context, now time.Time) {
	if _, err := s.st.Exec(ctx, `DELETE FROM t_admin_sessions WHERE expires_at <= ?`, now.Unix()); err != nil {
		s.log.Warn("could not delete expired admin sessions", "err", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, sess := range s.cache {
		if !now.Before(sess.expires) {
			delete(s.cache, h)
		}
	}
}
