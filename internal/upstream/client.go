// Package upstream calls Google: one pooled HTTP client per egress (direct or a proxy), failover between
// proxies, the classification of every answer, and the retry loop over the key pool.
package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// proxyDeadFor is how long a proxy that refused a connection is skipped.
const proxyDeadFor = 30 * time.Second

// Client sends requests through a direct connection or the configured proxies, reusing connections.
type Client struct {
	direct  http.RoundTripper
	upgrade http.RoundTripper // direct, over HTTP/1.1: WebSocket handshakes (directUpgrade)

	mu         sync.Mutex
	transports map[string]*http.Transport // by proxy URL
	deadUntil  map[string]time.Time

	drain drainer // calls in flight, for a shutdown (drain.go)
}

// NewClient returns a client with a keep-alive transport sized for a busy gateway.
func NewClient() *Client { return NewClientWith(newTransport(nil)) }

// NewClientWith returns a client whose direct (proxy-less) calls go through rt; benchmarks use it to
// measure gemgate without a network in the way.
func NewClientWith(rt http.RoundTripper) *Client {
	return &Client{direct: rt, transports: map[string]*http.Transport{}, deadUntil: map[string]time.Time{}}
}

func newTransport(proxy *url.URL) *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Bodies are relayed as they arrive; transparent gzip would add a buffering layer to streams.
		DisableCompression: true,
	}
	if proxy != nil {
		t.Proxy = http.ProxyURL(proxy)
		// Through a proxy, every dial is a dial to the proxy itself: tag those failures so the client
		// can fail over to the next proxy instead of blaming the key or the upstream.
		t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, &ProxyError{Proxy: redactProxy(proxy), Err: err}
			}
			return c, nil
		}
	}
	return t
}

// ProxyError means a proxy could not be reached.
type ProxyError struct {
	Proxy string
	Err   error
}

func (e *ProxyError) Error() string { return "proxy " + e.Proxy + " unreachable: " + e.Err.Error() }
func (e *ProxyError) Unwrap() error { return e.Err }

func redactProxy(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = url.User("***")
	return c.String()
}

// Upgrader is the round tripper of a WebSocket handshake with key: through the key's egress among
// proxies, as Do's requests, but over HTTP/1.1 (an Upgrade cannot ride HTTP/2) on connections of its
// own, which the WebSocket then keeps.
func (c *Client) Upgrader(key string, proxies []string, pinned bool) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		return c.do(func() (*http.Request, error) { return req.Clone(req.Context()), nil }, key, proxies, pinned, true)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// do sends req through an egress chosen for key among proxies, failing over to the next proxy when
// one cannot be reached. newReq must build a fresh request each time (the body is re-sent). upgrade
// takes the HTTP/1.1 transports WebSocket handshakes need.
func (c *Client) do(newReq func() (*http.Request, error), key string, proxies []string, pinned, upgrade bool) (*http.Response, error) {
	if len(proxies) == 0 {
		req, err := newReq()
		if err != nil {
			return nil, err
		}
		if upgrade {
			return c.directUpgrade().RoundTrip(req)
		}
		return c.direct.RoundTrip(req)
	}
	var lastErr error
	for _, p := range c.order(key, proxies, pinned) {
		t, err := c.transport(p, upgrade)
		if err != nil {
			lastErr = err
			continue
		}
		req, err := newReq()
		if err != nil {
			return nil, err
		}
		resp, err := t.RoundTrip(req)
		var pe *ProxyError
		if err != nil && errors.As(err, &pe) && req.Context().Err() == nil {
			c.markDead(p)
			lastErr = err
			continue
		}
		return resp, err
	}
	return nil, lastErr
}

// order ranks proxies for key: by rendezvous hashing when pinned (stable across restarts and
// instances, and removing one proxy moves only its own keys), else from a random start. Proxies
// marked dead go last, so they are still tried when nothing else is left.
func (c *Client) order(key string, proxies []string, pinned bool) []string {
	ranked := slices.Clone(proxies)
	if pinned {
		score := func(p string) uint64 {
			h := fnv.New64a()
			h.Write([]byte(key))
			h.Write([]byte{0})
			h.Write([]byte(p))
			return h.Sum64()
		}
		slices.SortStableFunc(ranked, func(a, b string) int {
			sa, sb := score(a), score(b)
			switch {
			case sa > sb:
				return -1
			case sa < sb:
				return 1
			}
			return 0
		})
	} else {
		start := rand.IntN(len(ranked))
		ranked = append(ranked[start:], ranked[:start]...)
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	alive := ranked[:0:0]
	var dead []string
	for _, p := range ranked {
		if c.deadUntil[p].After(now) {
			dead = append(dead, p)
		} else {
			alive = append(alive, p)
		}
	}
	return append(alive, dead...)
}

func (c *Client) markDead(p string) {
	c.mu.Lock()
	c.deadUntil[p] = time.Now().Add(proxyDeadFor)
	c.mu.Unlock()
}

func (c *Client) transport(p string, upgrade bool) (*http.Transport, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	name := p
	if upgrade {
		name = "upgrade " + p
	}
	if t, ok := c.transports[name]; ok {
		return t, nil
	}
	u, err := url.Parse(p)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5" && u.Scheme != "socks5h") {
		return nil, errors.New("invalid proxy URL (want http://, https:// or socks5://host:port)")
	}
	t := newTransport(u)
	if upgrade {
		onlyHTTP1(t)
	}
	c.transports[name] = t
	return t, nil
}

// directUpgrade is the direct transport for WebSocket handshakes: the direct one over HTTP/1.1, or
// the direct round tripper itself when it is not an *http.Transport (benchmarks, tests).
func (c *Client) directUpgrade() http.RoundTripper {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.upgrade != nil {
		return c.upgrade
	}
	c.upgrade = c.direct
	if t, ok := c.direct.(*http.Transport); ok {
		h1 := t.Clone()
		onlyHTTP1(h1)
		c.upgrade = h1
	}
	return c.upgrade
}

// onlyHTTP1 keeps t from negotiating HTTP/2, which has no Upgrade.
func onlyHTTP1(t *http.Transport) {
	t.ForceAttemptHTTP2 = false
	t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	t.MaxIdleConnsPerHost = 0
}

// CloseIdle closes idle connections of every transport (on shutdown and when proxies change).
func (c *Client) CloseIdle() {
	if t, ok := c.direct.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
	c.mu.Lock()
	for _, t := range c.transports {
		t.CloseIdleConnections()
	}
	c.mu.Unlock()
}
