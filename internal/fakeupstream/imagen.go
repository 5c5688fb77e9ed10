package fakeupstream

import (
	"encoding/json"
	"slices"
	"strconv"
)

// Imagen's models/{model}:predict: one PNG per requested sample, or (for the blocking prompt) none, with
// the filter's reason when includeRaiReason asks for it.

type predictRequest struct {
	Instances []struct {
		Prompt string `json:"prompt"`
	} `json:"instances"`
	Parameters struct {
		SampleCount      int    `json:"sampleCount"`
		AspectRatio      string `json:"aspectRatio"`
		IncludeRaiReason bool   `json:"includeRaiReason"`
	} `json:"parameters"`
}

type prediction struct {
	BytesBase64Encoded string `json:"bytesBase64Encoded,omitempty"`
	MimeType           string `json:"mimeType,omitempty"`
	RaiFilteredReason  string `json:"raiFilteredReason,omitempty"`
}

// raiReason is the text Imagen gives for a filtered prompt.
const raiReason = "Unable to show generated images. All images were filtered out because they violated Vertex AI's usage guidelines. You will not be charged for blocked images. Try rephrasing the prompt. If you think this was an error, send feedback. Support codes: 58061214"

var imagenRatios = []string{"1:1", "3:4", "4:3", "9:16", "16:9"}

func (s *Server) servePredict(c *call) {
	var req predictRequest
	if err := unmarshalBody(c.body, &req); err != nil {
		s.writeError(c, badJSON())
		return
	}
	p := req.Parameters
	switch {
	case len(req.Instances) == 0 || req.Instances[0].Prompt == "":
		s.writeError(c, badRequest("The prompt is empty."))
		return
	case p.SampleCount < 0 || p.SampleCount > 4:
		s.writeError(c, badRequest("Number of images must be between 1 and 4, got "+strconv.Itoa(p.SampleCount)+"."))
		return
	case p.AspectRatio != "" && !slices.Contains(imagenRatios, p.AspectRatio):
		s.writeError(c, badRequest("Unsupported aspect ratio "+p.AspectRatio+"."))
		return
	}
	var preds []prediction
	switch {
	case req.Instances[0].Prompt == blockTrigger && p.IncludeRaiReason:
		preds = []prediction{{RaiFilteredReason: raiReason}}
	case req.Instances[0].Prompt != blockTrigger:
		for range max(p.SampleCount, 1) {
			preds = append(preds, prediction{BytesBase64Encoded: pngBase64, MimeType: "image/png"})
		}
	}
	b, _ := json.Marshal(struct {
		Predictions []prediction `json:"predictions,omitempty"`
	}{preds})
	writeRaw(c.w, b)
}
