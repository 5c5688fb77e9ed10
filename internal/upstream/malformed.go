package upstream

import (
	"encoding/json"
	"mime"
	"net/http"
)

// malformedJSON reports a 2xx answer that says it is JSON and is not: cut off by a proxy or a broken
// connection that still ended cleanly. Passed on, it would reach the client as a 200 it cannot parse;
// another key (or another try) usually gets a whole answer.
func malformedJSON(h http.Header, body []byte) bool {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return false
	}
	return !json.Valid(body)
}
