package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/rpcstatus"
)

// maxCapturedError bounds the error answer kept for the log: its message is near the start.
const maxCapturedError = 4 << 10

// errorCapture keeps the start of an error answer, so that a request gemgate refused itself (bad JSON,
// no usable key, ...) is logged with the reason the client was given. Successful answers pass through
// untouched.
type errorCapture struct {
	statusRecorder
	body []byte
}

func (c *errorCapture) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.status >= 400 && len(c.body) < maxCapturedError {
		c.body = append(c.body, b[:min(len(b), maxCapturedError-len(c.body))]...)
	}
	return c.statusRecorder.Write(b)
}

// noteRefusal records the message of an error answer that no upstream attempt explains, and reports
// whether gemgate refused the request itself (an error answered without asking Google).
func noteRefusal(ctx context.Context, c *errorCapture) (refused bool) {
	if c.status < 400 || len(c.body) == 0 {
		reqlog.Update(ctx, func(e *reqlog.Entry) { refused = c.status >= 400 && e.Rejection != "" && len(e.Attempts) == 0 })
		return refused
	}
	msg := strings.TrimSpace(string(c.body))
	if p := rpcstatus.Parse(c.body); p.OK && p.Message != "" {
		msg = p.Message
	}
	reqlog.Update(ctx, func(e *reqlog.Entry) {
		if e.Rejection == "" && len(e.Attempts) == 0 {
			e.Rejection = msg
		}
		refused = e.Rejection != "" && len(e.Attempts) == 0
	})
	return refused
}
