package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// contender is one more gateway measured alongside gemgate and the floor, in the same interleaved
// rounds: a second gemgate build (--baseline), or any gateway started from a command (--compare).
type contender struct {
	name string
	// bin is a gemgate build, started as gemgate is (its own .env, SQLite, logs on); it also gets its
	// OpenAI route measured in scenario 3.
	bin string
	// command is any gateway's command line, with placeholders (see parseCompare); it is called with
	// the native Gemini API under prefix.
	command string
	prefix  string
}

// baselineName is the row of --baseline: the same 1,000-key setup with the other binary.
const baselineName = "baseline gemgate (1,000 keys)"

// compareFlag collects repeated --compare values.
type compareFlag []contender

func (c *compareFlag) String() string { return "" }

func (c *compareFlag) Set(v string) error {
	k, err := parseCompare(v)
	if err != nil {
		return err
	}
	*c = append(*c, k)
	return nil
}

// parseCompare reads "NAME=COMMAND" or "NAME:/PATH/PREFIX=COMMAND". The command runs under sh -c in
// a folder of its own, with {port} (where it must listen, on 127.0.0.1), {upstream} (the fake
// Gemini's base URL, e.g. http://127.0.0.1:41234; Google's paths such as /v1beta follow it),
// {upstream_addr} (its host:port, for a TCP proxy), {keys}
// (a file of the bench's 1,000 Gemini keys, one per line), {token} (the client token the bench
// sends as x-goog-api-key) and {dir} (that folder) replaced.
func parseCompare(v string) (contender, error) {
	head, command, ok := strings.Cut(v, "=")
	name, prefix, _ := strings.Cut(head, ":")
	name, command = strings.TrimSpace(name), strings.TrimSpace(command)
	switch {
	case !ok || name == "" || command == "":
		return contender{}, fmt.Errorf("--compare %q: want NAME=COMMAND (or NAME:/PREFIX=COMMAND)", v)
	case !strings.Contains(command, "{port}"):
		return contender{}, fmt.Errorf("--compare %q: the command must listen on {port}", v)
	case prefix != "" && !strings.HasPrefix(prefix, "/"):
		return contender{}, fmt.Errorf("--compare %q: the path prefix must start with /", v)
	}
	return contender{name: name, command: command, prefix: strings.TrimRight(prefix, "/")}, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// procName is the contender's process (and folder) name; suffix tells apart its instances.
func (c contender) procName(suffix string) string {
	return "cmp-" + unsafeName.ReplaceAllString(c.name, "_") + "-" + suffix
}

// withContenders adds every contender as one more target, so that other gateways (or the code before
// a change) are measured in the same run, under the same outside load. With many, a gemgate build
// (--baseline) also runs with the many keys, so that the cost of 100,000 keys and the memory they take
// are compared build to build in one run too.
func (b *bench) withContenders(ctx context.Context, ts []*target, fake *proc, many bool) ([]*target, error) {
	for _, c := range b.opts.contenders {
		p, err := b.contender(ctx, c, "1k", fake)
		if err != nil {
			return nil, err
		}
		ts = append(ts, &target{name: c.name, proxy: p, fake: fake, gemgate: c.bin != "", contender: true})
	}
	if !many {
		return ts, nil
	}
	for _, c := range b.opts.contenders {
		if c.bin == "" {
			continue
		}
		p, err := b.gemgateBinary(ctx, c.bin, c.procName("100k"), benchKeys(b.plan.manyKeys), fake)
		if err != nil {
			return nil, err
		}
		ts = append(ts, &target{name: b.manyKeysName(c), proxy: p, fake: fake, gemgate: true, contender: true})
	}
	return ts, nil
}

// manyKeysName is the row of a gemgate contender's instance with the many keys.
func (b *bench) manyKeysName(c contender) string {
	base := strings.TrimSuffix(c.name, " ("+thousands(b.plan.fewKeys)+" keys)")
	return base + " (" + thousands(b.plan.manyKeys) + " keys)"
}

// compareManyKeys adds gemgate's ratios, with the many keys, to each gemgate contender's same instance.
func (b *bench) compareManyKeys(s *Scenario, cols ...string) {
	for _, c := range b.opts.contenders {
		if c.bin == "" {
			continue
		}
		for _, k := range cols {
			s.ratio(b.manyLabel()+" / "+b.manyKeysName(c)+", "+k, b.manyLabel(), b.manyKeysName(c), k)
		}
	}
}

// contender returns the contender's instance called suffix in front of upstream.
func (b *bench) contender(ctx context.Context, c contender, suffix string, upstream *proc) (*proc, error) {
	if c.bin != "" {
		return b.gemgateBinary(ctx, c.bin, c.procName(suffix), benchKeys(b.plan.fewKeys), upstream)
	}
	name := c.procName(suffix)
	if p := b.procs[name]; p != nil {
		return p, nil
	}
	b.progress("starting %s (%s)", name, c.command)
	p, err := startCommand(ctx, c, name, filepath.Join(b.dir, name), benchKeys(b.plan.fewKeys), upstream)
	if err != nil {
		return nil, err
	}
	return b.keep(p), nil
}

// stopContenders ends every contender's process of suffix.
func (b *bench) stopContenders(suffix string) {
	for _, c := range b.opts.contenders {
		b.stopProc(c.procName(suffix))
	}
}

// compareContenders adds, for keys, each contender's ratio to the floor and gemgate's to it.
func compareContenders(s *Scenario, gemgate string, contenders []contender, keys ...string) {
	for _, c := range contenders {
		for _, k := range keys {
			s.ratio(c.name+" / floor, "+k, c.name, "floor", k)
			s.ratio(gemgate+" / "+c.name+", "+k, gemgate, c.name, k)
		}
	}
}

// startCommand runs a contender's command line and waits until its port accepts connections. The
// shell execs the command, so the process measured is the gateway itself (a gateway that forks its
// work into children is measured without them).
func startCommand(ctx context.Context, c contender, name, dir string, keys []string, upstream *proc) (*proc, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	keyFile := filepath.Join(dir, "keys.txt")
	if err := os.WriteFile(keyFile, []byte(strings.Join(keys, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	line := strings.NewReplacer("{port}", strconv.Itoa(port), "{upstream_addr}", strings.TrimPrefix(upstream.url, "http://"),
		"{upstream}", upstream.url, "{keys}", keyFile,
		"{token}", benchToken, "{dir}", dir).Replace(c.command)
	p := &proc{name: name, cmd: exec.Command("sh", "-c", "exec "+line), log: filepath.Join(dir, "out.log")}
	p.cmd.Dir = dir
	if err := p.startLogged(); err != nil {
		return nil, err
	}
	p.url = "http://127.0.0.1:" + strconv.Itoa(port) + c.prefix
	if err := waitListening(ctx, p, port); err != nil {
		p.stop()
		return nil, fmt.Errorf("%s: %w\n%s", name, err, p.tail())
	}
	settle(p)
	return p, nil
}

func waitListening(ctx context.Context, p *proc, port int) error {
	addr := "127.0.0.1:" + strconv.Itoa(port)
	return waitReady(ctx, p, "not listening on "+addr, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}
