// Package applog builds gemgate's application log on log/slog: text or JSON lines (LOG_FORMAT, switchable
// while running, as LOG_LEVEL is), the request id on every line logged with a request's context, and
// keys and tokens taken out of every message and attribute before a line is written.
package applog

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/secret"
)

// Format is the shape of log lines.
type Format int32

const (
	Text Format = iota // key=value lines
	JSON               // one JSON object per line
)

// ParseFormat reads LOG_FORMAT; anything but "json" (in any case) is text.
func ParseFormat(s string) Format {
	if strings.EqualFold(strings.TrimSpace(s), "json") {
		return JSON
	}
	return Text
}

// Switch is a handler writing text or JSON, chosen per line from a format that can change at any time.
type Switch struct {
	format *atomic.Int32
	text   slog.Handler
	json   slog.Handler
}

// NewSwitch writes to w at level (a *slog.LevelVar makes it live too).
func NewSwitch(w io.Writer, level slog.Leveler, f Format) *Switch {
	opts := &slog.HandlerOptions{Level: level}
	s := &Switch{format: new(atomic.Int32), text: slog.NewTextHandler(w, opts), json: slog.NewJSONHandler(w, opts)}
	s.format.Store(int32(f))
	return s
}

// SetFormat changes the format of the following lines (of every handler derived from s).
func (s *Switch) SetFormat(f Format) { s.format.Store(int32(f)) }

func (s *Switch) pick() slog.Handler {
	if Format(s.format.Load()) == JSON {
		return s.json
	}
	return s.text
}

func (s *Switch) Enabled(ctx context.Context, l slog.Level) bool { return s.pick().Enabled(ctx, l) }

func (s *Switch) Handle(ctx context.Context, r slog.Record) error { return s.pick().Handle(ctx, r) }

func (s *Switch) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Switch{format: s.format, text: s.text.WithAttrs(attrs), json: s.json.WithAttrs(attrs)}
}

func (s *Switch) WithGroup(name string) slog.Handler {
	return &Switch{format: s.format, text: s.text.WithGroup(name), json: s.json.WithGroup(name)}
}

// Guard wraps a handler: it adds request_id from the context and scrubs secrets from the message and
// every string, error and stringer attribute.
type Guard struct {
	next  slog.Handler
	scrub *secret.Scrubber
}

// NewGuard wraps next; scrub may be nil (key and token shapes are still caught).
func NewGuard(next slog.Handler, scrub *secret.Scrubber) *Guard {
	return &Guard{next: next, scrub: scrub}
}

func (g *Guard) Enabled(ctx context.Context, l slog.Level) bool { return g.next.Enabled(ctx, l) }

func (g *Guard) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, g.scrub.String(r.Message), r.PC)
	if id := reqlog.IDFrom(ctx); id != "" {
		out.AddAttrs(slog.String("request_id", id))
	}
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(g.clean(a))
		return true
	})
	return g.next.Handle(ctx, out)
}

func (g *Guard) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = g.clean(a)
	}
	return &Guard{next: g.next.WithAttrs(clean), scrub: g.scrub}
}

func (g *Guard) WithGroup(name string) slog.Handler {
	return &Guard{next: g.next.WithGroup(name), scrub: g.scrub}
}

func (g *Guard) clean(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, g.scrub.String(v.String()))
	case slog.KindGroup:
		attrs := v.Group()
		clean := make([]slog.Attr, len(attrs))
		for i, x := range attrs {
			clean[i] = g.clean(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(clean...)}
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, g.scrub.String(x.Error()))
		case interface{ String() string }:
			return slog.String(a.Key, g.scrub.String(x.String()))
		case []byte:
			return slog.String(a.Key, g.scrub.String(string(x)))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
