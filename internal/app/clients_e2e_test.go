package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/fakeupstream"
)

// The real-client suite runs the agent CLIs and official SDKs pinned in test/clients/package.json
// against gemgate and the fake Gemini, each in its default configuration (only the base URL and the key
// are set). It needs node and `npm ci --ignore-scripts` in test/clients; GEMGATE_TEST_CLIENTS names the
// installed node_modules. GEMGATE_TEST_CLIENTS_TABLE, when set, receives the compatibility table for the
// README.

// clientRunWait bounds one run of a client. Failure cases must end with the client's error well before
// it; a client still retrying then has not been told to stop.
const clientRunWait = 90 * time.Second

// client is one package under test: how to run one of its checks, which checks show it working, and
// which check meets the failure cases (a streaming one, so that a cut stream is met too).
type client struct {
	name, pkg string
	checks    []string
	fail      string
	// skipFail names failure cases the client is not held to, with the reason (shown in the table).
	skipFail map[string]string
	run      func(env *clientEnv, check string) *exec.Cmd
}

// clientEnv is where clients run: gemgate's address and token, a private HOME and a work directory.
type clientEnv struct {
	modules, home, work, url, token string
}

// failCase is a condition every client must end with a clear error in, within seconds.
type failCase struct {
	name  string
	keys  map[string]fakeupstream.Behavior
	token string
	// warm, when set, is sent first (through the native API) to bring the pool into the state.
	warm bool
	// says is what the client's error must say (gemgate's or Google's words, as the client shows them).
	says *regexp.Regexp
}

func TestRealClients(t *testing.T) {
	modules := os.Getenv("GEMGATE_TEST_CLIENTS")
	if modules == "" {
		t.Skip("GEMGATE_TEST_CLIENTS is not set (npm ci --ignore-scripts in test/clients, then point it at node_modules)")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	clients := realClients(modules)
	var rows []string

	t.Run("working", func(t *testing.T) {
		h := newHarness(t, fakeupstream.Config{}, nil)
		env := newClientEnv(t, modules, h.srv.URL, clientToken)
		for _, c := range clients {
			var passed []string
			for _, check := range c.checks {
				out, err := runClient(t, c.run(env, check))
				if err != nil {
					t.Errorf("%s %s: %v\n%s", c.name, check, err, out)
					continue
				}
				passed = append(passed, check)
			}
			rows = append(rows, fmt.Sprintf("| %s | %s | %s |", c.name, version(modules, c.pkg), strings.Join(passed, ", ")))
		}
	})

	two := map[string]fakeupstream.Behavior{goodKey(0): fakeupstream.OK, goodKey(1): fakeupstream.OK}
	every := func(b fakeupstream.Behavior) map[string]fakeupstream.Behavior {
		return map[string]fakeupstream.Behavior{goodKey(0): b, goodKey(1): b}
	}
	cases := []failCase{
		{name: "wrong token", keys: two, token: "sk-wrong-token-000000000000000000", says: regexp.MustCompile(`ALLOWED_TOKENS|Invalid API key`)},
		{name: "every key rate-limited", keys: every(fakeupstream.RateLimitMinute), says: regexp.MustCompile(`(?i)quota`)},
		{name: "daily quota", keys: every(fakeupstream.RateLimitDay), says: regexp.MustCompile(`(?i)quota`)},
		{name: "every key disabled", keys: every(fakeupstream.Invalid), warm: true, says: regexp.MustCompile(`key is disabled`)},
		{name: "stream cut", keys: every(fakeupstream.StreamCut), says: regexp.MustCompile(`(?i)stream|mid-response`)},
	}
	// The failure cases mostly wait on clients' retries, so clients run side by side (go test -parallel).
	failures := make([][]string, len(clients))
	t.Run("failures", func(t *testing.T) {
		for i, c := range clients {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				failures[i] = clientFailures(t, modules, c, cases)
			})
		}
	})

	if path := os.Getenv("GEMGATE_TEST_CLIENTS_TABLE"); path != "" && len(rows) == len(clients) {
		for i := range clients {
			rows[i] += " " + strings.Join(failures[i], "; ") + " |"
		}
		table := "| Client | Version | Works (default configuration) | Ends with a clear error (time to the error) |\n|---|---|---|---|\n" +
			strings.Join(rows, "\n") + "\n"
		if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// clientFailures runs c's failure check under each case and describes how it ended.
func clientFailures(t *testing.T, modules string, c client, cases []failCase) []string {
	var out []string
	for _, fc := range cases {
		if why, skip := c.skipFail[fc.name]; skip {
			out = append(out, fc.name+" (not held: "+why+")")
			continue
		}
		if took, ok := clientFailure(t, modules, c, fc); ok {
			out = append(out, fmt.Sprintf("%s (%s)", fc.name, took))
		}
	}
	return out
}

func clientFailure(t *testing.T, modules string, c client, fc failCase) (time.Duration, bool) {
	// A fresh gateway per client: cooldowns and disabled keys from one client's run must not
	// decide what the next one meets.
	h := newHarness(t, fakeupstream.Config{Keys: fc.keys}, map[string]string{"API_KEYS": goodKey(0) + "," + goodKey(1)})
	if fc.warm {
		h.generate("gemini-2.5-flash", "hi")
	}
	token := clientToken
	if fc.token != "" {
		token = fc.token
	}
	env := newClientEnv(t, modules, h.srv.URL, token)
	start := time.Now()
	out, err := runClient(t, c.run(env, c.fail))
	took := time.Since(start).Round(time.Second)
	switch {
	case errTimedOut(err):
		t.Errorf("%s under %q: still running after %s (retrying instead of failing):\n%s", c.name, fc.name, clientRunWait, tail(out))
		return 0, false
	case err == nil && !looksLikeError(out):
		t.Errorf("%s under %q: no error reported:\n%s", c.name, fc.name, out)
		return 0, false
	case !fc.says.MatchString(out):
		t.Errorf("%s under %q: the error does not say why (want %q):\n%s", c.name, fc.name, fc.says, tail(out))
		return 0, false
	}
	t.Logf("%s under %q: %s: %s", c.name, fc.name, took, fc.says.FindString(out)+"…")
	return took, true
}

func realClients(modules string) []client {
	dir := filepath.Dir(modules)
	sdk := func(env *clientEnv, check string) *exec.Cmd {
		cmd := exec.Command("node", filepath.Join(dir, "check.mjs"), check)
		cmd.Env = env.vars("GEMGATE_URL="+env.url, "GEMGATE_TOKEN="+env.token)
		return cmd
	}
	aiChecks := func(p string) []string {
		return []string{"ai." + p + ".text", "ai." + p + ".stream", "ai." + p + ".tools"}
	}
	return []client{
		{name: "Claude Code (`claude -p`)", pkg: "@anthropic-ai/claude-code", checks: []string{"prompt", "tool round trip"}, fail: "prompt", run: claudeCode},
		{name: "Codex (`codex exec`)", pkg: "@openai/codex", checks: []string{"prompt"}, fail: "prompt", run: codex},
		{name: "Gemini CLI (`gemini -p`)", pkg: "@google/gemini-cli", checks: []string{"prompt"}, fail: "prompt", run: geminiCLI,
			skipFail: map[string]string{"every key rate-limited": "it waits out Google's RetryInfo delay of a per-minute quota, by design"}},
		{name: "openai SDK", pkg: "openai", checks: []string{"openai.chat", "openai.chat.stream", "openai.chat.tools", "openai.responses.stream", "openai.responses.tools"},
			fail: "openai.chat.stream", run: sdk},
		{name: "Anthropic SDK", pkg: "@anthropic-ai/sdk", checks: []string{"anthropic.create", "anthropic.stream", "anthropic.tools", "anthropic.count_tokens"},
			fail: "anthropic.stream", run: sdk},
		{name: "Google Gen AI SDK", pkg: "@google/genai", checks: []string{"genai.generate", "genai.stream", "genai.files"}, fail: "genai.stream", run: sdk},
		{name: "Vercel AI SDK + @ai-sdk/openai", pkg: "@ai-sdk/openai", checks: aiChecks("openai"), fail: "ai.openai.stream", run: sdk},
		{name: "Vercel AI SDK + @ai-sdk/anthropic", pkg: "@ai-sdk/anthropic", checks: aiChecks("anthropic"), fail: "ai.anthropic.stream", run: sdk},
		{name: "Vercel AI SDK + @ai-sdk/google", pkg: "@ai-sdk/google", checks: aiChecks("google"), fail: "ai.google.stream", run: sdk},
	}
}

func newClientEnv(t *testing.T, modules, url, token string) *clientEnv {
	t.Helper()
	env := &clientEnv{modules: modules, home: t.TempDir(), work: t.TempDir(), url: url, token: token}
	// The file Claude Code's Read tool opens in the tool round trip (the fake calls it with "test").
	if err := os.WriteFile(filepath.Join(env.work, "test"), []byte("the forecast is sunny\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return env
}

// vars is a minimal environment: no inherited keys or proxies, a private HOME, and every proxy pointed
// at a closed loopback port so that anything a client tries to send past loopback fails at once.
func (e *clientEnv) vars(extra ...string) []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + e.home, "TMPDIR=" + e.home, "NO_COLOR=1", "CI=1",
		"HTTP_PROXY=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9", "http_proxy=http://127.0.0.1:9",
		"https_proxy=http://127.0.0.1:9", "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
	}, extra...)
}

func claudeCode(env *clientEnv, check string) *exec.Cmd {
	bins, _ := filepath.Glob(filepath.Join(env.modules, "@anthropic-ai", "claude-code-linux-*", "claude"))
	bin := filepath.Join(env.modules, ".bin", "claude")
	if len(bins) > 0 {
		// npm ci --ignore-scripts leaves the wrapper's placeholder; the platform package holds the binary.
		bin = bins[0]
	}
	prompt := "hello claude"
	if check == "tool round trip" {
		prompt = "call Read"
	}
	cmd := exec.Command(bin, "-p", prompt, "--output-format", "json")
	cmd.Dir = env.work
	cmd.Env = env.vars("ANTHROPIC_BASE_URL="+env.url, "ANTHROPIC_API_KEY="+env.token,
		"DISABLE_TELEMETRY=1", "DISABLE_AUTOUPDATER=1", "DISABLE_ERROR_REPORTING=1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1")
	return cmd
}

func codex(env *clientEnv, _ string) *exec.Cmd {
	home := filepath.Join(env.home, ".codex")
	_ = os.MkdirAll(home, 0o755)
	// A provider entry is Codex's documented way to a custom base URL (OPENAI_BASE_URL is not read);
	// its default features (the multi_agent namespace tools included) stay on.
	cfg := fmt.Sprintf(`model = "gemini-2.5-flash"
model_provider = "gemgate"
check_for_update_on_startup = false

[analytics]
enabled = false

[model_providers.gemgate]
name = "gemgate"
base_url = %q
env_key = "GEMGATE_API_KEY"
wire_api = "responses"
`, env.url+"/v1")
	_ = os.WriteFile(filepath.Join(home, "config.toml"), []byte(cfg), 0o644)
	cmd := exec.Command("node", filepath.Join(env.modules, "@openai", "codex", "bin", "codex.js"), "exec", "--skip-git-repo-check", "hello codex")
	cmd.Dir = env.work
	cmd.Env = env.vars("CODEX_HOME="+home, "GEMGATE_API_KEY="+env.token)
	return cmd
}

func geminiCLI(env *clientEnv, _ string) *exec.Cmd {
	dir := filepath.Join(env.home, ".gemini")
	_ = os.MkdirAll(dir, 0o755)
	settings := `{"general":{"disableAutoUpdate":true,"disableUpdateNag":true},"privacy":{"usageStatisticsEnabled":false},` +
		`"telemetry":{"enabled":false},"security":{"auth":{"selectedType":"gemini-api-key"}}}`
	_ = os.WriteFile(filepath.Join(dir, "settings.json"), []byte(settings), 0o644)
	cmd := exec.Command("node", filepath.Join(env.modules, "@google", "gemini-cli", "bundle", "gemini.js"), "-p", "hello gemini")
	cmd.Dir = env.work
	cmd.Env = env.vars("GEMINI_API_KEY="+env.token, "GOOGLE_GEMINI_BASE_URL="+env.url, "GEMINI_CLI_HOME="+env.home,
		"GEMINI_TELEMETRY_ENABLED=false", "GEMINI_CLI_TRUST_WORKSPACE=true")
	return cmd
}

// runClient runs cmd to its end or clientRunWait and checks what a working run prints.
func runClient(t *testing.T, cmd *exec.Cmd) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientRunWait)
	defer cancel()
	c := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	c.Dir, c.Env = cmd.Dir, cmd.Env
	c.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	if ctx.Err() != nil {
		return out.String(), errClientTimedOut
	}
	if err != nil {
		return out.String(), err
	}
	return out.String(), workedOutput(cmd, out.String())
}

var errClientTimedOut = fmt.Errorf("timed out")

func errTimedOut(err error) bool { return err == errClientTimedOut }

// workedOutput checks the answer a CLI printed; the SDK checks verify their own answers.
func workedOutput(cmd *exec.Cmd, out string) error {
	args := strings.Join(cmd.Args, " ")
	switch {
	case strings.Contains(args, "call Read"):
		var res struct {
			IsError  bool `json:"is_error"`
			NumTurns int  `json:"num_turns"`
		}
		if json.Unmarshal([]byte(lastLine(out)), &res) != nil || res.IsError || res.NumTurns < 2 {
			return fmt.Errorf("no tool round trip")
		}
	case strings.Contains(args, "hello claude"):
		if !strings.Contains(out, `"is_error":false`) || !strings.Contains(out, "echo:") {
			return fmt.Errorf("no answer")
		}
	case strings.Contains(args, "hello codex"), strings.Contains(args, "hello gemini"):
		// The fake echoes the user's turn, context the CLI adds included.
		if !strings.Contains(out, "echo:") {
			return fmt.Errorf("no answer")
		}
	}
	return nil
}

var errorWords = regexp.MustCompile(`(?i)error|invalid|denied|unauthori[sz]ed|forbidden|exhausted|cooling|disabled|quota`)

func looksLikeError(out string) bool { return errorWords.MatchString(out) }

func version(modules, pkg string) string {
	b, err := os.ReadFile(filepath.Join(modules, pkg, "package.json"))
	if err != nil {
		return "?"
	}
	var p struct{ Version string }
	_ = json.Unmarshal(b, &p)
	return p.Version
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}
