package memo

import (
	"fmt"
	"testing"
)

// The memo never holds more than its budget: past it, it starts over; what it holds it returns.
func TestBudget(t *testing.T) {
	m := New[int](64 << 10)
	for i := range 2000 {
		key := []byte(fmt.Sprintf(`{"type":"object","properties":{"p%d":{"type":"string"}}}`, i))
		m.Put(key, i, 2*len(key))
		if m.Used() > 64<<10 {
			t.Fatalf("holds %d bytes, budget %d", m.Used(), 64<<10)
		}
		if v, ok := m.Get(key); !ok || v != i {
			t.Fatalf("entry %d: got %d %v", i, v, ok)
		}
	}
	if n := m.Len(); n == 0 || n >= 2000 {
		t.Fatalf("%d entries held", n)
	}
	m.Put([]byte("huge"), 1, 64<<10)
	if _, ok := m.Get([]byte("huge")); ok {
		t.Fatal("an entry of the whole budget was kept")
	}
}
