package doccheck

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/config"
)

// settingNames are the setting names in backticks in text; "MYSQL_HOST`/`PORT`/`USER`" is short for
// MYSQL_HOST, MYSQL_PORT and MYSQL_USER.
func settingNames(text string) []string {
	var out []string
	prefix := ""
	for _, m := range regexp.MustCompile("(/?)`([A-Z][A-Z0-9_]*)`").FindAllStringSubmatch(text, -1) {
		name := m[2]
		if _, short := config.Lookup(prefix + name); m[1] == "/" && prefix != "" && short {
			name = prefix + name
		} else if i := strings.IndexByte(name, '_'); i > 0 {
			prefix = name[:i+1]
		}
		if _, ok := config.Lookup(name); ok {
			out = append(out, name)
		}
	}
	return out
}

func bootstrapNames() []string {
	var out []string
	for _, d := range config.All() {
		if d.Bootstrap {
			out = append(out, d.Name)
		}
	}
	slices.Sort(out)
	return out
}

// paragraph is the text from the line holding start to the next blank line or list item.
func paragraph(t *testing.T, file, start string) string {
	t.Helper()
	doc := readDoc(t, file)
	i := strings.Index(doc, start)
	if i < 0 {
		t.Fatalf("%s no longer says %q: update this test so that the new wording is checked", file, start)
	}
	rest := doc[i:]
	if j := regexp.MustCompile(`\n\s*\n|\n\s*(?:[0-9]+\.|-) `).FindStringIndex(rest); j != nil {
		rest = rest[:j[0]]
	}
	return rest
}

// TestEnvOnlySettings: the lists of env-only settings in the docs are the settings table's, and every
// setting a table row calls env only is one.
func TestEnvOnlySettings(t *testing.T) {
	want := bootstrapNames()
	for file, start := range map[string]string{
		"README.md":       "**Env-only (bootstrap) settings are never stored:**",
		"README.zh-CN.md": "**仅环境变量（启动引导）的配置项从不存入数据库**",
	} {
		got := settingNames(paragraph(t, file, start))
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s lists the env-only settings\n\t%v\nthe settings table has\n\t%v", file, got, want)
		}
	}
	// The deploy guides say "the database connection" for the DATABASE_TYPE, SQLITE_*, MYSQL_*,
	// POSTGRES_DSN and DATABASE_URL settings and name the rest.
	for file, start := range map[string]string{
		"docs/deploy/README.md":       "The env-only settings are always read from the environment",
		"docs/deploy/README.zh-CN.md": `"仅环境变量"的配置项始终从环境变量读取`,
	} {
		named := settingNames(paragraph(t, file, start))
		for _, name := range want {
			d, _ := config.Lookup(name)
			if d.Group == config.GroupDatabase && !strings.HasPrefix(name, "REDIS_") && name != config.DBConnectTimeout.Name() &&
				name != config.GeminiBalanceTimezone.Name() && name != config.EnvOverrides.Name() && name != config.EncryptionKey.Name() {
				continue // "the database connection"
			}
			if !slices.Contains(named, name) {
				t.Errorf("%s does not name env-only %s", file, name)
			}
		}
		for _, name := range named {
			if !slices.Contains(want, name) {
				t.Errorf("%s calls %s env-only; it is not", file, name)
			}
		}
	}
	// Table rows: "| `NAME` | … (env only) |".
	row := regexp.MustCompile(`(?m)^\|[^\n]*(?:env only|仅环境变量)[^\n]*$`)
	for _, file := range []string{"README.md", "README.zh-CN.md"} {
		rows := row.FindAllString(readDoc(t, file), -1)
		if len(rows) < 4 {
			t.Errorf("%s has %d table rows marked env only: the pattern no longer finds them", file, len(rows))
		}
		for _, r := range rows {
			cells := strings.Split(r, "|")
			for _, name := range settingNames(cells[1]) {
				if !slices.Contains(want, name) {
					t.Errorf("%s: %s is marked env only, but the settings table stores it: %s", file, name, r)
				}
			}
		}
	}
}
