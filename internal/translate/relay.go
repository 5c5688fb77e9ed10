package translate

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/pace"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/upstream"
)

// Item is one upstream answer event, or the error that ended the answer.
type Item struct {
	Resp *gemini.GenerateContentResponse
	Raw  []byte // the event as Google sent it, for the native API, which passes it on unchanged
	Err  error
}

// StreamItems reads an upstream SSE stream in the background, so the writer can send keep-alives
// while Gemini thinks. The channel closes after the last event, or after an item with the error that
// broke the stream (ErrNoEvents for a stream without any event). The caller closes body, which also
// ends the reader when the client leaves first.
func StreamItems(ctx context.Context, body io.Reader) <-chan Item {
	items := make(chan Item)
	go func() {
		defer close(items)
		events := NewSSEReader(body, 0)
		for n := 0; ; {
			data, err := events.Next()
			if errors.Is(err, io.EOF) && n == 0 {
				err = ErrNoEvents
			}
			if errors.Is(err, io.EOF) {
				return
			}
			var it Item
			if err != nil {
				it.Err = err
			} else if it.Resp, it.Err = DecodeEvent(data); it.Resp == nil && it.Err == nil {
				continue
			}
			if it.Resp != nil {
				it.Raw = bytes.Clone(data)
			}
			n++
			select {
			case items <- it:
			case <-ctx.Done():
				return
			}
			if it.Err != nil {
				return
			}
		}
	}()
	return items
}

// Refused is Google's refusal of a request (a 4xx answer), which the client should see as it is.
type Refused struct{ Resp *upstream.Response }

func (r *Refused) Error() string { return GoogleMessage(r.Resp.Body) }

// ErrNotAnAnswer is a 200 answer that could not be decoded.
var ErrNotAnAnswer = errors.New(NotAnAnswer)

// wholeItems runs a non-streamed call in the background and hands its answer over as the only item,
// for fake streaming (FAKE_STREAM_ENABLED) where Google's streaming is unreliable.
func wholeItems(ctx context.Context, exec *upstream.Executor, call upstream.Call) <-chan Item {
	items := make(chan Item, 1)
	go func() {
		defer close(items)
		items <- Whole(exec.Do(ctx, call))
	}()
	return items
}

// Whole turns the outcome of a non-streamed call into an item.
func Whole(resp *upstream.Response, err error) Item {
	switch {
	case err != nil:
		return Item{Err: err}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return Item{Err: &Refused{Resp: resp}}
	}
	answer, err := DecodeAnswer(resp.Body)
	if err != nil {
		return Item{Err: ErrNotAnAnswer}
	}
	return Item{Resp: answer, Raw: resp.Body}
}

// Complete makes a non-streamed call and records its usage. Empty answers are retried on other keys
// by the executor.
func Complete(ctx context.Context, exec *upstream.Executor, call upstream.Call) (*gemini.GenerateContentResponse, error) {
	var read readAnswer
	call.Empty = read.empty
	resp, err := exec.Do(ctx, call)
	if err == nil && resp.StatusCode == 200 {
		if answer := read.of(resp.Body); answer != nil {
			RecordUsage(ctx, answer.UsageMetadata)
			return answer, nil
		}
	}
	it := Whole(resp, err)
	if it.Err != nil {
		return nil, it.Err
	}
	RecordUsage(ctx, it.Resp.UsageMetadata)
	return it.Resp, nil
}

// readAnswer is the executor's empty-answer check that keeps what it decoded, so that the answer is
// read once. A hedged call checks two answers at once: the one kept is the one the executor chose
// only when its body is the same.
type readAnswer struct {
	mu     sync.Mutex
	body   []byte
	answer *gemini.GenerateContentResponse
}

func (r *readAnswer) empty(body []byte, valid bool) bool {
	scan := scanAnswer
	if valid {
		scan = scanValidAnswer // the executor validated it: not again
	}
	answer, empty, ok := scan(body)
	if !ok {
		return gemini.IsEmptyAnswer(body)
	}
	r.mu.Lock()
	r.body, r.answer = body, answer
	r.mu.Unlock()
	return empty
}

// of is the answer decoded from body by empty, or nil.
func (r *readAnswer) of(body []byte) *gemini.GenerateContentResponse {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(body) == 0 || len(r.body) != len(body) || &r.body[0] != &body[0] {
		return nil
	}
	return r.answer
}

// Sink writes one API's stream. Until it writes its first byte, Fail can still answer with an HTTP
// status.
type Sink interface {
	Open() bool       // Gemini's stream is open (not called when faking); false: the client is gone
	Answer(Item) bool // one event, or one paced piece of one; false: the client is gone
	Beat() bool       // a keep-alive; false: the client is gone
	Fail(err error)   // the call failed, or the answer broke off
	End()             // the answer is complete
}

// StreamSettings are what the settings ask of every streamed answer, whatever the API.
type StreamSettings struct {
	Fake      bool          // FAKE_STREAM_ENABLED: one non-streamed call instead of Gemini's stream
	Heartbeat time.Duration // between keep-alives while no event comes; 0 sends none
	Pace      pace.Pacer    // STREAM_OPTIMIZER_*
}

// StreamSettingsOf reads the stream settings.
func StreamSettingsOf(snap *config.Snapshot) StreamSettings {
	return StreamSettings{
		Fake:      config.FakeStreamEnabled.Get(snap),
		Heartbeat: time.Duration(max(config.FakeStreamEmptyDataIntervalSeconds.Get(snap), 1)) * time.Second,
		Pace:      pace.New(snap),
	}
}

// Stream serves a streamed answer: call (a generateContent call) goes out as Gemini's stream, or when
// faking as one non-streamed call, and what comes back is relayed to sink. The executor retries only
// before the first byte; a failure after that ends the stream through sink.Fail, because retrying would
// repeat what the client already has.
func Stream(ctx context.Context, exec *upstream.Executor, call upstream.Call, s StreamSettings, sink Sink) {
	var last *gemini.UsageMetadata
	defer func() { RecordUsage(ctx, last) }()
	record := func(u *gemini.UsageMetadata) { last = u }
	if s.Fake {
		call.Stream, call.Empty = false, gemini.EmptyAnswer
		relay(ctx, wholeItems(ctx, exec, call), s, sink, record)
		return
	}
	call.Path = strings.TrimSuffix(call.Path, ":generateContent") + ":streamGenerateContent"
	call.Query = maps.Clone(call.Query)
	if call.Query == nil {
		call.Query = url.Values{}
	}
	call.Query.Set("alt", "sse")
	call.Stream = true
	resp, err := exec.Do(ctx, call)
	if err == nil && resp.Stream == nil {
		err = &Refused{Resp: resp}
	}
	if err != nil {
		sink.Fail(err)
		return
	}
	// Closing the body cancels the upstream call when the client goes away first.
	defer resp.Stream.Close()
	if !sink.Open() {
		return
	}
	relay(ctx, StreamItems(ctx, resp.Stream), s, sink, record)
}

// Relay feeds items to sink until the answer ends, as Stream does.
func Relay(ctx context.Context, items <-chan Item, s StreamSettings, sink Sink) {
	relay(ctx, items, s, sink, func(*gemini.UsageMetadata) {})
}

func relay(ctx context.Context, items <-chan Item, s StreamSettings, sink Sink, usage func(*gemini.UsageMetadata)) {
	var beat <-chan time.Time
	if s.Heartbeat > 0 {
		tick := time.NewTicker(s.Heartbeat)
		defer tick.Stop()
		beat = tick.C
	}
	for {
		select {
		case it, ok := <-items:
			switch {
			case !ok:
				sink.End()
				return
			case it.Err != nil:
				if ctx.Err() == nil {
					sink.Fail(it.Err)
				}
				return
			}
			if it.Resp.UsageMetadata != nil {
				usage(it.Resp.UsageMetadata)
			}
			if !answer(ctx, s.Pace, it, sink) {
				return
			}
		case <-beat:
			if !sink.Beat() {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// answer hands one event to sink, cut into paced pieces when the optimizer is on, so every API
// paces alike.
func answer(ctx context.Context, p pace.Pacer, it Item, sink Sink) bool {
	pieces, chars := p.Cut(it.Raw)
	if pieces == nil {
		return sink.Answer(it)
	}
	for i, raw := range pieces {
		if i > 0 && !pace.Sleep(ctx, p.Delay(chars)) {
			return false
		}
		resp, _ := DecodeEvent(raw) // a piece is what Cut just encoded
		if resp != nil && !sink.Answer(Item{Resp: resp, Raw: raw}) {
			return false
		}
	}
	return true
}

// Failure is why a call produced no answer, in terms every API's error shape can carry.
type Failure struct {
	Status     int    // the HTTP status to answer with
	Message    string // for the client
	Code       string // Google's status name (RESOURCE_EXHAUSTED...), when there is one
	RetryAfter time.Duration
	Final      bool // retrying cannot help (upstream.Error.Final)
	Canceled   bool // the client went away: nothing to send
}

// Describe explains err: an upstream error (key trouble that survived every retry stays gemgate's
// problem, never the client's credentials), Google's refusal, a broken stream or an error event.
func Describe(err error) Failure {
	var ue *upstream.Error
	var refused *Refused
	var uf *UpstreamFailure
	switch {
	case errors.As(err, &ue):
		status := ue.StatusCode
		if status == http.StatusUnauthorized || status == http.StatusForbidden {
			status = http.StatusBadGateway
		}
		return Failure{Status: status, Message: ue.Status.Message, Code: ue.Status.Status, RetryAfter: ue.RetryAfter, Final: ue.Final, Canceled: ue.Canceled}
	case errors.As(err, &refused):
		p := rpcstatus.Parse(refused.Resp.Body)
		msg := p.Message
		if !p.OK {
			msg = string(refused.Resp.Body)
		}
		if refused.Resp.StatusCode == http.StatusNotFound {
			msg = GoogleMessage(refused.Resp.Body)
		}
		return Failure{Status: refused.Resp.StatusCode, Message: msg, Code: p.Status.Status}
	case errors.As(err, &uf):
		status := uf.Status.Code
		if status < 400 || status > 599 {
			status = http.StatusBadGateway
		}
		return Failure{Status: status, Message: uf.Status.Message, Code: uf.Status.Status}
	case errors.Is(err, ErrNotAnAnswer):
		return Failure{Status: http.StatusBadGateway, Message: NotAnAnswer}
	}
	return Failure{Status: http.StatusBadGateway, Message: StreamBreak(err)}
}
