package clientip

import (
	"net/http/httptest"
	"testing"
)

func TestOf(t *testing.T) {
	nginx := []string{"127.0.0.1", "::1"}
	chain := []string{"10.0.0.0/8"}
	for _, tc := range []struct {
		remote, xff string
		trusted     []string
		want        string
	}{
		{"203.0.113.7:5000", "", nil, "203.0.113.7"},
		{"203.0.113.7:5000", "1.2.3.4", nginx, "203.0.113.7"}, // an untrusted peer cannot choose its address
		{"127.0.0.1:5000", "1.2.3.4", nil, "127.0.0.1"},       // nothing trusted by default, not even loopback
		{"127.0.0.1:5000", "1.2.3.4, 198.51.100.2", nginx, "198.51.100.2"},
		{"[::1]:5000", "198.51.100.2", nginx, "198.51.100.2"},
		{"10.0.0.3:5000", "198.51.100.9, 203.0.113.1, 10.1.1.1", chain, "203.0.113.1"},
		{"10.0.0.3:5000", "10.2.2.2, 10.1.1.1", chain, "10.2.2.2"},
		{"10.0.0.3:5000", "198.51.100.9, garbage", chain, "10.0.0.3"},
		{"10.0.0.3:5000", "", chain, "10.0.0.3"},
		{"[::ffff:10.0.0.3]:5000", "198.51.100.2", chain, "198.51.100.2"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := Of(r, tc.trusted); got != tc.want {
			t.Errorf("Of(%s, XFF %q, trusted %v) = %s, want %s", tc.remote, tc.xff, tc.trusted, got, tc.want)
		}
	}
}

func TestInList(t *testing.T) {
	allowed := []string{"127.0.0.1/32", "::1/128", "10.0.0.0/8", "192.168.1.7"}
	for remote, want := range map[string]bool{
		"127.0.0.1:5000": true, "[::1]:80": true, "10.2.3.4:1": true, "[::ffff:10.2.3.4]:1": true,
		"192.168.1.7:9": true, "192.168.1.8:9": false, "8.8.8.8:53": false, "garbage": false, "[fe80::1]:1": false,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		if got := InList(Peer(r), allowed); got != want {
			t.Errorf("%s: %v, want %v", remote, got, want)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "127.0.0.1:1"
	if InList(Peer(r), nil) {
		t.Error("an empty list allowed an address")
	}
}
