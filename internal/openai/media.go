package openai

import (
	"context"

	"github.com/gemgate/gemgate/internal/translate"
)

// fetcher downloads the media URLs of chat requests; tests in this package replace it with one that may
// reach their loopback servers.
var fetcher = translate.NewFetcher(false)

// ImageSink turns an image the model produced into the Markdown that shows it in a chat answer. The
// default inlines it as a data: URL; image hosting replaces it.
type ImageSink interface {
	ImageMarkdown(ctx context.Context, mimeType, data string) string
}

// dataURLImages inlines images, which needs no storage and works in every Markdown renderer that
// accepts data: URLs.
type dataURLImages struct{}

func (dataURLImages) ImageMarkdown(_ context.Context, mimeType, data string) string {
	return "![image](data:" + mimeType + ";base64," + data + ")"
}

// imageSink is the sink chat answers use.
var imageSink ImageSink = dataURLImages{}
