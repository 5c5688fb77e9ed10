package main

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// latencyTail is the fake's latency in scenario 8: most calls wait usual, a share waits slow. Each
// call is drawn on its own (a hedge too), from its number, so that a run is repeatable.
type latencyTail struct {
	usual, slow time.Duration
	share       float64
}

func (l latencyTail) delay(n int, _ string) time.Duration {
	if float64(mix(uint64(n))%1_000_000) < l.share*1_000_000 {
		return l.slow
	}
	return l.usual
}

func (l latencyTail) args() []string {
	return []string{"--latency", l.usual.String(), "--tail", l.slow.String(), "--tail-share", strconv.FormatFloat(l.share, 'f', -1, 64)}
}

// mix is splitmix64's finaliser: call numbers in, well-spread bits out.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

const (
	tailOffName = "gemgate (hedging off)"
	tailOnName  = "gemgate (hedging on)"
)

// tail is scenario 8: an upstream whose latency has a long tail, through gemgate with hedging off and
// on (the same build, in the same interleaved rounds), with direct calls, the floor and the
// contenders for reference. Extra upstream calls are the fake's calls per client request, minus one.
func (b *bench) tail(ctx context.Context) (*Scenario, error) {
	p := b.plan
	s := &Scenario{ID: 8, Name: "long-tail upstream: hedging off and on",
		Setup: fmt.Sprintf("the fake answers %g%% of generate calls after %s and %g%% after %s (each call drawn on its own, hedges included); open loop at %d req/s, %d interleaved rounds of %s per target; gemgate with HEDGE_AFTER_MS=%d, HEDGE_MAX_PERCENT=10, against the same build with hedging off; latency from sending to the last byte",
			100*(1-p.tail.share), p.tail.usual, 100*p.tail.share, p.tail.slow, p.tailRate, p.tailRounds, p.tailEach, p.hedgeAfter.Milliseconds()),
		columns: []column{{"requests", "requests", 0}, {"p50", "p50 ms", 1}, {"p90", "p90 ms", 1}, {"p99", "p99 ms", 1},
			{"p999", "p99.9 ms", 1}, {"upstream_per_req", "upstream calls/req", 3}, {"extra_pct", "extra calls %", 2}, {"errors", "errors", 0}}}
	fake, err := b.fake(p.chunks, p.chunkGap, p.tail.args()...)
	if err != nil {
		return s, err
	}
	floor, err := b.floor(fake)
	if err != nil {
		return s, err
	}
	off, err := b.gemgateWith(ctx, b.bin, "gemgate-tail-off", benchKeys(p.fewKeys), fake, nil)
	if err != nil {
		return s, err
	}
	on, err := b.gemgateWith(ctx, b.bin, "gemgate-tail-on", benchKeys(p.fewKeys), fake,
		map[string]string{"HEDGE_AFTER_MS": strconv.FormatInt(p.hedgeAfter.Milliseconds(), 10), "HEDGE_MAX_PERCENT": "10"})
	if err != nil {
		return s, err
	}
	ts := []*target{{name: "direct", fake: fake}, {name: "floor", proxy: floor, fake: fake},
		{name: tailOffName, proxy: off, fake: fake, gemgate: true}, {name: tailOnName, proxy: on, fake: fake, gemgate: true}}
	for _, c := range b.opts.contenders {
		cp, err := b.contender(ctx, c, "tail", fake)
		if err != nil {
			return s, err
		}
		ts = append(ts, &target{name: c.name, proxy: cp, fake: fake, gemgate: c.bin != "", contender: true})
	}
	outs, calls := b.tailRounds(ctx, ts, fake)
	for i, t := range ts {
		o := outs[i]
		v := map[string]float64{"requests": float64(o.requests), "errors": float64(o.errors()),
			"p50": round(pct(o.lat, 0.5), 1), "p90": round(pct(o.lat, 0.9), 1), "p99": round(pct(o.lat, 0.99), 1), "p999": round(pct(o.lat, 0.999), 1)}
		if o.requests > 0 {
			per := float64(calls[i]) / float64(o.requests)
			v["upstream_per_req"], v["extra_pct"] = round(per, 3), round(100*(per-1), 2)
		}
		s.row(t.name, v)
	}
	for _, t := range ts {
		if t.proxy != nil {
			b.stopProc(t.proxy.name)
		}
	}
	b.stopProc(fake.name)
	if v, ok := s.ratio("hedging on / off, p99", tailOnName, tailOffName, "p99"); ok {
		s.atMost("hedging on / off, p99 (at least halved)", v, 0.5)
	}
	s.ratio("hedging on / off, p50", tailOnName, tailOffName, "p50")
	if v, ok := s.value(tailOnName, "extra_pct"); ok {
		s.atMost("hedging on, extra upstream calls %", v, 10)
	}
	for _, c := range b.opts.contenders {
		s.ratio(c.name+" / floor, p99", c.name, "floor", "p99")
	}
	s.ratio(tailOnName+" / floor, p99", tailOnName, "floor", "p99")
	return s, nil
}

// tailRounds loads every target at the scenario's rate, interleaved, and counts the fake's calls
// during each target's rounds (gemgate cancels a lost hedge before it answers, so none spills over).
func (b *bench) tailRounds(ctx context.Context, ts []*target, fake *proc) ([]*outcome, []int) {
	p := b.plan
	outs := make([]*outcome, len(ts))
	calls := make([]int, len(ts))
	for i, t := range ts {
		outs[i] = newOutcome()
		openLoop(ctx, b.client, t.native("generateContent"), p.tailRate, p.warm)
	}
	for round := range p.tailRounds {
		for i, t := range ts {
			b.progress("  %s, round %d/%d", t.name, round+1, p.tailRounds)
			before := upstreamCalls(fake)
			outs[i].merge(openLoop(ctx, b.client, t.native("generateContent"), p.tailRate, p.tailEach))
			calls[i] += upstreamCalls(fake) - before
		}
	}
	return outs, calls
}
