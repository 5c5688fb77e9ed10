package live

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/resources"
	"github.com/gemgate/gemgate/internal/secret"
)

// handleTTL is how long Google keeps a session resumable after its connection ends (two hours).
const handleTTL = 2 * time.Hour

// tokenRecheck is how often an open session checks that its client token is still valid: an admin who
// disables, expires or removes a token ends its sessions within this time, not after LIVE_MAX_SESSION_MINUTES.
const tokenRecheck = 5 * time.Second

// recordTimeout bounds the database write of a resumption handle, which holds up the frame carrying it
// (the client must not be able to resume before gemgate knows where the session lives).
const recordTimeout = 3 * time.Second

type side int

const (
	fromClient side = iota
	fromGoogle
)

// ending is why a session ended: a side's read or write failure (a close frame, a broken connection)
// or one of gemgate's bounds.
type ending struct {
	side   side
	err    error
	code   websocket.StatusCode // gemgate's own close (a bound, a shutdown); 0 when a side ended it
	reason string
}

// relay copies frames both ways, each as it arrives and with its type, until either side ends, a
// bound is reached (LIVE_IDLE_TIMEOUT with no frame either way, LIVE_MAX_SESSION_MINUTES) or gemgate
// shuts down (ctx ends); then it closes the other side too. first is Google's first answer
// (setupComplete).
func relay(ctx context.Context, s *session, client, up *websocket.Conn, first []byte) {
	// The pumps read with a context of their own: cancelling a read would drop a connection without
	// its close frame, and each side is told why its session ended.
	pctx, stopPumps := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPumps()
	t := &tally{s: s, ctx: ctx}
	defer t.report()
	t.server(first)
	if err := client.Write(pctx, websocket.MessageText, first); err != nil {
		closeBoth(client, up, ending{side: fromClient, err: err}, "")
		return
	}
	activity := make(chan struct{}, 1)
	ended := make(chan ending, 2)
	var pumps sync.WaitGroup
	pumps.Go(func() { pump(pctx, up, client, fromGoogle, t.server, activity, ended) })
	pumps.Go(func() { pump(pctx, client, up, fromClient, nil, activity, ended) })
	end := s.watch(ctx, activity, ended)
	closeBoth(client, up, end, s.key.Value())
	stopPumps()
	pumps.Wait()
}

// watch waits for the session's end, restarting the idle bound at every frame.
func (s *session) watch(shutdown context.Context, activity <-chan struct{}, ended <-chan ending) ending {
	idleFor := s.idle()
	idle := time.NewTimer(idleFor)
	defer idle.Stop()
	maxFor := time.Duration(config.LiveMaxSessionMinutes.Get(s.snap)) * time.Minute
	limit := time.NewTimer(maxFor)
	defer limit.Stop()
	recheck := time.NewTicker(tokenRecheck)
	defer recheck.Stop()
	for {
		select {
		case <-recheck.C:
			if !s.tokenValid(shutdown) {
				return ending{code: websocket.StatusPolicyViolation, reason: "Closed by gemgate: this session's gemgate token is no longer valid (disabled, expired or removed)."}
			}
		case <-activity:
			idle.Reset(idleFor)
		case e := <-ended:
			return e
		case <-idle.C:
			return ending{code: websocket.StatusGoingAway, reason: fmt.Sprintf("Closed by gemgate: no frame for %s (%s).", idleFor, config.LiveIdleTimeout.Name())}
		case <-limit.C:
			return ending{code: websocket.StatusGoingAway, reason: fmt.Sprintf("Closed by gemgate after %s (%s); resume the session with its handle.", maxFor, config.LiveMaxSessionMinutes.Name())}
		case <-shutdown.Done():
			return ending{code: websocket.StatusServiceRestart, reason: "gemgate is shutting down; resume the session with its handle."}
		}
	}
}

// tokenValid reports whether the client token the session runs under (the owner's, for an ephemeral
// token) is still one gemgate accepts.
func (s *session) tokenValid(ctx context.Context) bool {
	g := auth.GrantFrom(ctx)
	if g == nil || s.h.Tokens == nil {
		return true
	}
	return s.h.Tokens.Resolve(g.Token()) != nil
}

// pump relays frames from one side to the other; the first failure on either connection ends it.
func pump(ctx context.Context, from, to *websocket.Conn, src side, inspect func([]byte), activity chan<- struct{}, ended chan<- ending) {
	for {
		typ, data, err := from.Read(ctx)
		if err != nil {
			ended <- ending{side: src, err: err}
			return
		}
		if inspect != nil {
			inspect(data)
		}
		if err := to.Write(ctx, typ, data); err != nil {
			ended <- ending{side: 1 - src, err: err}
			return
		}
		select {
		case activity <- struct{}{}:
		default:
		}
	}
}

// closeBoth closes the two connections after end, concurrently (each close waits for its peer's
// answer): a side that closed is answered by its library; the other side is told why.
func closeBoth(client, up *websocket.Conn, end ending, key string) {
	clientCode, clientReason := end.code, end.reason
	upCode, upReason := end.code, end.reason
	var ce websocket.CloseError
	closed := errors.As(end.err, &ce)
	switch {
	case end.code != 0:
	case end.side == fromGoogle && closed:
		clientCode, clientReason = ce.Code, closeReason(redactReason(ce.Reason, key))
	case end.side == fromGoogle:
		clientCode, clientReason = lostCode(end.err), "The connection to Google was lost."
	case closed:
		upCode, upReason = websocket.StatusNormalClosure, ""
	default:
		upCode, upReason = websocket.StatusNormalClosure, "client disconnected"
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = client.Close(clientCode, clientReason) })
	wg.Go(func() { _ = up.Close(upCode, upReason) })
	wg.Wait()
}

// lostCode tells a frame over LIVE_MAX_FRAME_KB (the library closes that side with 1009) from a
// broken connection.
func lostCode(err error) websocket.StatusCode {
	if err != nil && strings.Contains(err.Error(), "read limited at") {
		return websocket.StatusMessageTooBig
	}
	return websocket.StatusInternalError
}

// tally follows what a session's frames say gemgate needs: its token usage (for the request log) and
// its resumption handles (recorded under the session's key and token).
type tally struct {
	s     *session
	ctx   context.Context
	mu    sync.Mutex
	usage reqlog.Usage
}

// usageFrame is the part of a server message gemgate reads. Live usage is per turn, so a session's
// usage is the sum over its turns.
type usageFrame struct {
	UsageMetadata *struct {
		PromptTokenCount        int `json:"promptTokenCount"`
		ResponseTokenCount      int `json:"responseTokenCount"`
		CandidatesTokenCount    int `json:"candidatesTokenCount"`
		ThoughtsTokenCount      int `json:"thoughtsTokenCount"`
		CachedContentTokenCount int `json:"cachedContentTokenCount"`
	} `json:"usageMetadata"`
	SessionResumptionUpdate *struct {
		NewHandle string `json:"newHandle"`
	} `json:"sessionResumptionUpdate"`
}

var (
	markUsage  = []byte(`"usageMetadata"`)
	markHandle = []byte(`"newHandle"`)
)

// server reads a server message; most carry audio or text only and are not parsed at all.
func (t *tally) server(msg []byte) {
	if !bytes.Contains(msg, markUsage) && !bytes.Contains(msg, markHandle) {
		return
	}
	var f usageFrame
	if json.Unmarshal(msg, &f) != nil {
		return
	}
	if u := f.UsageMetadata; u != nil {
		t.mu.Lock()
		t.usage.Prompt += u.PromptTokenCount
		t.usage.Output += u.ResponseTokenCount + u.CandidatesTokenCount
		t.usage.Thoughts += u.ThoughtsTokenCount
		t.usage.Cached += u.CachedContentTokenCount
		t.mu.Unlock()
	}
	if r := f.SessionResumptionUpdate; r != nil && r.NewHandle != "" {
		t.remember(r.NewHandle)
	}
}

// remember records a resumption handle under the session's key and token, for its resumption.
func (t *tally) remember(handle string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), recordTimeout)
	defer cancel()
	_ = t.s.h.Resources.Record(ctx, resources.Owner{Name: sessionKind + digest(handle), KeyID: t.s.key.ID(),
		TokenID: t.s.owner, Expires: time.Now().Add(handleTTL)})
}

// report hands the session's usage to the request log.
func (t *tally) report() {
	t.mu.Lock()
	u := t.usage
	t.mu.Unlock()
	reqlog.SetUsage(t.ctx, u)
}

// redactReason keeps the key out of a reason Google wrote.
func redactReason(reason, key string) string { return string(secret.Redact([]byte(reason), key)) }
