package api

import (
	"net/http"

	"github.com/gemgate/gemgate/internal/anthropic"
	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/live"
	"github.com/gemgate/gemgate/internal/openai"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/upstream"
)

// frontDoor puts every API route behind auth's front door: the token is recognised there once, and a
// refusal is written here in the called API's own error shape. The Live API's constrained WebSocket
// is the one API route whose credential is not a client token (an ephemeral token it checks itself).
func frontDoor(tokens *auth.Tokens, next http.Handler) http.Handler {
	return tokens.Door(func(r *http.Request) bool {
		return routeKind(r.URL.Path) != "" && !live.SelfAuthenticated(r.URL.Path)
	}, refuse, next)
}

// refuse answers a refused credential the way the called API's clients expect: Google's envelope
// (401 missing, 403 wrong, as Google answers keys), OpenAI's and Anthropic's error objects (401).
// Every refusal also says not to retry: the same credential cannot succeed, and Claude Code retries a
// bare 401 ten times.
func refuse(w http.ResponseWriter, r *http.Request, why auth.Refusal) {
	upstream.Refused(w.Header())
	kind := routeKind(r.URL.Path)
	switch {
	case kind == "anthropic" || (kind == "openai" && anthropic.IsAnthropic(r)):
		msg := [...]string{
			"Missing gemgate token: send one of ALLOWED_TOKENS as x-api-key or Authorization: Bearer.",
			"invalid x-api-key: it is not one of this gateway's ALLOWED_TOKENS.",
			auth.ErrAmbiguous.Error() + ".",
		}[why]
		anthropic.Refuse(w, http.StatusUnauthorized, msg)
	case kind == "openai" || kind == "openai-compat" || kind == "openai-responses":
		msg, code := [...]string{
			"Missing gemgate token: send one of ALLOWED_TOKENS as Authorization: Bearer <token>.",
			"Incorrect API key provided: it is not one of this gateway's ALLOWED_TOKENS.",
			auth.ErrAmbiguous.Error() + ".",
		}[why], [...]string{"missing_api_key", "invalid_api_key", "ambiguous_api_key"}[why]
		openai.WriteError(w, http.StatusUnauthorized, msg, openai.TypeAuthentication, code, "")
	default:
		switch why {
		case auth.RefusalMissing:
			rpcstatus.Write(w, http.StatusUnauthorized,
				"Missing gemgate token: send one of ALLOWED_TOKENS as ?key=, the x-goog-api-key header or Authorization: Bearer.")
		case auth.RefusalInvalid:
			rpcstatus.Write(w, http.StatusForbidden, "Invalid gemgate token: it is not one of ALLOWED_TOKENS.")
		default:
			rpcstatus.Write(w, http.StatusBadRequest, auth.ErrAmbiguous.Error()+".")
		}
	}
}
