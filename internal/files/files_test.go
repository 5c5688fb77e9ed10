package files

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/store"
	"github.com/gemgate/gemgate/internal/store/storetest"
)

func TestSessionPathDropsKey(t *testing.T) {
	t.Parallel()
	id, path, err := sessionPath("https://generativelanguage.googleapis.com/upload/v1beta/files?key=AIzaSECRET&upload_id=ABC-def_1&upload_protocol=resumable")
	if err != nil || id != "ABC-def_1" || path != "/upload/v1beta/files?upload_id=ABC-def_1&upload_protocol=resumable" {
		t.Fatalf("%q %q %v", id, path, err)
	}
	if _, _, err := sessionPath("https://x/upload/v1beta/files"); err == nil {
		t.Fatal("no upload_id accepted")
	}
}

func TestDisplayName(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		`{"file":{"displayName":"a"}}`:  "a",
		`{"file":{"display_name":"b"}}`: "b",
		`{"displayName":"c"}`:           "c",
		`{}`:                            "",
		`not json`:                      "",
	} {
		if got := displayName([]byte(body)); got != want {
			t.Errorf("%s: %q", body, got)
		}
	}
}

func TestStoreRecordsAndSessions(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		s := NewStore(st)
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Second)
		owner := secret.ID("token-a")
		rec := &Record{Name: "files/one", DisplayName: "one", MimeType: "text/plain", SizeBytes: 3, State: "ACTIVE", Created: now,
			Updated: now, Expires: now.Add(time.Hour), URI: "https://x/v1beta/files/one", KeyID: "k1", KeyMasked: "AIza…0001", OwnerID: owner}
		if err := s.Save(ctx, rec); err != nil {
			t.Fatal(err)
		}
		// A row as Gemini Balance wrote it: full key and token, no ids.
		_, err := st.DB().Exec(st.Rebind(`INSERT INTO t_file_records (name, mime_type, size_bytes, state, create_time, update_time,
			expiration_time, uri, api_key, user_token) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			"files/legacy", "image/png", 9, "PROCESSING", now, now, now.Add(time.Hour), "https://x/v1beta/files/legacy", "AIzaLegacyKey000000000000000", "token-a")
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, "files/one", now)
		if err != nil || got.KeyID != "k1" || !got.Owned(owner) || got.Owned(secret.ID("token-b")) || !got.Expires.Equal(now.Add(time.Hour)) {
			t.Fatalf("get: %+v %v", got, err)
		}
		legacy, err := s.Get(ctx, "files/legacy", now)
		if err != nil || legacy.KeyID != "" || legacy.legacyKey != "AIzaLegacyKey000000000000000" || !legacy.Owned(owner) {
			t.Fatalf("legacy: %+v %v", legacy, err)
		}
		mine, err := s.List(ctx, now, &Owner{ID: owner, Token: "token-a"}, 0, 10)
		if err != nil || len(mine) != 2 {
			t.Fatalf("own list: %d %v", len(mine), err)
		}
		if theirs, _ := s.List(ctx, now, &Owner{ID: secret.ID("token-b"), Token: "token-b"}, 0, 10); len(theirs) != 0 {
			t.Fatalf("other token lists %d", len(theirs))
		}
		if page, _ := s.List(ctx, now, nil, 1, 10); len(page) != 1 || page[0].Name != "files/legacy" {
			t.Fatalf("offset: %+v", page)
		}
		if _, err := s.Get(ctx, "files/one", now.Add(2*time.Hour)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired record read: %v", err)
		}
		if exp, err := s.Expired(ctx, now.Add(2*time.Hour), 10); err != nil || len(exp) != 2 {
			t.Fatalf("expired: %d %v", len(exp), err)
		}
		if err := s.SetState(ctx, "files/legacy", "ACTIVE", now); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "files/one"); err != nil {
			t.Fatal(err)
		}

		sess := Session{Path: "/upload/v1beta/files?upload_id=u", KeyID: "k1", OwnerID: owner, DisplayName: "d", MimeType: "text/plain",
			SizeBytes: 5, Expires: now.Add(time.Hour)}
		if err := s.SaveSession(ctx, "u", sess, now); err != nil {
			t.Fatal(err)
		}
		back, err := s.Session(ctx, "u", now)
		if err != nil || back.Path != sess.Path || back.KeyID != "k1" || back.SizeBytes != 5 || back.DisplayName != "d" {
			t.Fatalf("session: %+v %v", back, err)
		}
		if err := s.DeleteExpiredSessions(ctx, now.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, "u", now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired session kept: %v", err)
		}
	})
}
