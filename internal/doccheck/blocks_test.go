package doccheck

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// placeholders are replaced in every block before it runs: the address the docs write for "your
// gemgate" becomes the demo's. The tokens the docs show (sk-my-client-token, $AUTH_TOKEN) are the demo's
// own, and B and T (set in the README's first curl block) are set for every block.
func placeholders(base string) *strings.Replacer {
	return strings.NewReplacer("http://HOST:8000", base, "http://host:8000", base)
}

// blockTimeout bounds one block's run; the demo answers each documented call in well under a second.
const blockTimeout = 90 * time.Second

// expectation is an output the doc shows after a command, as "# → OUTPUT" on the next line.
const expectationPrefix = "# → "

// script turns a block into a bash script: each stretch of commands that ends in a shown output writes
// its output to its own file, so that the output can be compared.
func script(body string, outDir string) (string, []string) {
	var sb strings.Builder
	sb.WriteString("set -eo pipefail\n")
	// A documented curl command that gets an HTTP error fails the block (curl -s alone exits 0 on a 4xx).
	sb.WriteString(`curl() { command curl --fail-with-body --max-time 60 "$@"; }` + "\n")
	var wants []string
	seg := 0
	sb.WriteString("{\n")
	for _, line := range strings.Split(body, "\n") {
		if want, ok := strings.CutPrefix(strings.TrimSpace(line), expectationPrefix); ok {
			sb.WriteString(fmt.Sprintf("\n} >%q\n{\n", filepath.Join(outDir, fmt.Sprint(seg))))
			wants = append(wants, want)
			seg++
			continue
		}
		sb.WriteString(line + "\n")
	}
	sb.WriteString(fmt.Sprintf("\n} >%q\n", filepath.Join(outDir, "rest")))
	return sb.String(), wants
}

// TestShellBlocks runs every shell block of the docs that is not marked illustrative against "gemgate
// demo", and compares each output the doc shows.
func TestShellBlocks(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	var run, shown []block
	for _, f := range docFiles(t) {
		for _, b := range blocks(f, readDoc(t, f)) {
			if !b.isShell() {
				continue
			}
			if b.illustrative != "" {
				shown = append(shown, b)
				continue
			}
			run = append(run, b)
		}
	}
	t.Logf("%d shell blocks run, %d marked illustrative", len(run), len(shown))
	if len(run) == 0 {
		t.Fatal("no shell block runs: the extraction is broken")
	}
	bin := filepath.Dir(gemgateBinary(t))
	checked := 0
	// Each document gets a fresh demo, so that what one shows (a settings version) does not depend on
	// what another ran before.
	var srv *server
	var subst *strings.Replacer
	for i, b := range run {
		if i == 0 || run[i-1].file != b.file {
			srv = demoServer(t)
			subst = placeholders(srv.base)
		}
		t.Run(strings.ReplaceAll(b.String(), "/", "_"), func(t *testing.T) {
			dir := t.TempDir()
			outDir := t.TempDir()
			src, wants := script(subst.Replace(b.body), outDir)
			// A block that never ends (a server started in the foreground) must fail, not hang the run.
			ctx, cancel := context.WithTimeout(context.Background(), blockTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "-c", src)
			inGroup(cmd)
			cmd.Dir = dir
			cmd.Env = append(cleanEnv(),
				"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
				"B="+srv.base, "T="+docClientToken, "AUTH_TOKEN="+docAdminToken)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s failed: %v\n--- block (mark it <!-- illustrative: why --> if it cannot run here)\n%s\n--- output\n%s\n%s",
					b, err, b.body, out, readOutputs(outDir))
			}
			for i, want := range wants {
				got, _ := os.ReadFile(filepath.Join(outDir, fmt.Sprint(i)))
				if !strings.HasSuffix(strings.TrimSpace(string(got)), strings.TrimSpace(want)) {
					t.Errorf("%s: the doc shows\n\t%s\nbut the command printed\n\t%s", b, want, lastLine(string(got)))
				}
				checked++
			}
		})
	}
	t.Logf("%d shown outputs compared", checked)
}

func readOutputs(dir string) string {
	entries, _ := os.ReadDir(dir)
	var sb strings.Builder
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		fmt.Fprintf(&sb, "[%s] %s\n", e.Name(), b)
	}
	return sb.String()
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	if len(s) > 300 {
		return "…" + s[len(s)-300:]
	}
	return s
}

// TestIllustrativeMarker checks the marker's parsing, so that a typo in it does not make a block run
// (or, worse, be skipped) silently.
func TestIllustrativeMarker(t *testing.T) {
	doc := "text\n\n<!-- illustrative: needs Docker -->\n```sh\ndocker ps\n```\n\n```sh\ngemgate help\n```\n" +
		"<!-- illustrative -->\n```bash\nx\n```\n"
	bs := blocks("x.md", doc)
	if len(bs) != 3 {
		t.Fatalf("%d blocks, want 3", len(bs))
	}
	if bs[0].illustrative != "needs Docker" || bs[1].illustrative != "" {
		t.Errorf("markers: %q, %q", bs[0].illustrative, bs[1].illustrative)
	}
	if bs[2].illustrative != "" {
		t.Errorf("a marker without a reason counts: %q", bs[2].illustrative)
	}
	if bs[1].body != "gemgate help" || bs[1].line != 8 {
		t.Errorf("block 2: line %d, body %q", bs[1].line, bs[1].body)
	}
}
