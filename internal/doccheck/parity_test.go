package doccheck

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// pairs are the documents written in both languages.
func pairs(t *testing.T) [][2]string {
	t.Helper()
	var out [][2]string
	for _, f := range docFiles(t) {
		if zh, ok := strings.CutSuffix(f, ".md"); ok && !strings.HasSuffix(zh, ".zh-CN") {
			zh += ".zh-CN.md"
			if slices.Contains(docFiles(t), zh) {
				out = append(out, [2]string{f, zh})
			}
		}
	}
	if len(out) < 5 {
		t.Fatalf("only %d document pairs", len(out))
	}
	return out
}

// outline is the heading structure of a document: the level of each heading, in order (the titles
// differ by language).
func outline(text string) []string {
	var out []string
	inCode := false
	for _, l := range strings.Split(text, "\n") {
		if fenceOpen.MatchString(l) || fenceClose.MatchString(l) {
			inCode = !inCode
			continue
		}
		if inCode {
			continue
		}
		if m := regexp.MustCompile(`^(#{1,6}) `).FindStringSubmatch(l); m != nil {
			out = append(out, fmt.Sprintf("%s %s", m[1], headingKey(l)))
		}
	}
	return out
}

// headingKey is what a heading's two languages share: the code spans and numbers in it.
func headingKey(h string) string {
	return strings.Join(regexp.MustCompile("`[^`]+`|[0-9]+").FindAllString(h, -1), " ")
}

// commands sums up a code block the same way in both languages: its language, whether it runs, and for
// each command line its words up to the first argument in quotes (comments and prose dropped).
func commands(b block) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "```%s illustrative=%v\n", b.lang, b.illustrative != "")
	if !b.isShell() {
		return sb.String()
	}
	for _, l := range strings.Split(b.body, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") && !strings.HasPrefix(l, expectationPrefix) {
			continue
		}
		if i := strings.Index(l, " #"); i >= 0 && !strings.HasPrefix(l, expectationPrefix) {
			l = strings.TrimSpace(l[:i])
		}
		if i := strings.IndexAny(l, `'"`); i >= 0 {
			l = l[:i]
		}
		sb.WriteString(l + "\n")
	}
	return sb.String()
}

// numbers are the numbers a document states, sorted. Prose may write 100,000 as 10 万: thousands
// separators are dropped and 万 multiplied out.
func numbers(text string) []string {
	text = regexp.MustCompile(`([0-9]),([0-9]{3})\b`).ReplaceAllString(text, "$1$2")
	text = regexp.MustCompile(`([0-9]+) ?万`).ReplaceAllStringFunc(text, func(m string) string {
		n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(m, "万")))
		return strconv.Itoa(n * 10000)
	})
	out := regexp.MustCompile(`[0-9]+(?:\.[0-9]+)*`).FindAllString(text, -1)
	slices.Sort(out)
	return out
}

// TestLanguagesAgree: each English document and its Chinese translation have the same headings, the
// same code blocks with the same commands, and the same numbers in code.
func TestLanguagesAgree(t *testing.T) {
	for _, p := range pairs(t) {
		en, zh := readDoc(t, p[0]), readDoc(t, p[1])
		if a, b := outline(en), outline(zh); !slices.Equal(a, b) {
			t.Errorf("%s and %s have different headings:\n%s", p[0], p[1], diffLines(a, b))
		}
		be, bz := blocks(p[0], en), blocks(p[1], zh)
		if len(be) != len(bz) {
			t.Errorf("%s has %d code blocks, %s %d", p[0], len(be), p[1], len(bz))
		}
		for i := range min(len(be), len(bz)) {
			if a, b := commands(be[i]), commands(bz[i]); a != b {
				t.Errorf("code block %d differs: %s\n%s\n%s\n%s", i+1, be[i], a, bz[i], b)
			}
		}
		if a, b := numbers(en), numbers(zh); !slices.Equal(a, b) {
			t.Errorf("%s and %s state different numbers:\n%s", p[0], p[1], diffLines(a, b))
		}
	}
}

// diffLines shows what is only in a (-) or only in b (+), as multisets.
func diffLines(a, b []string) string {
	count := map[string]int{}
	for _, s := range a {
		count[s]++
	}
	for _, s := range b {
		count[s]--
	}
	var out []string
	for s, n := range count {
		switch {
		case n > 0:
			out = append(out, fmt.Sprintf("- %s (%d)", s, n))
		case n < 0:
			out = append(out, fmt.Sprintf("+ %s (%d)", s, -n))
		}
	}
	slices.Sort(out)
	if len(out) == 0 {
		return fmt.Sprintf("(same items, other order)\n%q\n%q", a, b)
	}
	return strings.Join(out, "\n")
}
