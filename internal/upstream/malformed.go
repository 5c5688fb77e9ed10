package upstream

import (
	"mime"
	"net/http"

	"github.com/gemgate/gemgate/internal/jsonvalid"
)

// malformedJSON reports a 2xx answer that says it is JSON and is not: cut off by a proxy or a broken
// connection that still ended cleanly. Passed on, it would reach the client as a 200 it cannot parse;
// another key (or another try) usually gets a whole answer.
func malformedJSON(h http.Header, body []byte) bool {
	if !isJSON(h.Get("Content-Type")) {
		return false
	}
	return !jsonvalid.Valid(body)
}

// isJSON reports a JSON media type. Google's own spellings are known without parsing, which costs a
// map per answer.
func isJSON(contentType string) bool {
	switch contentType {
	case "application/json", "application/json; charset=UTF-8", "application/json; charset=utf-8":
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}
