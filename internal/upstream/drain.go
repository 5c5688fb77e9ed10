package upstream

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
)

// ErrShuttingDown ends upstream calls that were still running when the shutdown grace period ran out.
var ErrShuttingDown = errors.New("gemgate is shutting down and cut the answer short")

// drainer tracks the upstream calls in flight so that a shutdown can end them. Ending them from the
// upstream side, rather than cancelling the client requests, lets every handler write the error it
// writes for any broken upstream stream: an error event in its API's shape, which a client can tell
// from a complete answer, where a cancelled request would end with nothing.
type drainer struct {
	mu      sync.Mutex
	closed  bool
	cancels map[*drainCall]struct{}
}

type drainCall struct {
	cancel  context.CancelFunc
	aborted bool // guarded by drainer.mu
}

// Do sends req as do does, unless the client has been drained.
func (c *Client) Do(newReq func() (*http.Request, error), key string, proxies []string, pinned bool) (*http.Response, error) {
	call := &drainCall{}
	resp, err := c.send(call, nil, newReq, key, proxies, pinned)
	if err != nil {
		return nil, err
	}
	resp.Body = &drainBody{ReadCloser: resp.Body, d: &c.drain, call: call}
	return resp, nil
}

// send sends req as do does, unless the client has been drained, with call registered for the drain
// until finish. cancel, when not nil, cancels the context newReq makes its request with: without
// proxies (one request per call) the drain ends the call with it, instead of with a context of its own
// and a copy of the request. On success the caller finishes call itself.
func (c *Client) send(call *drainCall, cancel context.CancelFunc, newReq func() (*http.Request, error), key string, proxies []string, pinned bool) (*http.Response, error) {
	if !c.drain.start(call) {
		return nil, ErrShuttingDown
	}
	withCancel := newReq
	if cancel != nil && len(proxies) == 0 {
		c.drain.watch(call, cancel)
	} else {
		withCancel = func() (*http.Request, error) {
			req, err := newReq()
			if err != nil {
				return nil, err
			}
			ctx, cancel := context.WithCancel(req.Context())
			if prev := c.drain.watch(call, cancel); prev != nil {
				prev() // a failed-over proxy attempt is over
			}
			return req.WithContext(ctx), nil
		}
	}
	resp, err := c.do(withCancel, key, proxies, pinned, false)
	if err != nil {
		return nil, c.drain.finish(call, err)
	}
	return resp, nil
}

// watch makes cancel the way the drain ends call, cancelling at once when the drain already began,
// and returns the cancel it replaces.
func (d *drainer) watch(call *drainCall, cancel context.CancelFunc) (prev context.CancelFunc) {
	d.mu.Lock()
	prev, call.cancel = call.cancel, cancel
	aborted := call.aborted
	d.mu.Unlock()
	if aborted {
		cancel()
	}
	return prev
}

// Drain ends every upstream call in flight with ErrShuttingDown and refuses new ones.
func (c *Client) Drain() {
	d := &c.drain
	d.mu.Lock()
	d.closed = true
	var cancels []context.CancelFunc
	for call := range d.cancels {
		call.aborted = true
		if call.cancel != nil {
			cancels = append(cancels, call.cancel)
		}
	}
	d.mu.Unlock()
	for _, cancel := range cancels {
		cancel()
	}
}

func (d *drainer) start(call *drainCall) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false
	}
	if d.cancels == nil {
		d.cancels = map[*drainCall]struct{}{}
	}
	d.cancels[call] = struct{}{}
	return true
}

// finish forgets a call and names its error ErrShuttingDown when the drain caused it.
func (d *drainer) finish(call *drainCall, err error) error {
	d.mu.Lock()
	delete(d.cancels, call)
	aborted, cancel := call.aborted, call.cancel
	d.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if aborted && err != nil {
		return ErrShuttingDown
	}
	return err
}

func (d *drainer) aborted(call *drainCall) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return call.aborted
}

// drainBody reports a read that the drain broke as ErrShuttingDown, not as a cancelled context,
// which the handlers would take for a client that went away.
type drainBody struct {
	io.ReadCloser
	d    *drainer
	call *drainCall
	once sync.Once
}

func (b *drainBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.d.aborted(b.call) {
		return n, ErrShuttingDown
	}
	return n, err
}

func (b *drainBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() { _ = b.d.finish(b.call, nil) })
	return err
}
