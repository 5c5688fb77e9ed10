package openai

import (
	"errors"
	"net/http"

	"github.com/gemgate/gemgate/internal/translate"
	"github.com/gemgate/gemgate/internal/upstream"
)

// chatSink writes OpenAI's chat event stream: the role chunk, one chunk per Gemini event, the finish
// reasons, the usage chunk when asked for, then [DONE].
type chatSink struct {
	w            http.ResponseWriter
	out          *translate.SSEWriter
	st           *streamTranslator
	includeUsage bool
	opened       bool
}

func newChatSink(w http.ResponseWriter, o *answerOptions, includeUsage bool) *chatSink {
	return &chatSink{w: w, out: translate.NewSSEWriter(w), st: newStreamTranslator(o), includeUsage: includeUsage}
}

// Open sends the role chunk, as OpenAI begins its streams.
func (s *chatSink) Open() bool {
	if s.opened {
		return true
	}
	s.opened = true
	return s.out.Event("", s.st.start())
}

func (s *chatSink) Answer(it translate.Item) bool {
	if !s.Open() {
		return false
	}
	chunk := s.st.response(it.Resp)
	return chunk == nil || s.out.Event("", chunk)
}

// Beat is an SSE comment, which every OpenAI client skips.
func (s *chatSink) Beat() bool { return s.out.Comment("keep-alive") }

// End sends the end of an answer: finish reasons, the usage chunk when asked for, [DONE].
func (s *chatSink) End() {
	if !s.Open() {
		return
	}
	for _, c := range s.st.finish() {
		if !s.out.Event("", c) {
			return
		}
	}
	if s.includeUsage && !s.out.Event("", s.st.usageChunk()) {
		return
	}
	s.out.Data([]byte("[DONE]"))
}

// Fail answers a failed call with its HTTP status while nothing is sent; once the stream has started,
// with an error event in OpenAI's shape, then [DONE], so a client can tell a cut answer from a complete
// one. Nothing already sent is repeated.
func (s *chatSink) Fail(err error) {
	if !s.out.Started() {
		writeCallFailure(s.w, err)
		return
	}
	if s.out.Event("", struct {
		Error ErrorBody `json:"error"`
	}{streamFailure(err)}) {
		s.out.Data([]byte("[DONE]"))
	}
}

// writeCallFailure answers a call that failed before anything was sent: with Google's status and
// message and the retry advice, an unknown model as OpenAI's model_not_found (which SDKs and clients
// recognise), an answer gemgate could not read as upstream_error.
func writeCallFailure(w http.ResponseWriter, err error) {
	f := translate.Describe(err)
	switch {
	case f.Canceled:
		return
	case f.Status == http.StatusNotFound:
		WriteError(w, http.StatusNotFound, f.Message, TypeNotFound, "model_not_found", "model")
		return
	}
	upstream.SetRetryHeaders(w.Header(), f.RetryAfter, f.Final)
	typ, code := typeFor(f.Status), f.Code
	switch {
	case f.Status == http.StatusTooManyRequests && upstream.GiveUp(f.RetryAfter, f.Final):
		typ, code = quotaType, quotaType
	case code == "" && f.Status == http.StatusBadGateway && !errors.As(err, new(*upstream.Error)):
		typ, code = TypeUpstream, "upstream_error"
	}
	WriteError(w, f.Status, f.Message, typ, code, "")
}

// streamFailure is the error event that ends a stream which broke after it started.
func streamFailure(err error) ErrorBody {
	var refused *translate.Refused
	var ue *upstream.Error
	var uf *translate.UpstreamFailure
	code := "upstream_error"
	switch {
	case errors.As(err, &refused):
		return ErrorBody{Message: translate.GoogleMessage(refused.Resp.Body), Type: typeFor(refused.Resp.StatusCode)}
	case errors.As(err, &ue):
		e := ErrorBody{Message: ue.Status.Message, Type: typeFor(ue.StatusCode)}
		if c := codeFor(ue.Status); c != "" {
			e.Code = &c
		}
		return e
	case errors.As(err, &uf):
		return failureBody(uf)
	case errors.Is(err, translate.ErrNotAnAnswer):
		return ErrorBody{Message: translate.NotAnAnswer, Type: TypeUpstream, Code: &code}
	}
	code = "upstream_stream_broken"
	return ErrorBody{Message: translate.StreamBreak(err), Type: TypeServer, Code: &code}
}
