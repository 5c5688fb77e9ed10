package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/fakeupstream"
)

// The hidden subcommands the bench re-executes itself with, so that the fake Gemini and the floor each
// run in a process of their own, as gemgate does, and each process's CPU and memory can be read apart.
const (
	fakeCmd  = "internal-fake"
	floorCmd = "internal-floor"
)

// stampPrefix starts the SSE comment line the bench's fake puts before every event: the wall-clock
// time the event left, which the client compares with the time it arrived. SSE clients ignore comments,
// and gemgate relays native streams byte for byte.
const stampPrefix = ": t="

// runFake serves the fake Gemini on a loopback port and prints "listening ADDR".
func runFake(args []string) error {
	fs := flag.NewFlagSet(fakeCmd, flag.ContinueOnError)
	chunks := fs.Int("chunks", 50, "SSE events per streamed answer")
	interval := fs.Duration("interval", 10*time.Millisecond, "pause between stream events")
	var tail latencyTail
	fs.DurationVar(&tail.usual, "latency", 0, "wait before answering a generate call")
	fs.DurationVar(&tail.slow, "tail", 0, "wait before answering the slow share of generate calls")
	fs.Float64Var(&tail.share, "tail-share", 0, "share of generate calls (0-1) that wait --tail")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Key names decide behaviour: the retry scenario's "-ratelimit" keys get Google's per-minute 429.
	cfg := fakeupstream.Config{KeysByName: true, StreamChunks: *chunks, StreamInterval: *interval}
	if tail.usual > 0 || tail.share > 0 {
		cfg.Delay = tail.delay
	}
	fake := fakeupstream.New(cfg)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_bench/calls", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, fake.TotalCalls())
	})
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fake.ServeHTTP(&stampWriter{ResponseWriter: w}, r)
	}))
	return serveLoopback(mux)
}

// stampWriter puts a send-time comment before every write of an SSE answer. The fake writes each event
// in one call and flushes it, so stamp and event leave together.
type stampWriter struct {
	http.ResponseWriter
	sse, checked bool
}

func (s *stampWriter) Write(p []byte) (int, error) {
	if !s.checked {
		s.checked = true
		s.sse = strings.HasPrefix(s.Header().Get("Content-Type"), "text/event-stream")
	}
	if s.sse {
		var buf [48]byte
		line := strconv.AppendInt(append(buf[:0], stampPrefix...), time.Now().UnixNano(), 10)
		if _, err := s.ResponseWriter.Write(append(line, '\r', '\n')); err != nil {
			return 0, err
		}
	}
	return s.ResponseWriter.Write(p)
}

func (s *stampWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// runFloor is the yardstick: a bare httputil.ReverseProxy with a keep-alive transport, nothing else.
func runFloor(args []string) error {
	fs := flag.NewFlagSet(floorCmd, flag.ContinueOnError)
	target := fs.String("target", "", "upstream base URL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*target)
	if err != nil || u.Host == "" {
		return fmt.Errorf("bad --target %q", *target)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// The default of 2 idle connections per host would make the floor dial for most requests under load.
	transport.MaxIdleConnsPerHost = 1024
	transport.DisableCompression = true
	rp := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(u) },
		Transport:     transport,
		FlushInterval: -1,
	}
	return serveLoopback(rp)
}

func serveLoopback(h http.Handler) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("listening %s\n", ln.Addr())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	return srv.Serve(ln)
}

// proc is a child process under measurement.
type proc struct {
	name string
	url  string // base URL, no trailing slash
	cmd  *exec.Cmd
	log  string // its stderr (and gemgate's stdout)
	// idleRSS is the resident memory once the process was ready and had settled, before any load.
	idleRSS int64
	exited  chan struct{}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop asks the process to shut down and kills it when it takes too long.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// tail returns the end of the process's log, to explain a failure.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func (p *proc) start(logFile *os.File) error {
	setChildAttrs(p.cmd)
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return err
	}
	p.exited = make(chan struct{})
	go func() {
		_ = p.cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	return nil
}

// startLogged starts the process with its stdout and stderr written to its log.
func (p *proc) startLogged() error {
	logFile, err := os.Create(p.log)
	if err != nil {
		return err
	}
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	return p.start(logFile)
}

// startSelf re-executes the bench with a hidden subcommand and waits for the address it listens on.
func startSelf(dir, name string, args ...string) (*proc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	p := &proc{name: name, cmd: exec.Command(exe, args...), log: filepath.Join(dir, name+".log")}
	logFile, err := os.Create(p.log)
	if err != nil {
		return nil, err
	}
	p.cmd.Stderr = logFile
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := p.start(logFile); err != nil {
		return nil, err
	}
	addr, err := readAddress(stdout)
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("%s: %w\n%s", name, err, p.tail())
	}
	p.url = "http://" + addr
	settle(p)
	return p, nil
}

func readAddress(r io.Reader) (string, error) {
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				found <- addr
				break
			}
		}
		close(found)
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case addr, ok := <-found:
		if !ok {
			return "", errors.New("exited before listening")
		}
		return addr, nil
	case <-time.After(30 * time.Second):
		return "", errors.New("not listening after 30s")
	}
}

// settle records the idle footprint once start-up garbage had a moment to be collected.
func settle(p *proc) {
	time.Sleep(500 * time.Millisecond)
	p.idleRSS, _ = residentBytes(p.pid())
}

// gemgateSpec describes one gemgate instance.
type gemgateSpec struct {
	name     string
	bin      string
	dir      string // its working folder: .env, database, log
	keys     []string
	upstream string            // the fake's base URL
	pprof    string            // GEMGATE_PPROF, when profiles are wanted
	env      map[string]string // settings on top of the bench's own
}

// startGemgate runs "gemgate serve" as in production (SQLite, request logs and statistics on) and
// waits for /health.
func startGemgate(ctx context.Context, s gemgateSpec) (*proc, error) {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, err
	}
	// 100,000 keys are about 4 MB, far beyond what one environment variable may hold; .env has no limit.
	env := "API_KEYS=" + strings.Join(s.keys, ",") + "\n"
	if err := os.WriteFile(filepath.Join(s.dir, ".env"), []byte(env), 0o600); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p := &proc{name: s.name, cmd: exec.Command(s.bin, "serve"), log: filepath.Join(s.dir, "gemgate.log")}
	p.cmd.Dir = s.dir
	set := map[string]string{
		config.Host.Name():           "127.0.0.1",
		config.Port.Name():           strconv.Itoa(port),
		config.SQLiteDatabase.Name(): filepath.Join(s.dir, "gemgate.db"),
		config.BaseURL.Name():        s.upstream + "/v1beta",
		config.AllowedTokens.Name():  benchToken,
		config.AuthToken.Name():      "bench-admin-token",
		// Every simulated client shares the loopback address: the per-address cap would refuse the
		// crowd scenarios, which stand for many real addresses.
		config.ClientMaxConnsPerIP.Name(): "0",
		"GEMGATE_PPROF":                   s.pprof,
	}
	for k, v := range s.env {
		set[k] = v
	}
	p.cmd.Env = gemgateEnv(set)
	if err := p.startLogged(); err != nil {
		return nil, err
	}
	p.url = "http://127.0.0.1:" + strconv.Itoa(port)
	if err := waitHealthy(ctx, p); err != nil {
		p.stop()
		return nil, fmt.Errorf("%s: %w\n%s", s.name, err, p.tail())
	}
	settle(p)
	return p, nil
}

// gemgateEnv is the bench's environment without any gemgate setting the caller may have exported, so
// that every instance runs exactly with the settings given here.
func gemgateEnv(set map[string]string) []string {
	known := map[string]bool{}
	for _, d := range config.All() {
		known[d.Name] = true
	}
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !known[k] && k != "GEMGATE_PPROF" {
			out = append(out, kv)
		}
	}
	for k, v := range set {
		if v != "" {
			out = append(out, k+"="+v)
		}
	}
	return out
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func waitHealthy(ctx context.Context, p *proc) error {
	return waitReady(ctx, p, "no answer on /health", func() bool {
		resp, err := http.Get(p.url + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// waitReady polls ready until it holds, the process exits or 90 s pass (then the error says what).
func waitReady(ctx context.Context, p *proc, what string, ready func() bool) error {
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return errors.New("exited during start-up")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if ready() {
			return nil
		}
	}
	return errors.New(what + " after 90s")
}

// buildGemgate builds the shipped binary (static, no cgo) from the module the bench runs in.
func buildGemgate(dir string) (string, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if root == "." || strings.TrimSpace(string(gomod)) == os.DevNull {
		return "", errors.New("run the bench inside the gemgate module (or pass --gemgate BINARY)")
	}
	bin := filepath.Join(dir, "gemgate")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/gemgate")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/gemgate: %w\n%s", err, out)
	}
	return bin, nil
}
