package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/store"
	"github.com/gemgate/gemgate/internal/store/storetest"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func quietLog() *slog.Logger             { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
func newSessions(st *store.Store, c *clock) *sessionStore {
	s := newSessionStore(st, quietLog())
	s.now = c.now
	return s
}

const token = "sk-admin-token-for-session-tests-000"

func TestSessionsLifecycle(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		c := &clock{t: time.Unix(1_800_000_000, 0)}
		s := newSessions(st, c)
		id, sess := s.create(ctx, token, "test browser", time.Hour)
		if !validID(id) || sess.csrf == "" || sess.local {
			t.Fatalf("create: id %q, session %+v", id, sess)
		}
		// The table holds the id's hash, never the id.
		var stored string
		if err := st.DB().QueryRowContext(ctx, "SELECT id_hash FROM t_admin_sessions").Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored == id || stored != hashID(id) {
			t.Fatalf("stored %q for id %q", stored, id)
		}
		if got, ok := s.lookup(ctx, id, token); !ok || got.csrf != sess.csrf {
			t.Fatalf("lookup of a fresh session: %v %+v", ok, got)
		}
		if _, ok := s.lookup(ctx, id+"x", token); ok {
			t.Fatal("a malformed id was accepted")
		}

		// Another instance on the same database knows the session without having seen the login.
		other := newSessions(st, c)
		if got, ok := other.lookup(ctx, id, token); !ok || got.csrf != sess.csrf {
			t.Fatal("the session is not shared through the database")
		}

		// Half the lifetime later, activity moves the expiry, in the database too.
		c.advance(40 * time.Minute)
		moved, ok := s.extend(ctx, sess, time.Hour)
		if !ok || !moved.expires.Equal(c.t.Add(time.Hour)) {
			t.Fatalf("extend: %v %v", ok, moved.expires)
		}
		c.advance(50 * time.Minute)
		if _, ok := other.lookup(ctx, id, token); !ok {
			t.Fatal("the extended session expired on the other instance")
		}

		// Logout on one instance reaches the other within recheckEvery.
		s.remove(ctx, hashID(id))
		if _, ok := s.lookup(ctx, id, token); ok {
			t.Fatal("a removed session still works here")
		}
		c.advance(recheckEvery + time.Second)
		if _, ok := other.lookup(ctx, id, token); ok {
			t.Fatal("a removed session still works on the other instance")
		}
	})
}

func TestSessionsEndWithExpiryAndTokenChange(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	ctx := t.Context()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := newSessions(st, c)

	id, _ := s.create(ctx, token, "", time.Hour)
	c.advance(time.Hour)
	if _, ok := s.lookup(ctx, id, token); ok {
		t.Fatal("an expired session was accepted")
	}

	id, _ = s.create(ctx, token, "", time.Hour)
	if _, ok := s.lookup(ctx, id, "sk-the-new-token"); ok {
		t.Fatal("a session outlived a change of AUTH_TOKEN")
	}
	if _, ok := s.lookup(ctx, id, token); ok {
		t.Fatal("a session of an old token came back")
	}
	if n, err := s.count(ctx); err != nil || n != 0 {
		t.Fatalf("ended sessions left %d rows (%v)", n, err)
	}

	// Logins clean up after sessions nobody came back for.
	s.create(ctx, token, "", time.Minute)
	c.advance(2 * time.Minute)
	s.create(ctx, token, "", time.Minute)
	if n, _ := s.count(ctx); n != 1 {
		t.Fatalf("%d sessions stored, want the fresh one only", n)
	}
}

// A database that is down must not lock the admin out: the login works on this instance, and known
// sessions keep working.
func TestSessionsSurviveDatabaseOutage(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	ctx := t.Context()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := newSessions(st, c)
	known, _ := s.create(ctx, token, "", time.Hour)
	st.Close()
	id, sess := s.create(ctx, token, "", time.Hour)
	if !sess.local {
		t.Fatal("a session the database refused is not marked local")
	}
	c.advance(recheckEvery + time.Second)
	if _, ok := s.lookup(ctx, id, token); !ok {
		t.Fatal("the local session does not work")
	}
	if _, ok := s.lookup(ctx, known, token); !ok {
		t.Fatal("a known session stopped working while the database is down")
	}
}

// count is the number of stored sessions.
func (s *sessionStore) count(ctx context.Context) (int, error) {
	var n int
	if err := s.st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM t_admin_sessions").Scan(&n); err != nil {
		return 0, fmt.Errorf("counting admin sessions: %w", err)
	}
	return n, nil
}
