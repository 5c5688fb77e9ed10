// Package limits bounds what one client can hold on the server: connections per client address,
// and the pace at which a request body must arrive. Header size and header time are http.Server's
// own fields (api.NewServer sets them).
package limits

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// PerAddress wraps ln so that one client address holds at most max(addr) connections at once (IPv6
// addresses count per /64, what one subscriber usually gets). A connection over the cap is answered
// with refusal (a complete HTTP response) and closed, without reaching the server. max is asked at
// every accept, so a changed setting applies to the next connection; max(addr) <= 0 means no cap.
func PerAddress(ln net.Listener, max func(addr netip.Addr) int, refusal func(limit int) []byte) net.Listener {
	return &listener{Listener: ln, max: max, refusal: refusal, open: map[netip.Addr]int{}}
}

type listener struct {
	net.Listener
	max      func(netip.Addr) int
	refusal  func(limit int) []byte
	mu       sync.Mutex
	open     map[netip.Addr]int
	refusing atomic.Int32
}

// maxRefusing bounds the connections being answered 429 at once; past it, refused connections are
// closed without an answer, so a flood cannot turn refusals into held resources.
const maxRefusing = 1024

// refusalGrace bounds how long a refused connection is kept to deliver its answer.
const refusalGrace = time.Second

func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip, key, ok := clientKey(c.RemoteAddr())
		if !ok {
			return c, nil
		}
		limit := l.max(ip)
		if l.take(key, limit) {
			return &conn{Conn: c, release: func() { l.release(key) }}, nil
		}
		l.refuse(c, limit)
	}
}

func (l *listener) take(key netip.Addr, limit int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if limit > 0 && l.open[key] >= limit {
		return false
	}
	l.open[key]++
	return true
}

func (l *listener) release(key netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
}

// refuse answers a connection over the cap and closes it. The answer goes out before the request is
// read; the client's request is then drained briefly, because closing a socket with unread input
// resets it and the client could lose the answer.
func (l *listener) refuse(c net.Conn, limit int) {
	if l.refusing.Add(1) > maxRefusing {
		l.refusing.Add(-1)
		_ = c.Close()
		return
	}
	go func() {
		defer l.refusing.Add(-1)
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(refusalGrace))
		if _, err := c.Write(l.refusal(limit)); err != nil {
			return
		}
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(c, 64<<10))
	}()
}

// clientKey is the peer's IP and the address its connection counts against: the IP, or the /64 of
// an IPv6 address.
func clientKey(a net.Addr) (ip, key netip.Addr, ok bool) {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return ip, key, false
	}
	if ip, ok = netip.AddrFromSlice(tcp.IP); !ok {
		return ip, key, false
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return ip, p.Addr(), true
	}
	return ip, ip, true
}

// conn gives its slot back when closed (once, however often it is closed).
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// CloseWrite keeps half-closing available to the server (net/http uses it to end a connection
// gracefully).
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Pace is how fast a request body must arrive: every Window spent waiting for it must bring at least
// MinBytes (or the rest of the body).
type Pace struct {
	Window   time.Duration
	MinBytes int64
}

// ErrTooSlow is what reading a body that arrives slower than its Pace returns.
var ErrTooSlow = errors.New("the request body is arriving too slowly")

// Bodies makes every request body next reads keep pace(). The connection's read deadline is moved
// forward as the body arrives, counting only the time spent waiting for the client: a handler that
// pauses between reads (an upload relayed to a slow Google) is not held against the client. Before
// the handler reads at all the first window already runs, so a body the handler never reads (a refused
// request) cannot hold the connection while the server drains it.
func Bodies(next http.Handler, pace func() Pace) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := pace()
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 || p.Window <= 0 {
			next.ServeHTTP(w, r)
			return
		}
		// The controller lives in the body: one allocation per request instead of two.
		b := &pacedBody{ReadCloser: r.Body, rc: *http.NewResponseController(w), pace: p, left: p.Window, need: max(p.MinBytes, 1)}
		if err := b.rc.SetReadDeadline(time.Now().Add(p.Window)); err != nil {
			next.ServeHTTP(w, r) // a writer without deadlines (a test recorder): nothing to bound
			return
		}
		r.Body = b
		next.ServeHTTP(w, r)
	})
}

type pacedBody struct {
	io.ReadCloser
	rc   http.ResponseController
	pace Pace
	left time.Duration // waiting time left in the current window
	need int64         // bytes still due in the current window
	done bool          // the body ended: the server reads the connection itself from now on
}

func (b *pacedBody) Read(p []byte) (int, error) {
	if b.done {
		return b.ReadCloser.Read(p)
	}
	start := time.Now()
	_ = b.rc.SetReadDeadline(start.Add(b.left))
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		// At the end of the body the server has cleared the deadline to watch the connection; a
		// deadline set now would cut a long answer, so none is set any more.
		b.done = true
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return n, fmt.Errorf("%w: less than %d bytes in %s", ErrTooSlow, b.pace.MinBytes, b.pace.Window)
		}
		return n, err
	}
	b.left -= time.Since(start)
	if b.need -= int64(n); b.need <= 0 {
		b.left, b.need = b.pace.Window, max(b.pace.MinBytes, 1)
	}
	return n, nil
}
