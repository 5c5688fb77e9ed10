package translate

import (
	"strings"
	"testing"
)

func TestRandomID(t *testing.T) {
	for _, n := range []int{0, 24, 64, 100} {
		id := RandomID("msg_", n)
		if len(id) != 4+n || !strings.HasPrefix(id, "msg_") {
			t.Fatalf("RandomID(msg_, %d) = %q", n, id)
		}
		if strings.Trim(id[4:], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != "" {
			t.Fatalf("%q has characters outside the alphabet", id)
		}
	}
	if a, b := RandomID("", 24), RandomID("", 24); a == b {
		t.Fatal("two ids alike")
	}
}
