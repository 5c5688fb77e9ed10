package secret

import "testing"

func TestMask(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"AIzaSyA1234567890abcdefghijklmnopqrXy12": "AIza…Xy12",
		"short":        "•••••",
		"":             "",
		"exactly12chr": "exac…2chr",
	}
	for in, want := range cases {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	key := "AIzaSyA1234567890abcdefghijklmnopqrXy12"
	body := []byte(`{"message":"Consumer 'api_key:` + key + `' has been suspended. ` + key + `"}`)
	got := string(Redact(body, key, ""))
	want := `{"message":"Consumer 'api_key:AIza…Xy12' has been suspended. AIza…Xy12"}`
	if got != want {
		t.Fatalf("Redact = %s", got)
	}
}

func TestSet(t *testing.T) {
	t.Parallel()
	s := NewSet([]string{"tok-a", ""}, []string{"tok-b"})
	if !s.Contains("tok-a") || !s.Contains("tok-b") {
		t.Fatal("tokens missing")
	}
	if s.Contains("") || s.Contains("tok-c") || s.Contains("tok-") {
		t.Fatal("accepted a wrong token")
	}
	if s.Len() != 2 {
		t.Fatalf("Len = %d", s.Len())
	}
	var nilSet *Set
	if nilSet.Contains("x") {
		t.Fatal("nil set accepted")
	}
}

func TestIDStable(t *testing.T) {
	t.Parallel()
	if once, again := ID("a"), ID("a"); once != again || once == ID("b") || len(once) != 12 {
		t.Fatal("ID not stable or not distinct")
	}
}
