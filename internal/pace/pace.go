// Package pace is the stream optimizer (reference §9.7, STREAM_OPTIMIZER_*): it re-cuts streamed text
// into small pieces sent with a short pause, for a typewriter effect. It cuts Gemini's own events, so
// every streaming API (OpenAI chat and Responses, Anthropic, native Gemini) paces alike.
package pace

import (
	"context"
	"math"
	"time"
	"unicode/utf8"

	"github.com/gemgate/gemgate/internal/config"
)

// Pacer holds the optimizer's parameters. They come from the request's settings snapshot, so a change
// in the admin panel applies to the next request (the reference read them once at start).
type Pacer struct {
	Enabled            bool
	MinDelay, MaxDelay time.Duration
	Short, Long, Size  int
}

// New reads the STREAM_OPTIMIZER_* settings.
func New(snap *config.Snapshot) Pacer {
	return Pacer{
		Enabled:  config.StreamOptimizerEnabled.Get(snap),
		MinDelay: seconds(config.StreamMinDelay.Get(snap)),
		MaxDelay: seconds(config.StreamMaxDelay.Get(snap)),
		Short:    max(config.StreamShortTextThreshold.Get(snap), 1),
		Long:     max(config.StreamLongTextThreshold.Get(snap), 1),
		Size:     max(config.StreamChunkSize.Get(snap), 1),
	}
}

func seconds(s float64) time.Duration {
	if s <= 0 || math.IsNaN(s) {
		return 0
	}
	return time.Duration(min(s, 10) * float64(time.Second))
}

// Delay is the pause between pieces of a text of n characters: the longest for short texts, the
// shortest for long ones, interpolated logarithmically in between.
func (p Pacer) Delay(n int) time.Duration {
	switch {
	case n <= p.Short:
		return p.MaxDelay
	case n >= p.Long || p.Long <= p.Short:
		return p.MinDelay
	}
	frac := math.Log(float64(n)/float64(p.Short)) / math.Log(float64(p.Long)/float64(p.Short))
	return p.MaxDelay - time.Duration(frac*float64(p.MaxDelay-p.MinDelay))
}

// Pieces cuts text into characters, or into Size-character pieces when it is long.
func (p Pacer) Pieces(text string) []string {
	n := utf8.RuneCountInString(text)
	step := 1
	if n >= p.Long {
		step = max(p.Size, 1)
	}
	out := make([]string, 0, n/step+1)
	for len(text) > 0 {
		end, count := 0, 0
		for end < len(text) && count < step {
			_, w := utf8.DecodeRuneInString(text[end:])
			end += w
			count++
		}
		out = append(out, text[:end])
		text = text[end:]
	}
	return out
}

// Sleep pauses for d; false means ctx ended first (the client left).
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
