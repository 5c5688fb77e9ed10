package limits

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// pipeListener hands out the server ends of in-memory connections, so that a whole HTTP server runs
// inside a synctest bubble on its fake clock.
type pipeListener struct {
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{} }

func (l *pipeListener) dial() net.Conn {
	server, client := net.Pipe()
	l.conns <- server
	return client
}

// serve runs h behind Bodies with pace on a pipe listener and returns the listener.
func serve(t *testing.T, h http.Handler, pace Pace) *pipeListener {
	ln := newPipeListener()
	srv := &http.Server{Handler: Bodies(h, func() Pace { return pace })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln
}

// sendSlowly writes the request line and headers, then body in pieces of n bytes every gap, in a
// goroutine. The connection is closed, and the writer waited for, when the test ends.
func sendSlowly(t *testing.T, c net.Conn, body string, n int, gap time.Duration) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.WriteString(c, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n")
		for rest := body; rest != ""; {
			k := min(n, len(rest))
			if _, err := io.WriteString(c, rest[:k]); err != nil {
				return
			}
			if rest = rest[k:]; rest != "" {
				time.Sleep(gap)
			}
		}
	}()
	t.Cleanup(func() {
		c.Close()
		<-done
	})
}

// echoLength answers with how many body bytes it read, or the read error.
var echoLength = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, err.Error())
		return
	}
	_, _ = io.WriteString(w, strconv.Itoa(len(b)))
})

func status(t *testing.T, c net.Conn) (string, string) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "", err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Status, string(b)
}

// A body at a byte a second, under the 100 B/s asked for, is cut once the first window passes.
func TestTrickleIsCut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := serve(t, echoLength, Pace{Window: 10 * time.Second, MinBytes: 1000})
		c := ln.dial()
		sendSlowly(t, c, strings.Repeat("x", 16000), 1, time.Second)
		start := time.Now()
		st, body := status(t, c)
		if !strings.HasPrefix(st, "400") || !strings.Contains(body, ErrTooSlow.Error()) {
			t.Fatalf("got %q %q, want the body refused as too slow", st, body)
		}
		if waited := time.Since(start); waited < 10*time.Second || waited > 11*time.Second {
			t.Fatalf("cut after %s of fake time, want one 10 s window", waited)
		}
	})
}

// The pace is a rate, not a total time: a body that keeps the rate takes many windows and arrives
// whole.
func TestSteadyBodyTakesManyWindows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := serve(t, echoLength, Pace{Window: 10 * time.Second, MinBytes: 1000})
		c := ln.dial()
		sendSlowly(t, c, strings.Repeat("x", 20000), 150, time.Second) // 150 B/s for over 2 minutes
		start := time.Now()
		st, body := status(t, c)
		if !strings.HasPrefix(st, "200") || body != "20000" || time.Since(start) < time.Minute {
			t.Fatalf("got %q %q after %s", st, body, time.Since(start))
		}
	})
}

// Time the handler spends elsewhere between reads (relaying an upload to a slow Google) is not held
// against the client.
func TestHandlerPausesDoNotCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pausing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			buf := make([]byte, 100)
			total := 0
			for {
				n, err := r.Body.Read(buf)
				total += n
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					w.WriteHeader(http.StatusBadRequest)
					_, _ = io.WriteString(w, err.Error())
					return
				}
				time.Sleep(30 * time.Second) // three windows, each time
			}
			_, _ = io.WriteString(w, strconv.Itoa(total))
		})
		ln := serve(t, pausing, Pace{Window: 10 * time.Second, MinBytes: 100})
		c := ln.dial()
		sendSlowly(t, c, strings.Repeat("x", 500), 500, 0)
		if st, body := status(t, c); !strings.HasPrefix(st, "200") || body != "500" {
			t.Fatalf("got %q %q", st, body)
		}
	})
}

// A body the handler never reads cannot hold the connection while the server drains it after the
// answer: the first window runs from the start.
func TestUnreadBodyIsCut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		refuse := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
		})
		ln := serve(t, refuse, Pace{Window: 10 * time.Second, MinBytes: 1000})
		c := ln.dial()
		sendSlowly(t, c, strings.Repeat("x", 16000), 1, time.Second)
		start := time.Now()
		st, _ := status(t, c)
		_, err := io.Copy(io.Discard, c) // the server closes the connection
		if !strings.HasPrefix(st, "401") || err != nil || time.Since(start) > 11*time.Second {
			t.Fatalf("got %q, %v after %s", st, err, time.Since(start))
		}
	})
}
