package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// request describes the calls of one load run.
type request struct {
	url    string
	body   []byte
	header http.Header
	// keys, when set, rotate through x-goog-api-key: a client of Google (or of the floor) spreading
	// its calls over a key list itself.
	keys []string
}

func (q *request) build(ctx context.Context, n uint64) *http.Request {
	r, _ := http.NewRequestWithContext(ctx, http.MethodPost, q.url, bytes.NewReader(q.body))
	for k, v := range q.header {
		r.Header[k] = v
	}
	if len(q.keys) > 0 {
		r.Header.Set("x-goog-api-key", q.keys[n%uint64(len(q.keys))])
	}
	return r
}

// outcome is what a load run saw.
type outcome struct {
	lat      []time.Duration // of every answered request, errors included
	status   map[int]int     // by HTTP status; 0 is a transport error
	noRetry  int             // 429 and 503 answers without Retry-After
	elapsed  time.Duration
	requests int
}

func newOutcome() *outcome { return &outcome{status: map[int]int{}} }

func (o *outcome) merge(p *outcome) {
	o.lat = append(o.lat, p.lat...)
	for k, v := range p.status {
		o.status[k] += v
	}
	o.noRetry += p.noRetry
	o.requests += p.requests
	o.elapsed += p.elapsed
}

func (o *outcome) ok() int { return o.status[http.StatusOK] }

func (o *outcome) errors() int { return o.requests - o.ok() }

func (o *outcome) record(status int, lat time.Duration, retryAfter bool) {
	o.requests++
	o.status[status]++
	o.lat = append(o.lat, lat)
	if (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) && !retryAfter {
		o.noRetry++
	}
}

// send makes one call and reads the whole answer; the latency ends with its last byte.
func send(c *http.Client, r *http.Request) (status int, lat time.Duration, retryAfter bool) {
	start := time.Now()
	resp, err := c.Do(r)
	if err != nil {
		return 0, time.Since(start), false
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, time.Since(start), false
	}
	return resp.StatusCode, time.Since(start), resp.Header.Get("Retry-After") != ""
}

// closedLoop keeps clients requests in flight for d: each client sends its next request as soon as
// the previous answer ended. It finds the saturation throughput.
func closedLoop(ctx context.Context, c *http.Client, q *request, clients int, d time.Duration) *outcome {
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	var n atomic.Uint64
	parts := make([]*outcome, clients)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			o := newOutcome()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				o.record(send(c, q.build(ctx, n.Add(1))))
			}
			parts[i] = o
		})
	}
	wg.Wait()
	out := newOutcome()
	for _, p := range parts {
		out.merge(p)
	}
	out.elapsed = time.Since(start)
	return out
}

// openLoop sends rate requests per second for d whatever the answers do, as real independent clients
// would; latency then shows queueing that a closed loop would hide.
func openLoop(ctx context.Context, c *http.Client, q *request, rate int, d time.Duration) *outcome {
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	total := max(int(float64(rate)*d.Seconds()), 1)
	jobs := make(chan uint64, total)
	const workers = 256
	parts := make([]*outcome, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			o := newOutcome()
			for n := range jobs {
				o.record(send(c, q.build(ctx, n)))
			}
			parts[i] = o
		})
	}
	start := time.Now()
	period := time.Second / time.Duration(rate)
	for i := range total {
		if wait := time.Until(start.Add(time.Duration(i) * period)); wait > 0 {
			time.Sleep(wait)
		}
		if ctx.Err() != nil {
			break
		}
		jobs <- uint64(i)
	}
	close(jobs)
	wg.Wait()
	out := newOutcome()
	for _, p := range parts {
		out.merge(p)
	}
	out.elapsed = time.Since(start)
	return out
}

// streamed is what reading streamed answers saw.
type streamed struct {
	ttfb     []time.Duration // request sent to first event
	delays   []time.Duration // per event: left the fake (its stamp) to read by the client
	status   map[int]int     // 0: transport error
	complete int             // streams that delivered every event
	broken   int             // 200 streams cut short
	noRetry  int
	streams  int
}

func newStreamed() *streamed { return &streamed{status: map[int]int{}} }

func (s *streamed) merge(p *streamed) {
	s.ttfb = append(s.ttfb, p.ttfb...)
	s.delays = append(s.delays, p.delays...)
	for k, v := range p.status {
		s.status[k] += v
	}
	s.complete += p.complete
	s.broken += p.broken
	s.noRetry += p.noRetry
	s.streams += p.streams
}

func (s *streamed) errors() int { return s.streams - s.complete }

// readStream makes one streamed call and reads it to the end, timing each event. opened, when set,
// is called once the first event arrived (or the call failed).
func readStream(c *http.Client, r *http.Request, events int, opened func()) *streamed {
	out := newStreamed()
	out.streams = 1
	signal := sync.OnceFunc(func() {
		if opened != nil {
			opened()
		}
	})
	defer signal()
	start := time.Now()
	resp, err := c.Do(r)
	if err != nil {
		out.status[0]++
		return out
	}
	defer resp.Body.Close()
	out.status[resp.StatusCode]++
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
			out.noRetry++
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return out
	}
	seen := readEvents(bufio.NewReaderSize(resp.Body, 64<<10), start, out, signal)
	if seen >= events {
		out.complete++
	} else {
		out.broken++
	}
	return out
}

// readEvents reads SSE lines, timing the stamps the bench's fake puts before each event.
func readEvents(br *bufio.Reader, start time.Time, out *streamed, first func()) int {
	seen := 0
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			now := time.Now()
			if seen == 0 && len(out.ttfb) == 0 {
				out.ttfb = append(out.ttfb, now.Sub(start))
				first()
			}
			if stamp, ok := bytes.CutPrefix(line, []byte(stampPrefix)); ok {
				if ns, perr := strconv.ParseInt(string(bytes.TrimSpace(stamp)), 10, 64); perr == nil {
					out.delays = append(out.delays, time.Duration(now.UnixNano()-ns))
				}
			}
			if bytes.HasPrefix(line, []byte("data: ")) {
				seen++
			}
		}
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			return seen
		}
	}
}

// streamLoop keeps clients streams in flight for d.
func streamLoop(ctx context.Context, c *http.Client, q *request, clients, events int, d time.Duration) *streamed {
	var n atomic.Uint64
	parts := make([]*streamed, clients)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			s := newStreamed()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				s.merge(readStream(c, q.build(ctx, n.Add(1)), events, nil))
			}
			parts[i] = s
		})
	}
	wg.Wait()
	out := newStreamed()
	for _, p := range parts {
		out.merge(p)
	}
	return out
}

// pct is the q-quantile (nearest rank) of durations, in milliseconds; it sorts in place.
func pct(d []time.Duration, q float64) float64 {
	if len(d) == 0 {
		return 0
	}
	if !slices.IsSorted(d) {
		slices.Sort(d)
	}
	return ms(d[int(q*float64(len(d)-1)+0.5)])
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// newClient is the load generator's client: keep-alive connections, enough idle ones for every
// concurrent caller, no transparent compression.
func newClient() *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{
		DialContext:         dialer.DialContext,
		MaxIdleConns:        4096,
		MaxIdleConnsPerHost: 4096,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}
