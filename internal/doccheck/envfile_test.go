package doccheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/config"
)

// dockerEnvFile reads an env file as docker run --env-file does: KEY=VALUE lines taken literally (no
// quote removal, no interpolation, no inline comments), lines starting with # skipped.
func dockerEnvFile(text string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimLeft(line, " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue // a bare name copies the host's variable; the example has none
		}
		out[k] = v
	}
	return out
}

var interpolation = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// composeEnvFile reads an env file as Compose's env_file does (compose-go's dotenv): single quotes keep
// their text literally, double quotes take backslash escapes and ${VAR} interpolation, an unquoted value
// ends at " #" and is interpolated.
func composeEnvFile(text string) map[string]string {
	out := map[string]string{}
	interp := func(s string) string {
		return interpolation.ReplaceAllStringFunc(s, func(m string) string {
			sm := interpolation.FindStringSubmatch(m)
			name := sm[1] + sm[3]
			if v, ok := out[name]; ok && v != "" {
				return v
			}
			return sm[2]
		})
	}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case len(v) >= 2 && v[0] == '\'' && strings.LastIndexByte(v, '\'') > 0:
			v = v[1:strings.LastIndexByte(v, '\'')]
		case len(v) >= 2 && v[0] == '"' && strings.LastIndexByte(v, '"') > 0:
			v = strings.NewReplacer(`\n`, "\n", `\"`, `"`, `\\`, `\`).Replace(v[1:strings.LastIndexByte(v, '"')])
			v = interp(v)
		default:
			if i := strings.Index(v, " #"); i >= 0 {
				v = strings.TrimSpace(v[:i])
			}
			v = interp(v)
		}
		out[k] = v
	}
	return out
}

// systemdEnvFile reads an env file as systemd's EnvironmentFile= does (parse_env_file in systemd's
// env-file.c): lines starting with # or ; are comments; in a value, single and double quotes open quoted
// stretches wherever they appear and are removed, a backslash escapes the next character (in double
// quotes only " \ ` $ and a newline), and unquoted trailing whitespace is dropped.
func systemdEnvFile(text string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		k, raw, ok := strings.Cut(trimmed, "=")
		if !ok {
			continue
		}
		raw = strings.TrimLeft(raw, " \t")
		var v []byte
		keep := 0 // length of v up to its last character that is quoted or not whitespace
		for i := 0; i < len(raw); i++ {
			switch c := raw[i]; c {
			case '\'':
				for i++; i < len(raw) && raw[i] != '\''; i++ {
					v = append(v, raw[i])
				}
				keep = len(v)
			case '"':
				for i++; i < len(raw) && raw[i] != '"'; i++ {
					if raw[i] == '\\' && i+1 < len(raw) && strings.IndexByte("\"\\`$", raw[i+1]) >= 0 {
						i++
					}
					v = append(v, raw[i])
				}
				keep = len(v)
			case '\\':
				if i+1 < len(raw) {
					i++
					v = append(v, raw[i])
					keep = len(v)
				}
			default:
				v = append(v, c)
				if c != ' ' && c != '\t' {
					keep = len(v)
				}
			}
		}
		out[strings.TrimSpace(k)] = string(v[:keep])
	}
	return out
}

func TestEnvFileReaders(t *testing.T) {
	text := "# comment\nA='{\"x\":\"$y\"}'\nB=\"a\\\"b\" \nC=plain # note\nD='[\"a\",\"b\"]'\nE=x\"y z\"w  \n"
	for name, c := range map[string]struct {
		read func(string) map[string]string
		want map[string]string
	}{
		"docker":  {dockerEnvFile, map[string]string{"A": `'{"x":"$y"}'`, "B": `"a\"b" `, "C": "plain # note", "D": `'["a","b"]'`, "E": `x"y z"w  `}},
		"compose": {composeEnvFile, map[string]string{"A": `{"x":"$y"}`, "B": `a"b`, "C": "plain", "D": `["a","b"]`, "E": `x"y z"w`}},
		"systemd": {systemdEnvFile, map[string]string{"A": `{"x":"$y"}`, "B": `a"b`, "C": "plain # note", "D": `["a","b"]`, "E": `xy zw`}},
	} {
		got := c.read(text)
		for k, want := range c.want {
			if got[k] != want {
				t.Errorf("%s: %s = %q, want %q", name, k, got[k], want)
			}
		}
	}
}

// imageEnv is the ENV of the Dockerfile's final stage.
func imageEnv(t *testing.T) map[string]string {
	t.Helper()
	text := strings.ReplaceAll(readDoc(t, "Dockerfile"), "\\\n", " ")
	env := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "FROM ") {
			clear(env)
		}
		if rest, ok := strings.CutPrefix(line, "ENV "); ok {
			for _, kv := range strings.Fields(rest) {
				if k, v, ok := strings.Cut(kv, "="); ok {
					env[k] = v
				}
			}
		}
	}
	if env[config.SQLiteDatabase.Name()] == "" {
		t.Fatalf("the Dockerfile sets no %s: %v", config.SQLiteDatabase.Name(), env)
	}
	return env
}

// TestEnvExampleStarts reads .env.example the way each tool a guide names reads it and starts gemgate
// with the result, as the image would run it: it must start, and keep SQLite where the image keeps it
// (the /data volume), not in a folder lost with the container.
func TestEnvExampleStarts(t *testing.T) {
	example := readDoc(t, ".env.example")
	for name, read := range map[string]func(string) map[string]string{
		"docker run --env-file":   dockerEnvFile,
		"compose env_file":        composeEnvFile,
		"systemd EnvironmentFile": systemdEnvFile,
	} {
		t.Run(strings.Fields(name)[0], func(t *testing.T) {
			t.Parallel()
			vars := read(example)
			if len(vars) < 50 {
				t.Fatalf("%s read %d variables from .env.example", name, len(vars))
			}
			// The image's /data is this test's folder; the env file's values win over the image's ENV,
			// as they do in docker run and Compose.
			data := filepath.Join(t.TempDir(), "data")
			if err := os.MkdirAll(data, 0o755); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{}
			for k, v := range imageEnv(t) {
				env[k] = strings.Replace(v, "/data", data, 1)
			}
			for k, v := range vars {
				env[k] = v
			}
			env[config.AuthToken.Name()] = docAdminToken
			list := cleanEnv()
			for k, v := range env {
				list = append(list, k+"="+v)
			}
			srv := startGemgate(t, data, list, "serve")
			if _, err := os.Stat(filepath.Join(data, "gemgate.db")); err != nil {
				t.Errorf("with .env.example read by %s the database is not the image's %s: %v\n%s",
					name, imageEnv(t)[config.SQLiteDatabase.Name()], err, srv.output)
			}
		})
	}
}
