package publicurl

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/gemgate/gemgate/internal/config"
)

func snapWith(t *testing.T, public string) *config.Snapshot {
	t.Helper()
	snap, err := config.FromEnv(map[string]string{"PUBLIC_URL": public})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func TestFromRequest(t *testing.T) {
	cases := []struct {
		public, host, proto, fwdHost, want string
	}{
		{"https://gw.example.com/base/", "evil.example", "", "", "https://gw.example.com/base"},
		{"", "gemgate.local:8000", "", "", "http://gemgate.local:8000"},
		{"", "gemgate.local", "https", "", "https://gemgate.local"},
		{"", "gemgate.local", "javascript", "", "http://gemgate.local"},
		{"", "10.0.0.5:8000", "https, http", "gw.example.com", "https://gw.example.com"},
		{"", "[::1]:8000", "", "", "http://[::1]:8000"},
		{"", "gemgate.local", "", "bad host/path", "http://gemgate.local"},
		{"", "user@evil.example", "", "", ""},
		{"", "evil.example/x", "", "", ""},
		{"ftp://nope", "ok.example", "", "", "http://ok.example"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = c.host
		if c.proto != "" {
			r.Header.Set("X-Forwarded-Proto", c.proto)
		}
		if c.fwdHost != "" {
			r.Header.Set("X-Forwarded-Host", c.fwdHost)
		}
		if got := FromRequest(r, snapWith(t, c.public)); got != c.want {
			t.Errorf("%+v: %q", c, got)
		}
	}
}

func TestContext(t *testing.T) {
	if From(context.Background()) != "" || From(With(context.Background(), "https://x")) != "https://x" {
		t.Fatal("context round trip")
	}
}
