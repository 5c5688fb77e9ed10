package resources

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/store"
	"github.com/gemgate/gemgate/internal/store/storetest"
)

func TestRefs(t *testing.T) {
	t.Parallel()
	body := `{"systemInstruction":{"parts":[{"file_data":{"file_uri":"files/sys"}}]},"contents":[{"parts":[{"text":"files/not-a-ref"},
		{"fileData":{"fileUri":"https://generativelanguage.googleapis.com/v1beta/files/abc123","mimeType":"text/plain"}},
		{"fileData":{"fileUri":"https://generativelanguage.googleapis.com/v1beta/files/abc123?alt=media"}},
		{"fileData":{"fileUri":"https://www.youtube.com/watch?v=x"}},{"fileData":{"fileUri":"gs://bucket/myfiles/x"}}]}],
		"cachedContent":"cachedContents/cache1"}`
	if got := Refs([]byte(body)); !slices.Equal(got, []string{"files/abc123", "files/sys", "cachedContents/cache1"}) {
		t.Fatalf("%q", got)
	}
	for _, none := range []string{`{"contents":[{"parts":[{"text":"hi"}]}]}`, `not json files/x`, `{"cached_content":"cachedContents/"}`} {
		if got := Refs([]byte(none)); len(got) != 0 {
			t.Errorf("%s: %q", none, got)
		}
	}
	if got := Refs([]byte(`{"cached_content":"projects/p/cachedContents/c2"}`)); !slices.Equal(got, []string{"cachedContents/c2"}) {
		t.Fatalf("%q", got)
	}
	batch := `{"batch":{"inputConfig":{"fileName":"files/input1","requests":{"requests":[{"request":{"contents":[{"parts":[{"fileData":{"fileUri":"files/inner"}}]}],"cachedContent":"cachedContents/c3"}}]}}}}`
	if got := Refs([]byte(batch)); !slices.Equal(got, []string{"files/input1", "files/inner", "cachedContents/c3"}) {
		t.Fatalf("batch: %q", got)
	}
	// Every other shape a body can name resources in, in the spellings Google accepts: a client choosing
	// one must not slip past the ownership check.
	for body, want := range map[string][]string{
		`{"batch":{"input_config":{"file_name":"files/in2","requests":{"requests":[{"request":{"content":{"parts":[{"file_data":{"file_uri":"files/e1"}}]}}}]}}}}`: {"files/in2", "files/e1"},
		`{"content":{"parts":[{"fileData":{"fileUri":"files/e2"}}]}}`:                                       {"files/e2"},
		`{"requests":[{"model":"models/m","content":{"parts":[{"fileData":{"fileUri":"files/e3"}}]}}]}`:     {"files/e3"},
		`{"generateContentRequest":{"model":"models/m","contents":[],"cachedContent":"cachedContents/c4"}}`: {"cachedContents/c4"},
		`{"generate_content_request":{"contents":[{"parts":[{"file_data":{"file_uri":"files/c5"}}]}]}}`:     {"files/c5"},
	} {
		if got := Refs([]byte(body)); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", body, got, want)
		}
	}
}

func FuzzRefs(f *testing.F) {
	f.Add([]byte(`{"contents":[{"parts":[{"fileData":{"fileUri":"files/a"}}]}],"cachedContent":"cachedContents/b"}`))
	f.Add([]byte(`{"system_instruction":{"parts":[{"file_data":{"file_uri":"https://x/v1beta/files/c"}}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, name := range Refs(body) {
			if k := Kind(name); k != "files" && k != "cachedContents" {
				t.Fatalf("%q is not a resource name", name)
			}
		}
	})
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		r := NewRegistry(st)
		now := time.Now().Truncate(time.Second)
		r.now = func() time.Time { return now }
		live := Owner{Name: "cachedContents/one", KeyID: "key1", TokenID: "tok1", Expires: now.Add(time.Hour)}
		if err := r.Record(ctx, live); err != nil {
			t.Fatal(err)
		}
		// A second record of the same name replaces the first (a resource re-created elsewhere).
		live.KeyID = "key2"
		if err := r.Record(ctx, live); err != nil {
			t.Fatal(err)
		}
		if err := r.Record(ctx, Owner{Name: "batches/old", KeyID: "k", TokenID: "t", Expires: now.Add(-time.Minute)}); err != nil {
			t.Fatal(err)
		}
		o, err := r.Lookup(ctx, "cachedContents/one")
		if err != nil || o.KeyID != "key2" || o.TokenID != "tok1" || !o.Expires.Equal(live.Expires) {
			t.Fatalf("%+v %v", o, err)
		}
		if _, err := r.Lookup(ctx, "batches/old"); !errors.Is(err, ErrUnknown) {
			t.Fatalf("an expired record is still known: %v", err)
		}
		if _, err := r.Lookup(ctx, "files/x"); !errors.Is(err, ErrUnknown) {
			t.Fatalf("files without a lookup: %v", err)
		}
		// A generated file (a video) is kept here, under the key and token of its operation.
		if err := r.Record(ctx, Owner{Name: "files/video1", KeyID: "key1", TokenID: "tok1", Expires: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if o, err := r.Lookup(ctx, "files/video1"); err != nil || o.KeyID != "key1" {
			t.Fatalf("generated file: %+v %v", o, err)
		}
		if k := Kind("models/veo-3.0-generate-001/operations/abc"); k != "operations" {
			t.Fatalf("kind %q", k)
		}
		if n, err := r.DeleteExpired(ctx); err != nil || n != 1 {
			t.Fatalf("deleted %d: %v", n, err)
		}
		if err := r.Forget(ctx, "cachedContents/one"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Lookup(ctx, "cachedContents/one"); !errors.Is(err, ErrUnknown) {
			t.Fatalf("forgotten record: %v", err)
		}
	})
}
