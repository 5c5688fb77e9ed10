// Package resources remembers who owns each Gemini resource a client creates through gemgate and later
// names: the Gemini key whose project holds it at Google (only that key can use it) and the client
// token that created it (only that token may use it, with FILES_USER_ISOLATION_ENABLED). Files keep
// their record in t_file_records (Gemini Balance's table, read through Registry.Files); context caches,
// batches and long-running operations are kept in gg_resources. Refs finds the names a generate body
// refers to, so that the upstream executor can refuse, pin or send a call once, for every API alike.
package resources

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/store"
)

// ErrUnknown means gemgate did not create the resource (or forgot it): Google alone can say.
var ErrUnknown = errors.New("resource not known to gemgate")

// Owner is the ownership record of one resource.
type Owner struct {
	Name    string // e.g. files/abc, cachedContents/xyz, batches/123, operations/456
	KeyID   string // secret.ID of the Gemini key that created it
	TokenID string // secret.ID of the client token that created it
	Created time.Time
	Expires time.Time
}

// Kind is the collection of a resource name: "files", "cachedContents", "batches", "operations" (a
// model's long-running operation, models/{model}/operations/{id}), ...
func Kind(name string) string {
	if strings.Contains(name, "/operations/") {
		return "operations"
	}
	kind, _, _ := strings.Cut(name, "/")
	return kind
}

// FileLookup reads the owner of a file from the Files API's records.
type FileLookup func(ctx context.Context, name string, now time.Time) (*Owner, error)

// Registry stores ownership records.
type Registry struct {
	st *store.Store
	// Files answers for files/ names (nil: files are unknown).
	Files FileLookup
	// FindFiles lists uploaded files for the admin's views (nil: they are not listed).
	FindFiles FileFinder
	now       func() time.Time
}

// NewRegistry keeps its records in st.
func NewRegistry(st *store.Store) *Registry { return &Registry{st: st, now: time.Now} }

// maxNameLen is the column's width; longer names are not Google's and are never recorded.
const maxNameLen = 255

// Record remembers o, replacing an earlier record of the same name.
func (r *Registry) Record(ctx context.Context, o Owner) error {
	if o.Name == "" || len(o.Name) > maxNameLen {
		return fmt.Errorf("recording %q: not a resource name gg_resources keeps", o.Name)
	}
	if o.Created.IsZero() {
		o.Created = r.now()
	}
	err := r.st.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM gg_resources WHERE name = ?", o.Name); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO gg_resources (name, kind, key_id, owner_id, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, o.Name, Kind(o.Name), o.KeyID, o.TokenID, o.Created.Unix(), o.Expires.Unix())
		return err
	})
	if err != nil {
		return fmt.Errorf("recording %s: %w", o.Name, err)
	}
	return nil
}

// Lookup returns the live record of name, or ErrUnknown.
func (r *Registry) Lookup(ctx context.Context, name string) (*Owner, error) {
	now := r.now()
	if Kind(name) == "files" && r.Files != nil {
		// Uploaded files are the Files API's records; files Google generated (videos) are kept here.
		if o, err := r.Files(ctx, name, now); !errors.Is(err, ErrUnknown) {
			return o, err
		}
	}
	o, err := scanOwner(r.st.QueryRow(ctx, "SELECT "+ownerColumns+" FROM gg_resources WHERE name = ? AND expires_at > ?", name, now.Unix()))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrUnknown
	}
	if err != nil {
		return nil, fmt.Errorf("looking up %s: %w", name, err)
	}
	return o, nil
}

const ownerColumns = "name, key_id, owner_id, created_at, expires_at"

func scanOwner(row store.Row) (*Owner, error) {
	var o Owner
	var created, expires int64
	err := row.Scan(&o.Name, &o.KeyID, &o.TokenID, &created, &expires)
	o.Created, o.Expires = time.Unix(created, 0), time.Unix(expires, 0)
	return &o, err
}

// Forget removes the record of name (the resource was deleted).
func (r *Registry) Forget(ctx context.Context, name string) error {
	if _, err := r.st.Exec(ctx, "DELETE FROM gg_resources WHERE name = ?", name); err != nil {
		return fmt.Errorf("forgetting %s: %w", name, err)
	}
	return nil
}

// DeleteExpired removes records past their expiry and reports how many.
func (r *Registry) DeleteExpired(ctx context.Context) (int64, error) {
	res, err := r.st.Exec(ctx, "DELETE FROM gg_resources WHERE expires_at <= ?", r.now().Unix())
	if err != nil {
		return 0, fmt.Errorf("deleting expired resource records: %w", err)
	}
	return res.RowsAffected()
}

// markers are the substrings a body must hold to name a resource: most bodies hold none and are not
// parsed at all.
var markers = [][]byte{[]byte("files/"), []byte("cachedContents/")}

type fileData struct {
	FileURI      string `json:"fileUri"`
	FileURISnake string `json:"file_uri"`
}

type content struct {
	Parts []struct {
		FileData      *fileData `json:"fileData"`
		FileDataSnake *fileData `json:"file_data"`
	} `json:"parts"`
}

// request is any single model call: generate and count name contents, embed names content.
type request struct {
	Contents               []content `json:"contents"`
	Content                *content  `json:"content"`
	SystemInstruction      *content  `json:"systemInstruction"`
	SystemInstructionSnake *content  `json:"system_instruction"`
	CachedContent          string    `json:"cachedContent"`
	CachedContentSnake     string    `json:"cached_content"`
}

// batch is a Batch Mode body (batchGenerateContent, asyncBatchEmbedContent): an input file and the
// whole requests it holds, each of which may name files and caches of its own.
type batch struct {
	InputConfig      *batchInput `json:"inputConfig"`
	InputConfigSnake *batchInput `json:"input_config"`
}

type batchInput struct {
	FileName      string `json:"fileName"`
	FileNameSnake string `json:"file_name"`
	Requests      struct {
		Requests []struct {
			Request request `json:"request"`
		} `json:"requests"`
	} `json:"requests"`
}

// Refs lists the resources a Gemini body names, in order, without repeats: the files of fileData parts
// (contents, the system instruction, an embedding's content) and the context cache of cachedContent, in
// a generate, count (bare or wrapping a generate request) or embed request, in each request of
// batchEmbedContents, and in a Batch Mode body
// (its input file and every request it holds). Both the camelCase and snake_case spellings Google
// accepts are read: a client choosing the other spelling must not slip past the ownership check.
func Refs(body []byte) []string {
	if !bytes.Contains(body, markers[0]) && !bytes.Contains(body, markers[1]) {
		return nil
	}
	var req struct {
		request
		Requests []request `json:"requests"` // batchEmbedContents
		Batch    *batch    `json:"batch"`
		// countTokens may wrap a whole generate request.
		Wrapped      *request `json:"generateContentRequest"`
		WrappedSnake *request `json:"generate_content_request"`
	}
	if json.Unmarshal(body, &req) != nil {
		return nil
	}
	reqs := append([]request{req.request}, req.Requests...)
	for _, w := range []*request{req.Wrapped, req.WrappedSnake} {
		if w != nil {
			reqs = append(reqs, *w)
		}
	}
	var names []string
	if b := req.Batch; b != nil {
		for _, in := range []*batchInput{b.InputConfig, b.InputConfigSnake} {
			if in == nil {
				continue
			}
			for _, f := range []string{in.FileName, in.FileNameSnake} {
				if name := FileName(f); name != "" && !contains(names, name) {
					names = append(names, name)
				}
			}
			for _, r := range in.Requests.Requests {
				reqs = append(reqs, r.Request)
			}
		}
	}
	var all []content
	var caches []string
	for _, g := range reqs {
		all = append(all, g.Contents...)
		for _, c := range []*content{g.SystemInstruction, g.SystemInstructionSnake, g.Content} {
			if c != nil {
				all = append(all, *c)
			}
		}
		caches = append(caches, g.CachedContent, g.CachedContentSnake)
	}
	add := func(name string) {
		if name != "" && !contains(names, name) {
			names = append(names, name)
		}
	}
	for _, c := range all {
		for _, p := range c.Parts {
			for _, fd := range []*fileData{p.FileData, p.FileDataSnake} {
				if fd != nil {
					add(FileName(fd.FileURI))
					add(FileName(fd.FileURISnake))
				}
			}
		}
	}
	for _, cc := range caches {
		add(cacheName(cc))
	}
	return names
}

// FileName reads files/<id> from a file URI (https://.../v1beta/files/<id>) or a bare name; other URIs
// (YouTube, gs://) name no file of Google's Files API.
func FileName(uri string) string {
	uri, _, _ = strings.Cut(uri, "?")
	i := strings.LastIndex(uri, "files/")
	if i < 0 || (i > 0 && uri[i-1] != '/') {
		return ""
	}
	id := uri[i+len("files/"):]
	if id == "" || strings.Contains(id, "/") {
		return ""
	}
	return "files/" + id
}

// cacheName reads cachedContents/<id> from a cachedContent field.
func cacheName(s string) string {
	i := strings.Index(s, "cachedContents/")
	if i < 0 {
		return ""
	}
	id := s[i+len("cachedContents/"):]
	if id == "" || strings.Contains(id, "/") {
		return ""
	}
	return "cachedContents/" + id
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// List returns the live records of one client token for a kind ("cachedContents", ...), oldest first,
// up to limit from offset.
func (r *Registry) List(ctx context.Context, tokenID, kind string, offset, limit int) ([]*Owner, error) {
	out, err := store.All(ctx, r.st, scanOwner, "SELECT "+ownerColumns+` FROM gg_resources
		WHERE owner_id = ? AND kind = ? AND expires_at > ? ORDER BY created_at, name LIMIT ? OFFSET ?`,
		tokenID, kind, r.now().Unix(), limit, offset)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", kind, err)
	}
	return out, nil
}

// ErrPage is a malformed pageSize or pageToken; its text is for the client.
type ErrPage string

func (e ErrPage) Error() string { return string(e) }

// Page reads a listing's pageSize (1 to 100, def when absent) and pageToken. gemgate's listings come from
// its own records, so a page token is an offset into them.
func Page(q url.Values, def int) (offset, size int, err error) {
	size = def
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, ErrPage("pageSize must be a positive number.")
		}
		size = min(n, 100)
	}
	if v := q.Get("pageToken"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, ErrPage("Invalid pageToken.")
		}
		offset = n
	}
	return offset, size, nil
}

// Filter selects the records an admin looks at: one Gemini key's or one client token's (either may be
// empty, not both), optionally of one kind.
type Filter struct {
	KeyID   string
	TokenID string
	Kind    string
}

// FileFinder lists the live uploaded files matching a filter (the Files API's records), newest first.
type FileFinder func(ctx context.Context, f Filter, now time.Time, limit int) ([]*Owner, error)

// Find lists the live records matching f, newest first, up to limit of each kind's table: the records
// of gg_resources, and the uploaded files when FindFiles is set and f allows files.
func (r *Registry) Find(ctx context.Context, f Filter, limit int) ([]*Owner, error) {
	if f.KeyID == "" && f.TokenID == "" {
		return nil, errors.New("a key or a client token is required")
	}
	now := r.now()
	var out []*Owner
	if r.FindFiles != nil && (f.Kind == "" || f.Kind == "files") {
		files, err := r.FindFiles(ctx, f, now, limit)
		if err != nil {
			return nil, err
		}
		out = files
	}
	q := "SELECT " + ownerColumns + " FROM gg_resources WHERE expires_at > ?"
	args := []any{now.Unix()}
	for _, c := range []struct{ col, val string }{{"key_id", f.KeyID}, {"owner_id", f.TokenID}, {"kind", f.Kind}} {
		if c.val != "" {
			q += " AND " + c.col + " = ?"
			args = append(args, c.val)
		}
	}
	kept, err := store.All(ctx, r.st, scanOwner, q+" ORDER BY created_at DESC, name LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("finding resources: %w", err)
	}
	return append(out, kept...), nil
}
