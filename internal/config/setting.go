// Package config holds gemgate's settings: one declarative table (settings.go) that drives env loading,
// database persistence, the admin form and the generated reference in docs/, plus the immutable
// Snapshot the rest of the code reads.
package config

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Kind is the value type of a setting; it decides parsing, formatting and the admin widget.
type Kind int

const (
	KindString Kind = iota
	KindInt
	KindFloat
	KindBool
	KindStringList // []string; env accepts a JSON array or a comma separated list
	KindStringMap  // map[string]string, JSON object
	KindFloatMap   // map[string]float64, JSON object
	KindMapList    // []map[string]string, JSON array of objects
)

func (k Kind) String() string {
	return [...]string{"string", "int", "float", "bool", "list", "map", "float map", "list of maps"}[k]
}

// Group is a tab of the admin settings editor and a section of docs/settings.md.
type Group string

const (
	GroupAPI       Group = "api"
	GroupModels    Group = "models"
	GroupTTS       Group = "tts"
	GroupImage     Group = "image"
	GroupStream    Group = "stream"
	GroupScheduler Group = "scheduler"
	GroupLogging   Group = "logging"
	GroupFiles     Group = "files"
	GroupAdmin     Group = "admin"
	GroupDatabase  Group = "database"
	GroupServer    Group = "server"
)

// Groups lists the groups in display order.
var Groups = []Group{GroupServer, GroupDatabase, GroupAPI, GroupModels, GroupTTS, GroupImage, GroupStream,
	GroupScheduler, GroupLogging, GroupFiles, GroupAdmin}

// Text is a bilingual string.
type Text struct{ EN, ZH string }

// Def describes one setting. Defs are created only through define, so the registry below is the single
// place where a setting's name is spelled.
type Def struct {
	Name      string
	Kind      Kind
	Default   any // typed like the setting's Go type
	Group     Group
	Help      Text
	Secret    bool     // masked in pages and logs
	Bootstrap bool     // read from env only (database connection, listen address); never stored in the database
	Options   []string // allowed values (a select in the admin form); empty means free text
	Min, Max  *float64 // inclusive numeric range, when set
	NonEmpty  bool     // a string that may not be empty once set
	// Check, when set, validates a parsed value beyond the constraints above (e.g. the syntax of list
	// items); its error is prefixed with the setting's name.
	Check func(v any) error

	// How the admin form shows it, beyond the widget of its kind.
	Widget      string              // e.g. "keys", "model", "models", "map"
	Suggestions []string            // values offered, not enforced
	ItemOptions map[string][]string // the choices of each field of a list of maps
	ShownWhen   *When               // shown only while another setting has a value

	index int
}

// Option tunes a Def in define.
type Option func(*Def)

// Secret marks a setting whose value must never be shown or logged in full.
func Secret() Option { return func(d *Def) { d.Secret = true } }

// Bootstrap marks a setting that is read from env only.
func Bootstrap() Option { return func(d *Def) { d.Bootstrap = true } }

// OneOf restricts a string setting to the given values.
func OneOf(values ...string) Option { return func(d *Def) { d.Options = values } }

// Checked adds a validation of the parsed value.
func Checked(fn func(v any) error) Option { return func(d *Def) { d.Check = fn } }

// Range restricts a numeric setting to [lo, hi].
func Range(lo, hi float64) Option { return func(d *Def) { d.Min, d.Max = &lo, &hi } }

// When is a condition on another setting's value.
type When struct {
	Setting string `json:"setting"`
	Value   string `json:"value"`
}

// Widget names the admin form's widget for a setting that needs more than the one of its kind.
func Widget(name string) Option { return func(d *Def) { d.Widget = name } }

// Suggest offers values in the admin form without restricting the setting to them.
func Suggest(values ...string) Option { return func(d *Def) { d.Suggestions = values } }

// ItemOptions lists the choices of each field of a list-of-maps setting in the admin form.
func ItemOptions(fields map[string][]string) Option { return func(d *Def) { d.ItemOptions = fields } }

// ShownWhen shows a setting in the admin form only while on has the given value (e.g. an image host's
// credentials while UPLOAD_PROVIDER names that host).
func ShownWhen(on Setting[string], value string) Option {
	return func(d *Def) { d.ShownWhen = &When{Setting: on.Name(), Value: value} }
}

// AtLeast restricts a numeric setting to values >= lo.
func AtLeast(lo float64) Option { return func(d *Def) { d.Min = &lo } }

// Setting is a typed handle on one Def; Get reads it from a Snapshot without allocating.
type Setting[T any] struct{ def *Def }

// Def returns the setting's description.
func (s Setting[T]) Def() *Def { return s.def }

// Name returns the setting's name.
func (s Setting[T]) Name() string { return s.def.Name }

// Get returns the setting's value in snap.
func (s Setting[T]) Get(snap *Snapshot) T { return snap.values[s.def.index].(T) }

var registry []*Def
var byName = map[string]*Def{}

func define[T any](name string, def T, group Group, en, zh string, opts ...Option) Setting[T] {
	d := &Def{Name: name, Default: def, Group: group, Help: Text{EN: en, ZH: zh}, index: len(registry)}
	switch any(def).(type) {
	case string:
		d.Kind = KindString
	case int:
		d.Kind = KindInt
	case float64:
		d.Kind = KindFloat
	case bool:
		d.Kind = KindBool
	case []string:
		d.Kind = KindStringList
	case map[string]string:
		d.Kind = KindStringMap
	case map[string]float64:
		d.Kind = KindFloatMap
	case []map[string]string:
		d.Kind = KindMapList
	default:
		panic(fmt.Sprintf("config: setting %s has unsupported type %T", name, def))
	}
	for _, o := range opts {
		o(d)
	}
	if _, dup := byName[name]; dup {
		panic("config: setting defined twice: " + name)
	}
	registry = append(registry, d)
	byName[name] = d
	return Setting[T]{def: d}
}

// All returns every setting in definition order.
func All() []*Def { return slices.Clone(registry) }

// Lookup finds a setting by name.
func Lookup(name string) (*Def, bool) {
	d, ok := byName[name]
	return d, ok
}

// Parse turns the textual form of a value (env, .env, database, form) into the setting's Go type and
// validates it.
func (d *Def) Parse(raw string) (any, error) {
	// Invalid UTF-8 would be replaced by JSON encoding (so a list would not survive a round trip) and
	// is refused by PostgreSQL text columns; replacing it here keeps every stored value valid.
	v, err := d.parse(d.unquote(strings.ToValidUTF8(strings.TrimSpace(raw), "\uFFFD")))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name, err)
	}
	if err := d.Validate(v); err != nil {
		return nil, err
	}
	return v, nil
}

// unquote drops one pair of quotes around a value of a typed setting. docker run --env-file passes
// .env.example's MODEL_ALIASES='{}' on with its quotes, where Compose, systemd and godotenv remove them; a
// quoted number, boolean, list or JSON value is never valid as it stands, so unwrapping it can only turn
// an error into the value meant. Strings keep their quotes: there a quote may belong to the value.
func (d *Def) unquote(raw string) string {
	if d.Kind == KindString || len(raw) < 2 {
		return raw
	}
	if q := raw[0]; (q == '\'' || q == '"') && raw[len(raw)-1] == q {
		return strings.TrimSpace(raw[1 : len(raw)-1])
	}
	return raw
}

func (d *Def) parse(raw string) (any, error) {
	switch d.Kind {
	case KindString:
		if raw == "" && (len(d.Options) > 0 || d.NonEmpty) {
			return d.Default, nil // as for numbers: an empty choice means the default
		}
		for _, o := range d.Options {
			// The reference compared LOG_LEVEL and UPLOAD_PROVIDER case-insensitively; existing .env
			// files and databases may hold "info" or "SMMS".
			if strings.EqualFold(raw, o) {
				return o, nil
			}
		}
		return raw, nil
	case KindInt:
		if raw == "" {
			return d.Default, nil
		}
		n, err := strconv.Atoi(raw)
		if err != nil {
			f, ferr := strconv.ParseFloat(raw, 64)
			if ferr != nil || f != math.Trunc(f) {
				return nil, fmt.Errorf("%q is not a whole number", raw)
			}
			// Converting an out-of-range float to int is implementation-defined in Go.
			if f < math.MinInt || f >= -math.MinInt {
				return nil, fmt.Errorf("%q is too large", raw)
			}
			n = int(f)
		}
		return n, nil
	case KindFloat:
		if raw == "" {
			return d.Default, nil
		}
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%q is not a number", raw)
		}
		return f, nil
	case KindBool:
		switch strings.ToLower(raw) {
		case "true", "1", "yes", "on":
			return true, nil
		case "false", "0", "no", "off":
			return false, nil
		case "":
			return d.Default, nil
		}
		return nil, fmt.Errorf("%q is not true or false", raw)
	case KindStringList:
		return parseList(raw)
	case KindStringMap:
		m := map[string]string{}
		if raw == "" {
			return m, nil
		}
		var anyMap map[string]any
		if err := json.Unmarshal([]byte(raw), &anyMap); err != nil {
			return nil, fmt.Errorf("not a JSON object: %w", err)
		}
		for k, v := range anyMap {
			m[k] = stringify(v)
		}
		return m, nil
	case KindFloatMap:
		m := map[string]float64{}
		if raw == "" {
			return m, nil
		}
		var anyMap map[string]any
		if err := json.Unmarshal([]byte(raw), &anyMap); err != nil {
			// The reference accepted Python-style single quotes here.
			if err2 := json.Unmarshal([]byte(strings.ReplaceAll(raw, "'", `"`)), &anyMap); err2 != nil {
				return nil, fmt.Errorf("not a JSON object: %w", err)
			}
		}
		for k, v := range anyMap {
			f, err := strconv.ParseFloat(stringify(v), 64)
			// NaN and infinities would make Format fail (JSON has no such numbers) and lose the map.
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("value of %q is not a number", k)
			}
			m[k] = f
		}
		return m, nil
	case KindMapList:
		out := []map[string]string{}
		if raw == "" {
			return out, nil
		}
		var items []map[string]any
		if err := json.Unmarshal([]byte(raw), &items); err != nil {
			return nil, fmt.Errorf("not a JSON array of objects: %w", err)
		}
		for _, it := range items {
			m := map[string]string{}
			for k, v := range it {
				m[k] = stringify(v)
			}
			out = append(out, m)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown kind %d", d.Kind)
}

// parseList accepts a JSON array, or a comma (or newline) separated list, like the reference.
func parseList(raw string) ([]string, error) {
	out := []string{}
	if raw == "" {
		return out, nil
	}
	if strings.HasPrefix(raw, "[") {
		var items []any
		if err := json.Unmarshal([]byte(raw), &items); err != nil {
			return nil, fmt.Errorf("not a JSON array: %w", err)
		}
		for _, it := range items {
			if s := strings.TrimSpace(stringify(it)); s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	}
	for _, part := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if s := strings.TrimSpace(part); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

func stringify(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	default:
		b, _ := json.Marshal(t)
		return string(b)
	}
}

// Validate checks a typed value against the setting's constraints.
func (d *Def) Validate(v any) error {
	var num float64
	isNum := false
	switch t := v.(type) {
	case int:
		num, isNum = float64(t), true
	case float64:
		num, isNum = t, true
	case string:
		if len(d.Options) > 0 && !slices.Contains(d.Options, t) {
			return fmt.Errorf("%s: %q is not one of %s", d.Name, t, strings.Join(d.Options, ", "))
		}
		if d.NonEmpty && t == "" {
			return fmt.Errorf("%s: may not be empty", d.Name)
		}
	}
	if isNum {
		if d.Min != nil && num < *d.Min {
			return fmt.Errorf("%s: %v is below the minimum %v", d.Name, num, *d.Min)
		}
		if d.Max != nil && num > *d.Max {
			return fmt.Errorf("%s: %v is above the maximum %v", d.Name, num, *d.Max)
		}
	}
	if d.Check != nil {
		if err := d.Check(v); err != nil {
			return fmt.Errorf("%s: %w", d.Name, err)
		}
	}
	return nil
}

// Format turns a typed value into the textual form stored in the database (JSON for lists and maps,
// like the reference, so an existing Gemini Balance database reads the same).
func (d *Def) Format(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case int:
		return strconv.Itoa(t)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return ""
		}
		// A nil slice or map marshals as null, which a list would read back as the item "null".
		if string(b) == "null" {
			switch d.Kind {
			case KindStringList, KindMapList:
				return "[]"
			case KindStringMap, KindFloatMap:
				return "{}"
			}
		}
		return string(b)
	}
}

// DefaultText is the default value in its textual form.
func (d *Def) DefaultText() string { return d.Format(d.Default) }
