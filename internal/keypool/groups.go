package keypool

import (
	"errors"
	"path"
	"slices"
	"sort"
	"strings"
	"time"
)

// ErrNoKeyForModel means keys exist but none carries a tag MODEL_KEY_TAGS allows for the model.
var ErrNoKeyForModel = errors.New("no API key is allowed to serve this model (see MODEL_KEY_TAGS)")

// Meta is what an admin says about a key: tags (e.g. "paid", "free"), a weight for how often it is
// picked, and the Google project it belongs to. Keys of one project share quota, so a cooldown seen on
// one of them applies to all.
type Meta struct {
	Tags    []string `json:"tags,omitempty"`
	Weight  int      `json:"weight,omitempty"`
	Project string   `json:"project,omitempty"`
}

// maxWeight caps weights so that the rotation list stays small.
const maxWeight = 10

func (k *Key) weight() int {
	if m := k.meta(); m != nil && m.Weight > 1 {
		return min(m.Weight, maxWeight)
	}
	return 1
}

// Meta returns the key's tags, weight and project.
func (k *Key) Meta() Meta {
	if m := k.meta(); m != nil {
		return *m
	}
	return Meta{}
}

func (k *Key) hasAnyTag(tags []string) bool {
	m := k.meta()
	if m == nil {
		return false
	}
	for _, t := range m.Tags {
		if slices.Contains(tags, t) {
			return true
		}
	}
	return false
}

// SetMeta changes keys' metadata and republishes the rotation.
func (p *Pool) SetMeta(keys []*Key, m Meta) {
	p.setMeta(keys, m)
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID()
	}
	mm := m
	p.emit(Event{Kind: EventMeta, KeyIDs: ids, Meta: &mm})
}

func (p *Pool) setMeta(keys []*Key, m Meta) {
	m.Tags = normalizeTags(m.Tags)
	m.Weight = min(max(m.Weight, 0), maxWeight)
	m.Project = strings.TrimSpace(m.Project)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range keys {
		mm := m
		n := k.notes()
		n.meta = &mm
		k.setNotes(n)
		k.markDirty()
	}
	p.republish()
	p.exhausted.Store(&exhaustion{})
}

func normalizeTags(tags []string) []string {
	var out []string
	for _, t := range tags {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// tagRules maps model patterns to the tags whose keys may serve them (setting MODEL_KEY_TAGS).
type tagRules struct {
	exact    map[string][]string
	patterns []tagPattern // glob patterns, longest first so the most specific wins
}

type tagPattern struct {
	glob string
	tags []string
}

// SetModelTags installs MODEL_KEY_TAGS: model name or glob ("gemini-2.5-pro*", "*flash*") to a comma
// separated tag list. Models that match nothing may use every key.
func (p *Pool) SetModelTags(m map[string]string) {
	r := &tagRules{exact: map[string][]string{}}
	for pattern, tags := range m {
		list := normalizeTags(strings.Split(tags, ","))
		if len(list) == 0 {
			continue
		}
		if strings.ContainsAny(pattern, "*?[") {
			r.patterns = append(r.patterns, tagPattern{glob: pattern, tags: list})
		} else {
			r.exact[pattern] = list
		}
	}
	sort.Slice(r.patterns, func(i, j int) bool { return len(r.patterns[i].glob) > len(r.patterns[j].glob) })
	p.mu.Lock()
	defer p.mu.Unlock()
	cur := p.v.Load()
	p.v.Store(newView(cur.keys, cur.index, cur.byID, r))
	p.exhausted.Store(&exhaustion{})
}

func (r *tagRules) tagsFor(model string) []string {
	if r == nil || model == AllModels {
		return nil
	}
	if t, ok := r.exact[model]; ok {
		return t
	}
	for _, pt := range r.patterns {
		if ok, _ := path.Match(pt.glob, model); ok {
			return pt.tags
		}
	}
	return nil
}

// candidates are the keys a pick for model chooses among: every active key, or those carrying an
// allowed tag. Filtered lists are built once per view and tag set.
func (v *view) candidates(model string) []*Key {
	tags := v.rules.tagsFor(model)
	if tags == nil {
		return v.active
	}
	id := strings.Join(tags, ",")
	if list, ok := v.filtered.Load(id); ok {
		return list.([]*Key)
	}
	var list []*Key
	for _, k := range v.active {
		if k.hasAnyTag(tags) {
			list = append(list, k)
		}
	}
	v.filtered.Store(id, list)
	return list
}

// CoolDownShared cools k and every key of its project: Google counts quota per project, so the others
// would only hit the same wall.
func (p *Pool) CoolDownShared(k *Key, model string, until time.Time, reason string) {
	p.CoolDown(k, model, until, reason)
	m := k.meta()
	if m == nil || m.Project == "" {
		return
	}
	for _, other := range p.v.Load().projects[m.Project] {
		if other != k {
			p.CoolDown(other, model, until, reason+" (shared with project "+m.Project+")")
		}
	}
}
