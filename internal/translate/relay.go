package translate

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/upstream"
)

// Item is one upstream answer event, or the error that ended the answer.
type Item struct {
	Resp *gemini.GenerateContentResponse
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

// errNotAnAnswer is a 200 answer that could not be decoded.
var errNotAnAnswer = errors.New(NotAnAnswer)

// WholeItems runs a non-streamed call in the background and hands its answer over as the only item,
// for fake streaming (FAKE_STREAM_ENABLED) where Google's streaming is unreliable.
func WholeItems(ctx context.Context, exec *upstream.Executor, call upstream.Call) <-chan Item {
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
		return Item{Err: errNotAnAnswer}
	}
	return Item{Resp: answer}
}

// Sink writes one API's stream.
type Sink interface {
	Answer(resp *gemini.GenerateContentResponse) bool // false: the client is gone
	Beat() bool                                       // a keep-alive; false: the client is gone
	Fail(err error)                                   // the answer broke off
	End()                                             // the answer is complete
}

// Relay feeds items to sink until the answer ends, with a keep-alive every heartbeat while none comes.
func Relay(ctx context.Context, items <-chan Item, heartbeat time.Duration, sink Sink) {
	tick := time.NewTicker(max(heartbeat, time.Second))
	defer tick.Stop()
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
			case !sink.Answer(it.Resp):
				return
			}
		case <-tick.C:
			if !sink.Beat() {
				return
			}
		case <-ctx.Done():
			return
		}
	}
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
	case errors.Is(err, errNotAnAnswer):
		return Failure{Status: http.StatusBadGateway, Message: NotAnAnswer}
	}
	return Failure{Status: http.StatusBadGateway, Message: StreamBreak(err)}
}
