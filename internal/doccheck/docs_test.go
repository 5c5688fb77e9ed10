package doccheck

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/testutil"
)

// root is the repository's top folder.
var root = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}()

// docFiles are the documents whose commands and claims are checked, relative to root.
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md", "README.zh-CN.md"}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".md") {
			rel, _ := filepath.Rel(root, path)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func readDoc(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// block is one fenced code block of a document.
type block struct {
	file         string
	line         int // of the opening fence, 1-based
	lang         string
	body         string
	illustrative string // the reason given in the marker before the fence; empty when the block runs
}

func (b block) String() string { return fmt.Sprintf("%s:%d", b.file, b.line) }

var (
	fenceOpen  = regexp.MustCompile("^\\s*```\\s*([A-Za-z0-9_+-]*)\\s*$")
	fenceClose = regexp.MustCompile("^\\s*```\\s*$")
	// The marker of a block that is shown but not run: an HTML comment (invisible on GitHub) on the last
	// non-blank line before the fence, with the reason.
	illustrativeMarker = regexp.MustCompile(`^\s*<!--\s*illustrative:\s*(.+?)\s*-->\s*$`)
)

// blocks returns every fenced code block of text.
func blocks(file, text string) []block {
	var out []block
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		m := fenceOpen.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		b := block{file: file, line: i + 1, lang: m[1]}
		for j := i - 1; j >= 0; j-- {
			if strings.TrimSpace(lines[j]) == "" {
				continue
			}
			if mm := illustrativeMarker.FindStringSubmatch(lines[j]); mm != nil {
				b.illustrative = mm[1]
			}
			break
		}
		indent := len(lines[i]) - len(strings.TrimLeft(lines[i], " "))
		var body []string
		for i++; i < len(lines) && !fenceClose.MatchString(lines[i]); i++ {
			l := lines[i]
			if len(l) >= indent && strings.TrimSpace(l[:indent]) == "" {
				l = l[indent:]
			}
			body = append(body, l)
		}
		b.body = strings.Join(body, "\n")
		out = append(out, b)
	}
	return out
}

// isShell tells the blocks that hold commands: shell fences, and any block with a curl command line.
func (b block) isShell() bool {
	switch b.lang {
	case "sh", "bash", "shell", "console", "zsh":
		return true
	}
	for _, l := range strings.Split(b.body, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "curl ") {
			return true
		}
	}
	return false
}

// TestMain removes the binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// gemgateBinary builds cmd/gemgate once per test run, with the flags of CI's static build so that the
// build cache of "bash .ci/run" is reused.
func gemgateBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gemgate-doccheck-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "gemgate")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", binPath, "./cmd/gemgate")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// cleanEnv is the test's environment without any gemgate setting, so that a developer's shell does not
// leak into a started gemgate.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if _, setting := config.Lookup(name); setting {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// server is a gemgate process started by a test.
type server struct {
	base   string
	dir    string
	output *testutil.Buffer
}

// startGemgate runs the binary with args and env in dir until the test ends, and returns once it
// announces its address (or fails the test when it exits first).
func startGemgate(t *testing.T, dir string, env []string, args ...string) *server {
	t.Helper()
	port := testutil.FreePort(t)
	args = append(args, "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, gemgateBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = env
	inGroup(cmd)
	cmd.Cancel = func() error { return interrupt(cmd) }
	cmd.WaitDelay = 40 * time.Second
	s := &server{base: "http://127.0.0.1:" + strconv.Itoa(port), dir: dir, output: &testutil.Buffer{}}
	cmd.Stderr = s.output
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cancel()
		<-exited
	})
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		announced := false
		for sc.Scan() {
			s.output.Write(append(sc.Bytes(), '\n'))
			if !announced && strings.Contains(sc.Text(), " listening on ") {
				announced = true
				close(listening)
			}
		}
	}()
	select {
	case <-listening:
	case <-exited:
		t.Fatalf("gemgate %s exited before listening: %v\n%s", strings.Join(args, " "), waitErr, s.output)
	case <-time.After(2 * time.Minute):
		t.Fatalf("gemgate %s did not start:\n%s", strings.Join(args, " "), s.output)
	}
	return s
}

// Tokens of the demo the docs' commands run against: the client token the READMEs show, and an admin
// token the tests know.
const (
	docClientToken = "sk-my-client-token"
	docAdminToken  = "doccheck-admin-token-0123456789"
)

// demoServer starts "gemgate demo" for a test, with the docs' tokens.
func demoServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	env := append(cleanEnv(),
		"AUTH_TOKEN="+docAdminToken,
		`ALLOWED_TOKENS=["`+docClientToken+`","sk-demo"]`,
	)
	return startGemgate(t, dir, env, "demo")
}

func get(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp, buf.Bytes()
}
