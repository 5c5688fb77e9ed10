package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// model is what every call asks for; the fake knows it.
const model = "gemini-2.5-flash"

// benchToken is the client token gemgate is configured with.
const benchToken = "sk-bench-client-token"

// The bodies are the smallest realistic call of each API: the same one user message (and temperature
// where the API has one; Anthropic's requires max_tokens).
var (
	nativeBody    = []byte(`{"contents":[{"role":"user","parts":[{"text":"Hello there, how are you today?"}]}],"generationConfig":{"temperature":0.3}}`)
	chatBody      = []byte(`{"model":"` + model + `","messages":[{"role":"user","content":"Hello there, how are you today?"}],"temperature":0.3}`)
	messagesBody  = []byte(`{"model":"` + model + `","max_tokens":1024,"messages":[{"role":"user","content":"Hello there, how are you today?"}],"temperature":0.3}`)
	responsesBody = []byte(`{"model":"` + model + `","input":[{"role":"user","content":"Hello there, how are you today?"}],"temperature":0.3}`)
)

// plan holds the sizes and durations of a run; --quick shrinks them to seconds in all.
type plan struct {
	clients              int           // closed-loop callers
	warm                 time.Duration // before a target's first measured round
	satRounds            int           // rounds interleave the targets, so that a burst of outside load hits all alike
	satEach              time.Duration
	rate                 int // requests per second of the fixed-rate runs
	rateRounds           int
	rateEach             time.Duration
	translatedRounds     int
	translatedEach       time.Duration
	streamClients        int
	chunks               int
	chunkGap             time.Duration
	streamRounds         int
	streamEach           time.Duration
	heldStreams          int
	heldChunks           int
	heldGap              time.Duration
	retryRate            int
	retryEach            time.Duration
	fewKeys, manyKeys    int
	retryKeys            int
	rateLimitedPerTenKey int
	tail                 latencyTail // the upstream latency of scenario 8
	hedgeAfter           time.Duration
	tailRate             int
	tailRounds           int
	tailEach             time.Duration
	deferred             time.Duration // waited for after the load of a scenario that measures gemgate's CPU
}

func fullPlan() plan {
	return plan{
		clients: 50, warm: time.Second,
		satRounds: 3, satEach: 3 * time.Second,
		rate: 1000, rateRounds: 2, rateEach: 4 * time.Second,
		translatedRounds: 3, translatedEach: 2 * time.Second,
		streamClients: 20, chunks: 50, chunkGap: 10 * time.Millisecond, streamRounds: 2, streamEach: 3 * time.Second,
		heldStreams: 1000, heldChunks: 50, heldGap: 100 * time.Millisecond,
		retryRate: 500, retryEach: 6 * time.Second,
		fewKeys: 1000, manyKeys: 100_000, retryKeys: 1000, rateLimitedPerTenKey: 3,
		tail:       latencyTail{usual: 20 * time.Millisecond, slow: time.Second, share: 0.05},
		hedgeAfter: 60 * time.Millisecond, tailRate: 200, tailRounds: 2, tailEach: 6 * time.Second,
		deferred: deferredWork,
	}
}

func quickPlan() plan {
	return plan{
		clients: 16, warm: 200 * time.Millisecond,
		satRounds: 1, satEach: 500 * time.Millisecond,
		rate: 500, rateRounds: 1, rateEach: 500 * time.Millisecond,
		translatedRounds: 1, translatedEach: 500 * time.Millisecond,
		streamClients: 5, chunks: 50, chunkGap: 2 * time.Millisecond, streamRounds: 1, streamEach: 500 * time.Millisecond,
		heldStreams: 100, heldChunks: 10, heldGap: 100 * time.Millisecond,
		retryRate: 200, retryEach: time.Second,
		fewKeys: 1000, manyKeys: 100_000, retryKeys: 1000, rateLimitedPerTenKey: 3,
		tail:       latencyTail{usual: 20 * time.Millisecond, slow: time.Second, share: 0.05},
		hedgeAfter: 60 * time.Millisecond, tailRate: 100, tailRounds: 1, tailEach: time.Second,
		deferred: 500 * time.Millisecond,
	}
}

// bench owns the processes of a run; they start when a scenario first needs them.
type bench struct {
	opts     options
	plan     plan
	dir      string
	bin      string
	client   *http.Client
	procs    map[string]*proc
	order    []*proc
	profiled int // gemgate instances given a profile port so far
	// loadRSS is the peak resident memory of each proxy under the saturation load (scenario 6).
	loadRSS map[string]int64
}

func newBench(opts options, dir string) *bench {
	p := fullPlan()
	if opts.quick {
		p = quickPlan()
	}
	return &bench{opts: opts, plan: p, dir: dir, client: newClient(), procs: map[string]*proc{}, loadRSS: map[string]int64{}}
}

func (b *bench) progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "· "+format+"\n", args...)
}

// close stops the processes, gemgate first so that it drains into a live upstream.
func (b *bench) close() {
	for i := len(b.order) - 1; i >= 0; i-- {
		b.order[i].stop()
	}
}

func (b *bench) keep(p *proc) *proc {
	b.procs[p.name] = p
	b.order = append(b.order, p)
	return p
}

// stopProc ends a process a scenario no longer needs, so that it does not idle on the shared cores.
func (b *bench) stopProc(name string) {
	p := b.procs[name]
	if p == nil {
		return
	}
	p.stop()
	delete(b.procs, name)
	for i, q := range b.order {
		if q == p {
			b.order = append(b.order[:i], b.order[i+1:]...)
			break
		}
	}
}

// fake returns the fake Gemini whose streams have chunks events gap apart.
func (b *bench) fake(chunks int, gap time.Duration, extra ...string) (*proc, error) {
	name := fmt.Sprintf("fake-%d-%s%s", chunks, gap, strings.Join(extra, ""))
	if p := b.procs[name]; p != nil {
		return p, nil
	}
	b.progress("starting %s", name)
	p, err := startSelf(b.dir, name, append([]string{fakeCmd, "--chunks", strconv.Itoa(chunks), "--interval", gap.String()}, extra...)...)
	if err != nil {
		return nil, err
	}
	return b.keep(p), nil
}

func (b *bench) mainFake() (*proc, error) { return b.fake(b.plan.chunks, b.plan.chunkGap) }

func (b *bench) floor(upstream *proc) (*proc, error) {
	name := "floor-" + upstream.name
	if p := b.procs[name]; p != nil {
		return p, nil
	}
	b.progress("starting %s", name)
	p, err := startSelf(b.dir, name, floorCmd, "--target", upstream.url)
	if err != nil {
		return nil, err
	}
	return b.keep(p), nil
}

// gemgate returns the instance called name, with keys, in front of upstream.
func (b *bench) gemgate(ctx context.Context, name string, keys []string, upstream *proc) (*proc, error) {
	return b.gemgateBinary(ctx, b.bin, name, keys, upstream)
}

func (b *bench) gemgateBinary(ctx context.Context, bin, name string, keys []string, upstream *proc) (*proc, error) {
	return b.gemgateWith(ctx, bin, name, keys, upstream, nil)
}

// gemgateWith is gemgateBinary with settings env on top of the bench's.
func (b *bench) gemgateWith(ctx context.Context, bin, name string, keys []string, upstream *proc, env map[string]string) (*proc, error) {
	if p := b.procs[name]; p != nil {
		return p, nil
	}
	b.progress("starting %s (%d keys)", name, len(keys))
	spec := gemgateSpec{name: name, bin: bin, dir: filepath.Join(b.dir, name), keys: keys, upstream: upstream.url, env: env}
	if spec.pprof = b.profileAddr(); spec.pprof != "" {
		b.progress("  %s serves its profiles on http://%s/debug/pprof/", name, spec.pprof)
	}
	p, err := startGemgate(ctx, spec)
	if err != nil {
		return nil, err
	}
	return b.keep(p), nil
}

// profileAddr gives each gemgate instance its own port, counting up from --pprof.
func (b *bench) profileAddr() string {
	host, port, err := net.SplitHostPort(b.opts.pprof)
	if err != nil {
		return ""
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return ""
	}
	b.profiled++
	return net.JoinHostPort(host, strconv.Itoa(n+b.profiled-1))
}

// benchKeys are n key-shaped names; the fake answers every one normally.
func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("AIzaSyBench%028d", i)
	}
	return keys
}

// retryKeys are n keys of which perTen in every ten get Google's per-minute 429 from the fake.
func retryKeys(n, perTen int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("AIzaSyRetry%028d", i)
		if i%10 < perTen {
			keys[i] += "-ratelimit"
		}
	}
	return keys
}

// target is one way of reaching the fake: directly, through the floor or through gemgate.
type target struct {
	name    string
	proxy   *proc // whose CPU and memory are measured; nil for direct calls
	fake    *proc
	gemgate bool
	// contender is another gateway (--baseline, --compare) measured alongside.
	contender bool
}

func (t *target) base() string {
	if t.proxy != nil {
		return t.proxy.url
	}
	return t.fake.url
}

// measured is the process a target's costs are read from: the proxy, or the fake for direct calls.
func (t *target) measured() *proc {
	if t.proxy != nil {
		return t.proxy
	}
	return t.fake
}

// native is a call of Google's API; direct and floor calls carry a key, gemgate and the contenders
// the client token (which the fake also takes for a key, for gateways that pass it through).
func (t *target) native(method string) *request {
	path := "/v1beta/models/" + model + ":" + method
	if method == "streamGenerateContent" {
		path += "?alt=sse"
	}
	key := benchKeys(1)[0]
	if t.gemgate || t.contender {
		key = benchToken
	}
	return &request{url: t.base() + path, body: nativeBody,
		header: http.Header{"Content-Type": {"application/json"}, "X-Goog-Api-Key": {key}}}
}

// route is a translated API of gemgate's measured in scenario 3, each on a process of its own.
type route struct {
	name  string // in the target's name and the ratios
	proc  string // the suffix of its process
	build func(t *target) *request
}

var translatedRoutes = []route{
	{"OpenAI chat", "openai", (*target).chat},
	{"Anthropic Messages", "messages", (*target).messages},
	{"Responses", "responses", (*target).responses},
}

func (t *target) chat() *request {
	return &request{url: t.base() + "/v1/chat/completions", body: chatBody,
		header: http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + benchToken}}}
}

// messages is Anthropic's Messages API, with the headers Anthropic's SDKs send.
func (t *target) messages() *request {
	return &request{url: t.base() + "/v1/messages", body: messagesBody,
		header: http.Header{"Content-Type": {"application/json"}, "X-Api-Key": {benchToken}, "Anthropic-Version": {"2023-06-01"}}}
}

func (t *target) responses() *request {
	return &request{url: t.base() + "/v1/responses", body: responsesBody,
		header: http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + benchToken}}}
}

// window is what one measured stretch of load cost: the fake's CPU and the proxy's memory peak.
type window struct {
	fakeCPU time.Duration
	peakRSS int64
}

// during runs fn, reading the fake's CPU before and after and sampling the resident memory of t's
// process every 50 ms.
func during(t *target, fn func()) window {
	stop := make(chan struct{})
	peak := make(chan int64)
	go sampleRSS(t.measured().pid(), stop, peak)
	fake0, _ := cpuTime(t.fake.pid())
	fn()
	fake1, _ := cpuTime(t.fake.pid())
	close(stop)
	return window{fakeCPU: fake1 - fake0, peakRSS: <-peak}
}

func sampleRSS(pid int, stop <-chan struct{}, peak chan<- int64) {
	var top int64
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if v, err := residentBytes(pid); err == nil {
			top = max(top, v)
		}
		select {
		case <-stop:
			peak <- top
			return
		case <-tick.C:
		}
	}
}

// loadRun is one target with the request it is loaded with.
type loadRun struct {
	t *target
	q *request
}

// result accumulates a run's rounds.
type result struct {
	out     *outcome // the measured rounds
	served  int      // every request the proxy served, warm-up included
	cpu     time.Duration
	fakeCPU time.Duration
	peakRSS int64
}

// cpuPerRequest is in microseconds. A proxy's CPU counts from before its warm-up to after its deferred
// work (gemgate writes logs in batches and key state every 5 s), over every request it served; direct
// calls count the fake's CPU during the measured rounds.
func (r *result) cpuPerRequest() float64 {
	if r.served == 0 {
		return 0
	}
	return float64(r.cpu.Microseconds()) / float64(r.served)
}

// deferredWork is how long after its last request a gemgate process may still be working for it: the
// key-state flush runs every 5 s.
const deferredWork = 5500 * time.Millisecond

// rounds measures every run rounds times, interleaved, after one warm-up each. Each run must have a
// process of its own: the proxies' CPU is read over the whole scenario.
func (b *bench) rounds(runs []loadRun, rounds int, each time.Duration, load func(q *request, d time.Duration) *outcome) []*result {
	res := make([]*result, len(runs))
	cpu0 := make([]time.Duration, len(runs))
	for i, r := range runs {
		res[i] = &result{out: newOutcome()}
		cpu0[i], _ = cpuTime(r.t.measured().pid())
		res[i].served = load(r.q, b.plan.warm).requests
	}
	for round := range rounds {
		for i, r := range runs {
			b.progress("  %s, round %d/%d", r.t.name, round+1, rounds)
			var o *outcome
			w := during(r.t, func() { o = load(r.q, each) })
			res[i].out.merge(o)
			res[i].served += o.requests
			res[i].fakeCPU += w.fakeCPU
			res[i].peakRSS = max(res[i].peakRSS, w.peakRSS)
		}
	}
	b.awaitDeferred(runs)
	for i, r := range runs {
		if r.t.proxy == nil {
			res[i].cpu, res[i].served = res[i].fakeCPU, res[i].out.requests
			continue
		}
		cpu1, _ := cpuTime(r.t.proxy.pid())
		res[i].cpu = cpu1 - cpu0[i]
	}
	return res
}

func (b *bench) awaitDeferred(runs []loadRun) {
	for _, r := range runs {
		if r.t.gemgate {
			b.progress("  waiting %s for gemgate's deferred writes", b.plan.deferred)
			time.Sleep(b.plan.deferred)
			return
		}
	}
}

// saturationRow is the common row of the closed-loop scenarios.
func saturationRow(r *result) map[string]float64 {
	o := r.out
	v := map[string]float64{
		"rps":    round(float64(o.ok())/o.elapsed.Seconds(), 0),
		"p50":    round(pct(o.lat, 0.50), 3),
		"p99":    round(pct(o.lat, 0.99), 3),
		"errors": float64(o.errors()),
	}
	if n := float64(o.requests); n > 0 {
		v["cpu_us"] = round(r.cpuPerRequest(), 1)
		v["fake_cpu_us"] = round(float64(r.fakeCPU.Microseconds())/n, 1)
	}
	v["rss_mb"] = round(float64(r.peakRSS)/(1<<20), 1)
	return v
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	var parts []string
	for len(s) > 3 {
		parts = append([]string{s[len(s)-3:]}, parts...)
		s = s[:len(s)-3]
	}
	return strings.Join(append([]string{s}, parts...), ",")
}

// collect waits for n results of fn run concurrently.
func collect[T any](n int, fn func(i int) T) []T {
	out := make([]T, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { out[i] = fn(i) })
	}
	wg.Wait()
	return out
}
