package upstream

import "testing"

func TestAPIRoot(t *testing.T) {
	for in, want := range map[string]string{
		"https://generativelanguage.googleapis.com/v1beta": "https://generativelanguage.googleapis.com",
		"https://relay.example.com/proxy/v1beta/":          "https://relay.example.com/proxy",
		"http://127.0.0.1:9/v1":                            "http://127.0.0.1:9",
		"https://gateway.example.com/custom/path/no-vers":  "https://gateway.example.com",
	} {
		if got := APIRoot(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
