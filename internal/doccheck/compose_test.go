package doccheck

import (
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// composeEdit is the change the guides tell a user to make to docker-compose.yml to run the published
// image: the phrases below must appear in each place that gives the advice, so that rewording it means
// updating this test, which then checks the new advice.
var composeEdit = struct {
	deleteLine     string
	oldImage       string
	newImage       string
	phrasesByPlace map[string][]string
}{
	deleteLine: "build: .",
	oldImage:   "image: gemgate:local",
	newImage:   "image: ghcr.io/gemgate/gemgate:latest",
	phrasesByPlace: map[string][]string{
		"docs/deploy/docker-vps.md":       {"delete the line\n`build: .`", "change `image: gemgate:local` to `image: ghcr.io/gemgate/gemgate:latest`"},
		"docs/deploy/docker-vps.zh-CN.md": {"删掉文件中 `build: .` 这一行", "把 `image: gemgate:local`\n改成 `image: ghcr.io/gemgate/gemgate:latest`"},
		"docker-compose.yml":              {`delete the line "build: ."`, `change "image: gemgate:local" to "image: ghcr.io/gemgate/gemgate:latest"`},
	},
}

// parseCompose parses a compose file strictly: YAML's rules (a key twice in one mapping is an error, as
// Compose says too), then the parts of the compose schema the guides touch.
func parseCompose(text string) (map[string]any, error) {
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return nil, err
	}
	return doc, nil
}

func services(t *testing.T, doc map[string]any) map[string]map[string]any {
	t.Helper()
	raw, ok := doc["services"].(map[string]any)
	if !ok || len(raw) == 0 {
		t.Fatalf("no services: %v", doc)
	}
	out := map[string]map[string]any{}
	for name, s := range raw {
		m, ok := s.(map[string]any)
		if !ok {
			t.Fatalf("service %s is not a mapping", name)
		}
		if m["image"] == nil && m["build"] == nil {
			t.Errorf("service %s has neither image nor build", name)
		}
		out[name] = m
	}
	return out
}

func TestComposeFileAndGuideEdits(t *testing.T) {
	original := readDoc(t, "docker-compose.yml")
	doc, err := parseCompose(original)
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	services(t, doc)

	for place, phrases := range composeEdit.phrasesByPlace {
		text := readDoc(t, place)
		for _, p := range phrases {
			if !strings.Contains(text, p) {
				t.Errorf("%s no longer says %q: update composeEdit to the new advice, so that it is checked", place, p)
			}
		}
	}

	// The edit as the guides describe it.
	deleted := regexp.MustCompile(`(?m)^[ \t]*`+regexp.QuoteMeta(composeEdit.deleteLine)+`[ \t]*\n`).ReplaceAllString(original, "")
	if deleted == original {
		t.Fatalf("docker-compose.yml has no line %q to delete", composeEdit.deleteLine)
	}
	// Lines, not comments (the file's header repeats the advice).
	imageLine := regexp.MustCompile(`(?m)^([ \t]*)` + regexp.QuoteMeta(composeEdit.oldImage) + `[ \t]*$`)
	if !imageLine.MatchString(deleted) {
		t.Fatalf("docker-compose.yml has no line %q to change", composeEdit.oldImage)
	}
	edited := imageLine.ReplaceAllString(deleted, "${1}"+composeEdit.newImage)
	doc, err = parseCompose(edited)
	if err != nil {
		t.Fatalf("docker-compose.yml after the guides' edit is not valid: %v", err)
	}
	want := strings.TrimPrefix(composeEdit.newImage, "image: ")
	for name, s := range services(t, doc) {
		if !strings.HasPrefix(name, "gemgate") {
			continue
		}
		if s["build"] != nil || s["image"] != want {
			t.Errorf("after the edit, service %s has build %v and image %v; want only image %s", name, s["build"], s["image"], want)
		}
	}

	// The second guide edit: REDIS_URL appended to .env reaches Compose's interpolation of ${REDIS_URL}.
	env := composeEnvFile(readDoc(t, ".env.example") + "\n" + "REDIS_URL=redis://redis:6379/0\n")
	if env["REDIS_URL"] != "redis://redis:6379/0" || !strings.Contains(original, "${REDIS_URL") {
		t.Errorf("REDIS_URL appended to .env reads %q; compose file interpolates it: %v", env["REDIS_URL"], strings.Contains(original, "${REDIS_URL"))
	}
}

// TestComposeParserRejectsDuplicateKeys keeps the check above able to fail: the edit the guide used to
// describe (build: . replaced by a second image:) is refused.
func TestComposeParserRejectsDuplicateKeys(t *testing.T) {
	old := regexp.MustCompile(`(?m)^(\s*)build: \.$`).ReplaceAllString(readDoc(t, "docker-compose.yml"), "${1}image: ghcr.io/gemgate/gemgate:latest")
	if _, err := parseCompose(old); err == nil || !strings.Contains(err.Error(), "already defined") {
		t.Fatalf("a duplicate image key was accepted: %v", err)
	}
}
