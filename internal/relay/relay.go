// Package relay is a thin forwarding proxy to the Gemini API. Run on another host and named in the
// gateway's BASE_URL, it makes Google see that host's address instead of the gateway's; the reference's
// FAQ asked users to write one in Deno for this. Requests and answers pass through unchanged and
// unbuffered, so streams arrive event by event; the relay only adds CORS, an optional shared secret
// and a local /health.
package relay

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/secret"
)

// DefaultTarget is Google's Gemini API host.
const DefaultTarget = "https://generativelanguage.googleapis.com"

// SecretHeader and SecretParam carry the shared secret; both are removed before forwarding, so the
// secret never reaches Google.
const (
	SecretHeader = "X-Relay-Secret"
	SecretParam  = "relay_secret"
)

// clientAddressHeaders name the caller's address. A platform in front of the relay (Render, Fly,
// Cloudflare) adds them; forwarding them would tell Google the very address the relay is there to hide.
// ReverseProxy already drops Forwarded and X-Forwarded-* when Rewrite is used.
var clientAddressHeaders = []string{"X-Real-Ip", "Cf-Connecting-Ip", "True-Client-Ip", "Fly-Client-Ip", "Via"}

// Options configure a relay.
type Options struct {
	// Target is where requests go; the request's path is appended to Target's path. Nil means DefaultTarget.
	Target *url.URL
	// Secret, when set, must come with every request (header X-Relay-Secret or query relay_secret).
	Secret string
	// Transport reaches the target; nil means a clone of http.DefaultTransport (which honours
	// HTTPS_PROXY).
	Transport http.RoundTripper
	Logger    *slog.Logger
}

// Relay is the forwarding handler.
type Relay struct {
	proxy  *httputil.ReverseProxy
	secret string
	log    *slog.Logger
	scrub  *secret.Scrubber
}

// ParseTarget checks a --target value: an absolute http(s) URL without query or fragment.
func ParseTarget(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("target %q: want an absolute http:// or https:// URL", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("target %q: must not carry a query, fragment or user info", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// New builds a relay.
func New(o Options) *Relay {
	target := o.Target
	if target == nil {
		target, _ = url.Parse(DefaultTarget)
	}
	transport := o.Transport
	if transport == nil {
		transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	// Keys are found by their shape: the relay is never told which keys pass through it.
	r := &Relay{secret: o.Secret, log: logger, scrub: secret.NewScrubber()}
	r.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.RawQuery = dropParam(pr.Out.URL.RawQuery, SecretParam)
			pr.Out.Header.Del(SecretHeader)
			for _, h := range clientAddressHeaders {
				pr.Out.Header.Del(h)
			}
		},
		Transport: transport,
		// Every read from the target is written and flushed at once: streams must not wait in a buffer.
		FlushInterval:  -1,
		ModifyResponse: func(resp *http.Response) error { setCORS(resp.Header); return nil },
		ErrorHandler:   r.upstreamError,
		// The proxy's own messages can quote the request URL, and with it a ?key=.
		ErrorLog: log.New(scrubbedLog{r}, "", 0),
	}
	return r
}

// ServeHTTP answers preflights and /health itself, checks the secret, and forwards everything else.
func (r *Relay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	r.serve(rec, req)
	// The query is left out of the log line: it may hold ?key=.
	r.log.Info("relay", "method", req.Method, "path", req.URL.Path, "status", rec.code(), "ms", time.Since(start).Milliseconds())
}

func (r *Relay) serve(w http.ResponseWriter, req *http.Request) {
	switch {
	case req.Method == http.MethodOptions:
		preflight(w, req)
		return
	case req.URL.Path == "/health" && (req.Method == http.MethodGet || req.Method == http.MethodHead):
		// Answered here so that a container health check works without a secret or Google.
		setCORS(w.Header())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"status":"healthy","mode":"relay"}`))
		return
	}
	if r.secret != "" && !secret.Equal(presentedSecret(req), r.secret) {
		setCORS(w.Header())
		rpcstatus.Write(w, http.StatusUnauthorized, "relay: missing or wrong secret; send it as the "+SecretHeader+" header or the "+SecretParam+" query parameter")
		return
	}
	r.proxy.ServeHTTP(w, req)
}

func presentedSecret(req *http.Request) string {
	if s := req.Header.Get(SecretHeader); s != "" {
		return s
	}
	return req.URL.Query().Get(SecretParam)
}

// upstreamError answers 502 in Google's error format, unless the client is already gone.
func (r *Relay) upstreamError(w http.ResponseWriter, req *http.Request, err error) {
	if errors.Is(err, context.Canceled) && req.Context().Err() != nil {
		return
	}
	msg := r.describe(err)
	r.log.Warn("relay: forwarding failed", "method", req.Method, "path", req.URL.Path, "err", msg)
	setCORS(w.Header())
	rpcstatus.Write(w, http.StatusBadGateway, "relay: the target did not answer: "+msg)
}

// describe drops the URL from a transport error (it may hold ?key=) and masks any key left.
func (r *Relay) describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return r.scrub.String(err.Error())
}

type scrubbedLog struct{ r *Relay }

func (l scrubbedLog) Write(p []byte) (int, error) {
	l.r.log.Warn(l.r.scrub.String(strings.TrimSpace(string(p))))
	return len(p), nil
}

// setCORS lets browser apps call the relay directly; the target's own CORS headers are replaced so
// that no header appears twice.
func setCORS(h http.Header) {
	for name := range h {
		if strings.HasPrefix(name, "Access-Control-") {
			delete(h, name)
		}
	}
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "*")
}

func preflight(w http.ResponseWriter, req *http.Request) {
	h := w.Header()
	setCORS(h)
	h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
	// Echoing the requested headers allows x-goog-api-key, X-Relay-Secret and whatever an SDK adds.
	if asked := req.Header.Get("Access-Control-Request-Headers"); asked != "" {
		h.Set("Access-Control-Allow-Headers", asked)
	} else {
		h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, x-goog-api-key, "+SecretHeader)
	}
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// dropParam removes one query parameter textually, so the rest of the query reaches the target exactly
// as the client encoded it.
func dropParam(rawQuery, name string) string {
	if rawQuery == "" {
		return rawQuery
	}
	parts := strings.Split(rawQuery, "&")
	kept := parts[:0]
	for _, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if uk, err := url.QueryUnescape(k); err == nil && uk == name {
			continue
		}
		kept = append(kept, p)
	}
	return strings.Join(kept, "&")
}

// statusRecorder notes the final status for the log line. Unwrap keeps http.ResponseController (flush,
// hijack for WebSocket upgrades) reaching the real writer.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if code >= 200 && s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) code() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}
