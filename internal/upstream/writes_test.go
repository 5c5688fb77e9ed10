package upstream

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/keypool"
)

// countingConn counts the writes made on a connection: each is a system call.
type countingConn struct {
	net.Conn
	writes *atomic.Int32
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// A call's request leaves in one write, headers and body together: net/http flushes the headers on
// their own first when it cannot tell the body is in memory, a second system call per attempt.
func TestRequestLeavesInOneWrite(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"candidates":[{"content":{"parts":[{"text":"hi"}]}}]}`))
	}))
	t.Cleanup(srv.Close)
	var writes atomic.Int32
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	transport := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{Conn: c, writes: &writes}, nil
	}}
	t.Cleanup(transport.CloseIdleConnections)
	snap, err := config.FromEnv(map[string]string{"BASE_URL": srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	e := &Executor{Pool: keypool.New([]string{"AIzaSyWritesKey0000000000000000000000001"}, 3), Client: NewClientWith(transport),
		Settings: func() *config.Snapshot { return snap }}
	body := []byte(`{"contents":[{"parts":[{"text":"Hello"}]}]}`)
	for i := range 3 {
		before := writes.Load()
		resp, err := e.Do(t.Context(), Call{Path: "models/m:generateContent", Body: body})
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("call %d: %v", i, err)
		}
		if n := writes.Load() - before; n != 1 {
			t.Errorf("call %d: the request took %d writes, want 1", i, n)
		}
	}
}
