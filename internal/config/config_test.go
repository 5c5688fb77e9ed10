package config

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// Unregistered defs, one per kind, so parsing is tested without the constraints of real settings.
func plainDefs() map[Kind]*Def {
	return map[Kind]*Def{
		KindString:     {Name: "T_STRING", Kind: KindString, Default: "dflt"},
		KindInt:        {Name: "T_INT", Kind: KindInt, Default: 7},
		KindFloat:      {Name: "T_FLOAT", Kind: KindFloat, Default: 0.5},
		KindBool:       {Name: "T_BOOL", Kind: KindBool, Default: true},
		KindStringList: {Name: "T_LIST", Kind: KindStringList, Default: []string{}},
		KindStringMap:  {Name: "T_MAP", Kind: KindStringMap, Default: map[string]string{}},
		KindFloatMap:   {Name: "T_FMAP", Kind: KindFloatMap, Default: map[string]float64{}},
		KindMapList:    {Name: "T_MAPLIST", Kind: KindMapList, Default: []map[string]string{}},
	}
}

func mustLookup(t testing.TB, name string) *Def {
	t.Helper()
	d, ok := Lookup(name)
	if !ok {
		t.Fatalf("setting %s is not defined", name)
	}
	return d
}

func TestParse(t *testing.T) {
	plain := plainDefs()
	type tc struct {
		raw     string
		want    any
		wantErr bool
	}
	cases := []struct {
		def   *Def
		cases []tc
	}{
		{plain[KindString], []tc{
			{"abc", "abc", false},
			{"  spaced  ", "spaced", false},
			{"", "", false}, // free text may be empty
			{"a\xffb", "a\uFFFDb", false},
			{"a,b", "a,b", false},
			{"'abc'", "'abc'", false}, // a quote may belong to a string (a password)
		}},
		{plain[KindInt], []tc{
			{"3", 3, false},
			{" 42 ", 42, false},
			{"-5", -5, false},
			{"+5", 5, false},
			{"3.0", 3, false}, // the reference's UI saved numbers via parseFloat
			{"'3'", 3, false}, // docker run --env-file keeps .env quotes
			{`"3"`, 3, false},
			{`'3"`, nil, true},
			{"1e3", 1000, false},
			{"", 7, false},
			{"3.5", nil, true},
			{"abc", nil, true},
			{"1e30", nil, true},
			{"NaN", nil, true},
			{"Inf", nil, true},
			{"9223372036854775808", nil, true},
		}},
		{plain[KindFloat], []tc{
			{"0.016", 0.016, false},
			{"1", 1.0, false},
			{"-2.5e-3", -0.0025, false},
			{"", 0.5, false},
			{"NaN", nil, true},
			{"inf", nil, true},
			{"fast", nil, true},
		}},
		{plain[KindBool], []tc{
			{"true", true, false}, {"TRUE", true, false}, {"1", true, false}, {"yes", true, false}, {"On", true, false},
			{"false", false, false}, {"False", false, false}, {"0", false, false}, {"no", false, false}, {"OFF", false, false},
			{"", true, false},
			{"maybe", nil, true},
			{"2", nil, true},
		}},
		{plain[KindStringList], []tc{
			{`["a","b"]`, []string{"a", "b"}, false},
			{`[" a ", "", "b,c"]`, []string{"a", "b,c"}, false},
			{`[1, 2.5, true, null]`, []string{"1", "2.5", "true"}, false},
			{`[["x"]]`, []string{`["x"]`}, false},
			{"a, b ,c", []string{"a", "b", "c"}, false},
			{`'["a","b"]'`, []string{"a", "b"}, false},
			{"'a,b'", []string{"a", "b"}, false},
			{"a\nb\r\nc", []string{"a", "b", "c"}, false},
			{"a,\n,b,", []string{"a", "b"}, false},
			{"single", []string{"single"}, false},
			{"", []string{}, false},
			{"[]", []string{}, false},
			{`["a",`, nil, true},
			{`[a, b]`, nil, true},
		}},
		{plain[KindStringMap], []tc{
			{`{"X-A":"1","X-B":2,"X-C":true}`, map[string]string{"X-A": "1", "X-B": "2", "X-C": "true"}, false},
			{"", map[string]string{}, false},
			{"{}", map[string]string{}, false},
			{"'{}'", map[string]string{}, false},
			{`'{"a":"b"}'`, map[string]string{"a": "b"}, false},
			{"null", map[string]string{}, false},
			{`["a"]`, nil, true},
			{"a=b", nil, true},
		}},
		{plain[KindFloatMap], []tc{
			{`{"gemini-2.5-flash": 1024, "gemini-2.5-pro": -1}`, map[string]float64{"gemini-2.5-flash": 1024, "gemini-2.5-pro": -1}, false},
			{`{'gemini-2.5-flash': 1024.5}`, map[string]float64{"gemini-2.5-flash": 1024.5}, false}, // Python-style quotes, which the reference accepted
			{`{'m': '12'}`, map[string]float64{"m": 12}, false},
			{"", map[string]float64{}, false},
			{`{"m": "x"}`, nil, true},
			{`{"m": "NaN"}`, nil, true},
			{`{"m": "Infinity"}`, nil, true},
			{`{"m": null}`, nil, true},
			{`{m: 1}`, nil, true},
		}},
		{plain[KindMapList], []tc{
			{`[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"OFF"}]`,
				[]map[string]string{{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "OFF"}}, false},
			{`[{"n":1}]`, []map[string]string{{"n": "1"}}, false},
			{"", []map[string]string{}, false},
			{"[]", []map[string]string{}, false},
			{`'[{"n":1}]'`, []map[string]string{{"n": "1"}}, false},
			{`{"category":"x"}`, nil, true},
			{`["x"]`, nil, true},
		}},
		{mustLookup(t, "PORT"), []tc{
			{"1", 1, false}, {"65535", 65535, false}, {"0", nil, true}, {"65536", nil, true}, {"", 8000, false},
		}},
		{mustLookup(t, "ADMIN_SESSION_EXPIRE"), []tc{
			{"300", 300, false}, {"86400", 86400, false}, {"299", nil, true}, {"86401", nil, true}, {"7200.0", 7200, false},
		}},
		{mustLookup(t, "MAX_FAILURES"), []tc{{"1", 1, false}, {"0", nil, true}}},
		{mustLookup(t, "CHECK_INTERVAL_HOURS"), []tc{{"0", 0, false}, {"-1", nil, true}}},
		{mustLookup(t, "AUTO_DELETE_ERROR_LOGS_DAYS"), []tc{{"1", 1, false}, {"0", nil, true}}},
		{mustLookup(t, "FAKE_STREAM_EMPTY_DATA_INTERVAL_SECONDS"), []tc{{"1", 1, false}, {"0", nil, true}}},
		{mustLookup(t, "STREAM_MIN_DELAY"), []tc{{"0", 0.0, false}, {"-0.001", nil, true}}},
		{mustLookup(t, "LOG_LEVEL"), []tc{
			{"DEBUG", "DEBUG", false},
			{"debug", "DEBUG", false}, // the reference accepted any case
			{" Warning ", "WARNING", false},
			{"", "INFO", false},
			{"verbose", nil, true},
			{"WARN", nil, true},
		}},
		{mustLookup(t, "UPLOAD_PROVIDER"), []tc{
			{"local", "local", false},
			{"SMMS", "smms", false},
			{"cloudflare_imgbed", "cloudflare_imgbed", false},
			{"aliyun_oss", "aliyun_oss", false},
			{"", "local", false},
			{"qiniu", nil, true},
		}},
		{mustLookup(t, "TTS_SPEED"), []tc{{"fast", "fast", false}, {"Slow", "slow", false}, {"quick", nil, true}}},
		{mustLookup(t, "TTS_MODEL"), []tc{{"gemini-2.5-pro-preview-tts", "gemini-2.5-pro-preview-tts", false}, {"my-own-tts", "my-own-tts", false}}},
		{mustLookup(t, "BASE_URL"), []tc{{"", "https://generativelanguage.googleapis.com/v1beta", false}}},
		{mustLookup(t, "THINKING_BUDGET_MAP"), []tc{{`{'gemini-2.5-pro': 2048.0}`, map[string]float64{"gemini-2.5-pro": 2048}, false}}},
		{mustLookup(t, "API_KEYS"), []tc{{`AIzaSyA, AIzaSyB`, []string{"AIzaSyA", "AIzaSyB"}, false}}},
	}
	for _, c := range cases {
		for _, tc := range c.cases {
			got, err := c.def.Parse(tc.raw)
			if tc.wantErr {
				if err == nil {
					t.Errorf("%s.Parse(%q) = %#v, want an error", c.def.Name, tc.raw, got)
				} else if !strings.HasPrefix(err.Error(), c.def.Name+": ") {
					t.Errorf("%s.Parse(%q) error %q does not name the setting", c.def.Name, tc.raw, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s.Parse(%q): %v", c.def.Name, tc.raw, err)
				continue
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s.Parse(%q) = %#v, want %#v", c.def.Name, tc.raw, got, tc.want)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	level := mustLookup(t, "LOG_LEVEL")
	if err := level.Validate("info"); err == nil {
		t.Error("Validate accepts a typed value outside Options; only Parse canonicalises case")
	}
	d := &Def{Name: "T_REQ", Kind: KindString, NonEmpty: true}
	if err := d.Validate(""); err == nil || !strings.Contains(err.Error(), "T_REQ") {
		t.Errorf("NonEmpty: got %v", err)
	}
	if err := mustLookup(t, "PORT").Validate(70000); err == nil {
		t.Error("range not checked")
	}
}

func TestFormat(t *testing.T) {
	p := plainDefs()
	for _, c := range []struct {
		d    *Def
		v    any
		want string
	}{
		{p[KindString], "x", "x"},
		{p[KindInt], 3, "3"},
		{p[KindFloat], 0.016, "0.016"},
		{p[KindFloat], 1e21, "1000000000000000000000"},
		{p[KindBool], false, "false"},
		{p[KindStringList], []string{"a", "b,c"}, `["a","b,c"]`},
		{p[KindStringList], []string(nil), "[]"},
		{p[KindMapList], []map[string]string(nil), "[]"},
		{p[KindStringMap], map[string]string(nil), "{}"},
		{p[KindFloatMap], map[string]float64(nil), "{}"},
		{p[KindFloatMap], map[string]float64{"b": 2, "a": 1.5}, `{"a":1.5,"b":2}`},
		{p[KindStringMap], map[string]string{"k": "<v>"}, `{"k":"\u003cv\u003e"}`},
	} {
		if got := c.d.Format(c.v); got != c.want {
			t.Errorf("%s.Format(%#v) = %q, want %q", c.d.Name, c.v, got, c.want)
		}
	}
}

// Every default must survive the database: it is written as text on the first start.
func TestDefaultsRoundTrip(t *testing.T) {
	for _, d := range All() {
		if err := d.Validate(d.Default); err != nil {
			t.Errorf("default violates its own constraint: %v", err)
		}
		text := d.DefaultText()
		v, err := d.Parse(text)
		if err != nil {
			t.Errorf("%s: default %q does not parse: %v", d.Name, text, err)
			continue
		}
		if !reflect.DeepEqual(v, d.Default) {
			t.Errorf("%s: default %#v came back as %#v", d.Name, d.Default, v)
		}
	}
}

var nameRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

func TestTableWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for i, d := range All() {
		if seen[d.Name] {
			t.Errorf("%s defined twice", d.Name)
		}
		seen[d.Name] = true
		if d.index != i {
			t.Errorf("%s: index %d, position %d", d.Name, d.index, i)
		}
		if got, ok := Lookup(d.Name); !ok || got != d {
			t.Errorf("%s: Lookup does not return it", d.Name)
		}
		if !nameRE.MatchString(d.Name) {
			t.Errorf("%q is not an env-style name", d.Name)
		}
		if strings.TrimSpace(d.Help.EN) == "" || strings.TrimSpace(d.Help.ZH) == "" {
			t.Errorf("%s: help text missing (EN %q, ZH %q)", d.Name, d.Help.EN, d.Help.ZH)
		}
		if !strings.ContainsFunc(d.Help.ZH, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
			t.Errorf("%s: ZH help has no Chinese: %q", d.Name, d.Help.ZH)
		}
		if !strings.HasSuffix(d.Help.EN, ".") && !strings.HasSuffix(d.Help.EN, ")") {
			t.Errorf("%s: EN help should be a sentence: %q", d.Name, d.Help.EN)
		}
		if !containsGroup(d.Group) {
			t.Errorf("%s: group %q not in Groups", d.Name, d.Group)
		}
		if len(d.Options) > 0 && d.Kind != KindString {
			t.Errorf("%s: options on a %s setting", d.Name, d.Kind)
		}
		if (d.Min != nil || d.Max != nil) && d.Kind != KindInt && d.Kind != KindFloat {
			t.Errorf("%s: range on a %s setting", d.Name, d.Kind)
		}
		if d.NonEmpty && d.Default == "" {
			t.Errorf("%s: required with an empty default", d.Name)
		}
		if d.Bootstrap != (d.Group == GroupDatabase || d.Name == "HOST" || d.Name == "PORT") {
			t.Errorf("%s: bootstrap %v in group %s", d.Name, d.Bootstrap, d.Group)
		}
	}
	if len(byName) != len(registry) {
		t.Errorf("byName has %d entries, registry %d", len(byName), len(registry))
	}
	// Settings sit in the file grouped, in the order of Groups, so the admin form and docs read top down.
	last := -1
	for _, d := range All() {
		i := groupIndex(d.Group)
		if i < last {
			t.Errorf("%s (group %s) is defined after a later group", d.Name, d.Group)
		}
		last = i
	}
}

func containsGroup(g Group) bool { return groupIndex(g) >= 0 }

func groupIndex(g Group) int {
	for i, x := range Groups {
		if x == g {
			return i
		}
	}
	return -1
}

// Users switch from Gemini Balance with their .env and database: every name it knows must exist here,
// with its type and (except where gemgate deliberately differs) its default.
func TestReferenceSettingsPresent(t *testing.T) {
	ref := map[string]any{
		"DATABASE_TYPE":   "sqlite",
		"SQLITE_DATABASE": "data/gemgate.db",
		"MYSQL_HOST":      "",
		"MYSQL_PORT":      3306,
		"MYSQL_USER":      "",
		"MYSQL_PASSWORD":  "",
		"MYSQL_DATABASE":  "",
		"MYSQL_SOCKET":    "",
		"API_KEYS":        []string{},
		"ALLOWED_TOKENS":  []string{},
		"AUTH_TOKEN":      "",
		"BASE_URL":        "https://generativelanguage.googleapis.com/v1beta",
		"MAX_FAILURES":    3,
		"TEST_MODEL":      "gemini-2.5-flash-lite",
		"TIME_OUT":        300,
		"MAX_RETRIES":     3,
		"PROXIES":         []string{},
		"PROXIES_USE_CONSISTENCY_HASH_BY_API_KEY": true,
		"VERTEX_API_KEYS":                         []string{},
		"VERTEX_EXPRESS_BASE_URL":                 "https://aiplatform.googleapis.com/v1beta1/publishers/google",
		"URL_NORMALIZATION_ENABLED":               false,
		"CUSTOM_HEADERS":                          map[string]string{},
		"SEARCH_MODELS":                           []string{"gemini-2.5-flash", "gemini-2.5-pro"},
		"IMAGE_MODELS":                            []string{"gemini-2.0-flash-exp", "gemini-2.5-flash-image-preview"},
		"FILTERED_MODELS": []string{
			"gemini-1.0-pro-vision-latest",
			"gemini-pro-vision",
			"chat-bison-001",
			"text-bison-001",
			"embedding-gecko-001",
		},
		"TOOLS_CODE_EXECUTION_ENABLED": false,
		"URL_CONTEXT_ENABLED":          false,
		"URL_CONTEXT_MODELS": []string{
			"gemini-2.5-pro",
			"gemini-2.5-flash",
			"gemini-2.5-flash-lite",
			"gemini-2.0-flash",
			"gemini-2.0-flash-live-001",
		},
		"SHOW_SEARCH_LINK":      true,
		"SHOW_THINKING_PROCESS": true,
		"THINKING_MODELS":       []string{},
		"THINKING_BUDGET_MAP":   map[string]float64{},
		"SAFETY_SETTINGS": []map[string]string{
			{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "OFF"},
			{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "OFF"},
			{"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "threshold": "OFF"},
			{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "OFF"},
			{"category": "HARM_CATEGORY_CIVIC_INTEGRITY", "threshold": "BLOCK_NONE"},
		},
		"TTS_MODEL":                               "gemini-2.5-flash-preview-tts",
		"TTS_VOICE_NAME":                          "Zephyr",
		"TTS_SPEED":                               "normal",
		"PAID_KEY":                                "",
		"CREATE_IMAGE_MODEL":                      "imagen-3.0-generate-002",
		"UPLOAD_PROVIDER":                         "local",
		"SMMS_SECRET_TOKEN":                       "",
		"PICGO_API_KEY":                           "",
		"PICGO_API_URL":                           "https://www.picgo.net/api/1/upload",
		"CLOUDFLARE_IMGBED_URL":                   "",
		"CLOUDFLARE_IMGBED_AUTH_CODE":             "",
		"CLOUDFLARE_IMGBED_UPLOAD_FOLDER":         "",
		"OSS_ENDPOINT":                            "",
		"OSS_ENDPOINT_INNER":                      "",
		"OSS_ACCESS_KEY":                          "",
		"OSS_ACCESS_KEY_SECRET":                   "",
		"OSS_BUCKET_NAME":                         "",
		"OSS_REGION":                              "",
		"STREAM_OPTIMIZER_ENABLED":                false,
		"STREAM_MIN_DELAY":                        0.016,
		"STREAM_MAX_DELAY":                        0.024,
		"STREAM_SHORT_TEXT_THRESHOLD":             10,
		"STREAM_LONG_TEXT_THRESHOLD":              50,
		"STREAM_CHUNK_SIZE":                       5,
		"FAKE_STREAM_ENABLED":                     false,
		"FAKE_STREAM_EMPTY_DATA_INTERVAL_SECONDS": 5,
		"CHECK_INTERVAL_HOURS":                    1,
		"TIMEZONE":                                "Asia/Shanghai",
		"GITHUB_REPO_OWNER":                       "snailyp",
		"GITHUB_REPO_NAME":                        "gemini-balance",
		"LOG_LEVEL":                               "INFO",
		"ERROR_LOG_RECORD_REQUEST_BODY":           false,
		"AUTO_DELETE_ERROR_LOGS_ENABLED":          true,
		"AUTO_DELETE_ERROR_LOGS_DAYS":             7,
		"AUTO_DELETE_REQUEST_LOGS_ENABLED":        false,
		"AUTO_DELETE_REQUEST_LOGS_DAYS":           30,
		"FILES_CLEANUP_ENABLED":                   true,
		"FILES_CLEANUP_INTERVAL_HOURS":            1,
		"FILES_USER_ISOLATION_ENABLED":            true,
		"ADMIN_SESSION_EXPIRE":                    3600,
		// gemgate's own
		"PUBLIC_URL":            "",
		"LOCAL_IMAGE_TTL_HOURS": 72,
		"LOCAL_IMAGE_MAX_MB":    10,
	}
	for name, want := range ref {
		d, ok := Lookup(name)
		if !ok {
			t.Errorf("%s is missing", name)
			continue
		}
		if !reflect.DeepEqual(d.Default, want) {
			t.Errorf("%s: default %#v, want %#v", name, d.Default, want)
		}
	}
	secrets := []string{"API_KEYS", "ALLOWED_TOKENS", "AUTH_TOKEN", "MYSQL_PASSWORD", "POSTGRES_DSN", "DATABASE_URL",
		"VERTEX_API_KEYS", "PAID_KEY", "SMMS_SECRET_TOKEN", "PICGO_API_KEY", "CLOUDFLARE_IMGBED_AUTH_CODE",
		"OSS_ACCESS_KEY", "OSS_ACCESS_KEY_SECRET", "PROXIES", "CUSTOM_HEADERS"}
	for _, name := range secrets {
		if !mustLookup(t, name).Secret {
			t.Errorf("%s should be secret", name)
		}
	}
	groups := map[string]Group{
		"VERTEX_API_KEYS": GroupAPI, "URL_NORMALIZATION_ENABLED": GroupAPI, "THINKING_BUDGET_MAP": GroupModels,
		"TTS_SPEED": GroupTTS, "UPLOAD_PROVIDER": GroupImage, "LOCAL_IMAGE_MAX_MB": GroupImage,
		"FAKE_STREAM_ENABLED": GroupStream, "TIMEZONE": GroupScheduler, "CHECK_INTERVAL_HOURS": GroupScheduler,
		"LOG_LEVEL": GroupLogging, "FILES_CLEANUP_ENABLED": GroupFiles, "ADMIN_SESSION_EXPIRE": GroupAdmin,
		"GITHUB_REPO_OWNER": GroupAdmin, "GITHUB_REPO_NAME": GroupAdmin,
	}
	for name, g := range groups {
		if got := mustLookup(t, name).Group; got != g {
			t.Errorf("%s in group %s, want %s", name, got, g)
		}
	}
}

func TestTypedHandles(t *testing.T) {
	s := Defaults()
	if got := UploadProvider.Get(s); got != "local" {
		t.Errorf("UploadProvider = %q", got)
	}
	if got := ThinkingBudgetMap.Get(s); got == nil || len(got) != 0 {
		t.Errorf("ThinkingBudgetMap = %#v", got)
	}
	if got := StreamMinDelay.Get(s); got != 0.016 {
		t.Errorf("StreamMinDelay = %v", got)
	}
	if got := SafetySettings.Get(s); len(got) != 5 {
		t.Errorf("SafetySettings = %#v", got)
	}
	if LogLevel.Name() != "LOG_LEVEL" || LogLevel.Def().Kind != KindString {
		t.Error("handle does not describe its setting")
	}
	if s.Version() != 1 || s.Source(Port.Def()) != SourceDefault || s.Value(Port.Def()) != 8000 {
		t.Error("Defaults snapshot is wrong")
	}
	if SourceDB.String() != "database" || KindFloatMap.String() != "float map" {
		t.Error("String methods")
	}
}

func TestReadEnv(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".env")
	content := "# comment\nAPI_KEYS=[\"k1\",\"k2\"]\nLOG_LEVEL=INFO\nexport MAX_FAILURES=5\nTEST_MODEL=\"gemini-x\"\nNOT_A_SETTING=1\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	env, err := ReadEnv(path, []string{"LOG_LEVEL=DEBUG", "PATH=/usr/bin", "GARBAGE", "AUTH_TOKEN=a=b"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"API_KEYS": `["k1","k2"]`, "LOG_LEVEL": "DEBUG", "MAX_FAILURES": "5", "TEST_MODEL": "gemini-x", "AUTH_TOKEN": "a=b",
	}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("ReadEnv = %#v, want %#v", env, want)
	}

	env, err = ReadEnv(filepath.Join(dir, "missing.env"), []string{"PORT=9000"})
	if err != nil || !reflect.DeepEqual(env, map[string]string{"PORT": "9000"}) {
		t.Errorf("missing file: %#v, %v", env, err)
	}
	env, err = ReadEnv("", nil)
	if err != nil || len(env) != 0 {
		t.Errorf("no file: %#v, %v", env, err)
	}

	bad := filepath.Join(dir, "bad.env")
	if err := os.WriteFile(bad, []byte("API_KEYS=\"unterminated\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadEnv(bad, nil); err == nil || !strings.Contains(err.Error(), "bad.env") {
		t.Errorf("malformed .env: %v", err)
	}
	if _, err := ReadEnv(dir, nil); err == nil {
		t.Error("a directory as .env should be an error")
	}
}

func TestFromEnv(t *testing.T) {
	s, err := FromEnv(map[string]string{"MAX_FAILURES": "10", "LOG_LEVEL": "warning", "API_KEYS": "a,b"})
	if err != nil {
		t.Fatal(err)
	}
	if MaxFailures.Get(s) != 10 || s.Source(MaxFailures.Def()) != SourceEnv {
		t.Errorf("MAX_FAILURES = %d from %s", MaxFailures.Get(s), s.Source(MaxFailures.Def()))
	}
	if LogLevel.Get(s) != "WARNING" {
		t.Errorf("LOG_LEVEL = %q", LogLevel.Get(s))
	}
	if !reflect.DeepEqual(APIKeys.Get(s), []string{"a", "b"}) {
		t.Errorf("API_KEYS = %q", APIKeys.Get(s))
	}
	if TimeOut.Get(s) != 300 || s.Source(TimeOut.Def()) != SourceDefault {
		t.Error("unset setting should keep its default")
	}

	_, err = FromEnv(map[string]string{"ADMIN_SESSION_EXPIRE": "60", "PORT": "http", "MAX_FAILURES": "2"})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, name := range []string{"ADMIN_SESSION_EXPIRE", "PORT"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	if strings.Contains(err.Error(), "MAX_FAILURES") {
		t.Errorf("error %q names a valid setting", err)
	}
}

func TestNewToken(t *testing.T) {
	re := regexp.MustCompile(`^sk-[A-Za-z0-9_]{48}$`)
	seen := map[string]bool{}
	for range 100 {
		tok := NewToken()
		if !re.MatchString(tok) {
			t.Fatalf("bad token %q", tok)
		}
		if seen[tok] {
			t.Fatalf("duplicate token %q", tok)
		}
		seen[tok] = true
	}
}

func TestIntBounds(t *testing.T) {
	d := plainDefs()[KindInt]
	v, err := d.Parse(strconv.Itoa(math.MinInt) + ".0")
	if err != nil || v != math.MinInt {
		t.Errorf("MinInt64 as float: %v, %v", v, err)
	}
}
