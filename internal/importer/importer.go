// Package importer takes over what Gemini Balance left in a database: its settings, keys, tokens, error
// and request logs and file records.
//
// A Gemini Balance database opened in place is adopted: the store's migrations add gemgate's columns and
// tables around Gemini Balance's, and Adopt, run at every start, makes sure no full key stays in the log
// tables (Gemini Balance logged keys in full) and links old log rows to gemgate's key ids. Import copies
// a Gemini Balance database found elsewhere (a SQLite file or a MySQL DSN) into gemgate's database.
// Neither ever deletes a row of Gemini Balance's.
//
// Rows that came from Gemini Balance are those with no request_id: gemgate gives every row it writes one.
package importer

import (
	"context"
	"fmt"
	"strings"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/store"
)

// Summary counts what was taken over.
type Summary struct {
	Source      string // "" for the database gemgate runs on
	Settings    int
	Keys        int
	Tokens      int
	ErrorLogs   int
	RequestLogs int
	Files       int
	// Skipped names the settings an import left out, with the reason.
	Skipped []string
}

func (s *Summary) String() string {
	head := "Adopted Gemini Balance database"
	if s.Source != "" {
		head = "Imported Gemini Balance database " + s.Source
	}
	return fmt.Sprintf("%s: %d settings, %d keys, %d tokens, %d error logs, %d request logs, %d files",
		head, s.Settings, s.Keys, s.Tokens, s.ErrorLogs, s.RequestLogs, s.Files)
}

// keyRef is what a log row's key column becomes: the mask to store and the key id to link it by ("" when
// the key is unknown).
type keyRef struct {
	masked, id string
}

// keyIndex resolves the key column of Gemini Balance's log rows. Full keys are masked and get their id;
// rows already masked (by the store's migrations) get the id of the one known key with that mask.
type keyIndex struct {
	byMask map[string]string // mask -> key id; "" when two known keys share the mask
}

func newKeyIndex(keys []string) *keyIndex {
	ix := &keyIndex{byMask: map[string]string{}}
	for _, k := range keys {
		if k == "" {
			continue
		}
		m, id := secret.Mask(k), secret.ID(k)
		if prev, ok := ix.byMask[m]; ok && prev != id {
			id = ""
		}
		ix.byMask[m] = id
	}
	return ix
}

// resolve tells how to store v, and whether v was a full key (which must then also leave the row's texts).
func (ix *keyIndex) resolve(v string) (ref keyRef, full bool) {
	switch {
	case v == "":
		return keyRef{}, false
	case isMasked(v):
		return keyRef{masked: v, id: ix.byMask[v]}, false
	}
	return keyRef{masked: secret.Mask(v), id: secret.ID(v)}, true
}

// isMasked recognises the output of secret.Mask.
func isMasked(v string) bool {
	return strings.Contains(v, "…") || strings.Trim(v, "•") == ""
}

// storedSecrets returns the keys configured in stored settings (API_KEYS, VERTEX_API_KEYS, PAID_KEY)
// and in t_api_keys, and the settings themselves.
func storedSecrets(ctx context.Context, st *store.Store) ([]string, map[string]string, error) {
	rows, err := st.LoadSettings(ctx)
	if err != nil {
		return nil, nil, err
	}
	var keys []string
	keys = append(keys, listSetting(rows, config.APIKeys.Def())...)
	keys = append(keys, listSetting(rows, config.VertexAPIKeys.Def())...)
	if k := strings.TrimSpace(rows[config.PaidKey.Name()]); k != "" {
		keys = append(keys, k)
	}
	states, err := st.LoadKeyStates(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, s := range states {
		keys = append(keys, s.Key)
	}
	return keys, rows, nil
}

// listSetting parses a stored list setting; an unreadable value counts as empty, as the settings
// manager would ignore it too.
func listSetting(rows map[string]string, d *config.Def) []string {
	raw, ok := rows[d.Name]
	if !ok {
		return nil
	}
	v, err := d.Parse(raw)
	if err != nil {
		return nil
	}
	list, _ := v.([]string)
	return list
}
