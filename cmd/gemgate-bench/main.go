// Command gemgate-bench measures what gemgate costs on top of calling Gemini directly. It starts a
// fake Gemini, gemgate (the real binary, with SQLite, request logs and statistics on, as in production)
// and, as the floor any Go gateway can reach, a bare httputil.ReverseProxy, each in its own process on
// loopback. It then drives them with keep-alive clients and reports every scenario for direct calls,
// the floor and gemgate in the same run, as a table on stdout and a JSON file.
//
//	go run ./cmd/gemgate-bench                 # the full run, under five minutes
//	go run ./cmd/gemgate-bench --quick         # a few seconds per scenario: a smoke test, not a result
//	go run ./cmd/gemgate-bench --scenarios 1,4 --out /tmp/bench.json
//
// Compare the ratios within one run: the load generator, the fake and the proxy share the machine's
// cores, so absolute numbers move with whatever else runs on it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const usage = `gemgate-bench — gemgate against direct calls and a bare reverse proxy

Usage:
  go run ./cmd/gemgate-bench [--quick] [--out FILE] [--scenarios LIST] [--gemgate BINARY] [--baseline BINARY]
                             [--compare 'NAME[:/PREFIX]=COMMAND']... [--pprof ADDR]

Scenarios (--scenarios takes numbers or names, comma separated; default all):
  1 saturation   native generateContent, closed loop: throughput, p50/p99, CPU per request (1,000 and 100,000 keys)
  2 rate         the same at a fixed rate: latency added over direct calls
  3 translated   OpenAI chat, Anthropic Messages and Responses through gemgate: the translations' cost
  4 stream       SSE streams of 50 chunks: time to first byte, delay added to each chunk
  5 clients      1,000 concurrent clients holding streams open: errors, memory per open stream
  6 memory       resident memory idle and under load, 1,000 and 100,000 keys
  7 retry        30% of the keys rate-limited: client success rate, latency added
  8 tail         an upstream with a long latency tail: p50/p99 and extra upstream calls, hedging off and on

Other gateways (--compare, repeatable) are measured in scenarios 1, 2 and 8 in the same rounds as the
floor and gemgate, with their ratios to the floor. COMMAND runs under sh -c; in it {port} is where the
gateway must listen (127.0.0.1), {upstream} the fake Gemini's base URL (Google's paths, e.g. /v1beta,
follow it), {upstream_addr} its host:port, {keys} a file of the bench's 1,000 Gemini keys (one per line), {token} the client token the
bench sends as x-goog-api-key, {dir} a folder of its own. /PREFIX is where it serves Google's paths.
--baseline BINARY is a contender that is a gemgate build (its translated routes are measured in scenario 3 too).

Flags:
`

var scenarioNames = []string{"saturation", "rate", "translated", "stream", "clients", "memory", "retry", "tail"}

// scenarioAliases are names scenarios had before, still accepted.
var scenarioAliases = map[string]int{"openai": 3}

type options struct {
	quick     bool
	out       string
	scenarios []int
	gemgate   string
	pprof     string
	// contenders are the other gateways measured alongside: --baseline first, then each --compare.
	contenders []contender
}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case fakeCmd:
			exit(runFake(os.Args[2:]))
		case floorCmd:
			exit(runFloor(os.Args[2:]))
		}
	}
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		exit(err)
	}
	exit(run(opts))
}

func exit(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "gemgate-bench:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("gemgate-bench", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	fs.BoolVar(&o.quick, "quick", false, "run every scenario for a moment only (CI smoke test)")
	fs.StringVar(&o.out, "out", filepath.Join(os.TempDir(), "gemgate-bench.json"), "where to write the JSON results")
	list := fs.String("scenarios", "all", "scenarios to run, by number or name")
	fs.StringVar(&o.gemgate, "gemgate", "", "gemgate binary to measure (default: build ./cmd/gemgate)")
	baseline := fs.String("baseline", "", "a second gemgate binary (e.g. built before a change), measured alongside in scenarios 1-3 and 8")
	var compare compareFlag
	fs.Var(&compare, "compare", "another gateway, NAME[:/PREFIX]=COMMAND with {port} {upstream} {upstream_addr} {keys} {token} {dir}, measured alongside in scenarios 1, 2 and 8 (repeatable)")
	fs.StringVar(&o.pprof, "pprof", "", "serve each gemgate instance's profiles (GEMGATE_PPROF) from this address on, one port per instance")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if *baseline != "" {
		o.contenders = append(o.contenders, contender{name: baselineName, bin: *baseline})
	}
	o.contenders = append(o.contenders, compare...)
	var err error
	o.scenarios, err = parseScenarios(*list)
	return o, err
}

func parseScenarios(list string) ([]int, error) {
	if list == "" || list == "all" {
		return []int{1, 2, 3, 4, 5, 6, 7, 8}, nil
	}
	var out []int
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		n, err := strconv.Atoi(item)
		if err != nil {
			n = slices.Index(scenarioNames, item) + 1
		}
		if alias, ok := scenarioAliases[item]; ok {
			n = alias
		}
		if n < 1 || n > len(scenarioNames) {
			return nil, fmt.Errorf("unknown scenario %q (1-%d or %s)", item, len(scenarioNames), strings.Join(scenarioNames, ", "))
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

func run(opts options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "gemgate-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := newBench(opts, dir)
	defer b.close()
	if b.bin = opts.gemgate; b.bin == "" {
		b.progress("building gemgate (CGO_ENABLED=0)")
		if b.bin, err = buildGemgate(dir); err != nil {
			return err
		}
	}
	report := &Report{Started: time.Now(), Go: runtime.Version(), CPUs: runtime.NumCPU(), Quick: opts.quick,
		Command: "go run ./cmd/gemgate-bench " + strings.Join(os.Args[1:], " ")}
	for _, id := range opts.scenarios {
		if ctx.Err() != nil {
			break
		}
		report.Scenarios = append(report.Scenarios, b.scenario(ctx, id))
	}
	report.Seconds = round(time.Since(report.Started).Seconds(), 1)
	report.print(os.Stdout)
	if err := report.write(opts.out); err != nil {
		return err
	}
	fmt.Printf("\nJSON: %s\n", opts.out)
	return ctx.Err()
}
