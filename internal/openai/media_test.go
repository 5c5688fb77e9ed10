package openai

import (
	"context"
	"testing"
)

func TestImageSinkDefault(t *testing.T) {
	if got := imageSink.ImageMarkdown(context.Background(), "image/png", "AAAA"); got != "![image](data:image/png;base64,AAAA)" {
		t.Fatal(got)
	}
}
