package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/genai"

	"github.com/gemgate/gemgate/internal/fakeupstream"
)

// Issue 21, Batch Mode: a batch created by token A is read, listed, cancelled and deleted on the key
// that holds it, whatever the round robin would pick; token B sees none of it, and a batch naming
// another token's file is refused before Google. Driven through Google's own SDK.
func TestBatchesBelongToTheirKeyAndToken(t *testing.T) {
	t.Parallel()
	keys := []string{goodKey(0), goodKey(1), goodKey(2)}
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"API_KEYS": strings.Join(keys, ","),
		"ALLOWED_TOKENS": `["` + clientToken + `","` + otherToken + `"]`})
	ctx := context.Background()
	a, b := genaiClient(t, h, clientToken), genaiClient(t, h, otherToken)
	job, err := a.Batches.Create(ctx, "gemini-2.5-flash", &genai.BatchJobSource{InlinedRequests: []*genai.InlinedRequest{
		{Contents: genai.Text("first question")}, {Contents: genai.Text("second question")}}}, &genai.CreateBatchJobConfig{DisplayName: "nightly"})
	if err != nil || !strings.HasPrefix(job.Name, "batches/") {
		t.Fatalf("create: %+v %v", job, err)
	}
	job = finishBatch(t, h, a, job)
	if job.Dest == nil || len(job.Dest.InlinedResponses) != 2 || job.Dest.InlinedResponses[1].Response.Text() == "" {
		t.Fatalf("results %+v", job.Dest)
	}
	page, err := a.Batches.List(ctx, nil)
	if err != nil || len(page.Items) != 1 || page.Items[0].Name != job.Name {
		t.Fatalf("A's list: %+v %v", page.Items, err)
	}
	before := h.fake.TotalCalls()
	if page, err := b.Batches.List(ctx, nil); err != nil || len(page.Items) != 0 {
		t.Fatalf("B's list: %+v %v", page.Items, err)
	}
	if _, err := b.Batches.Get(ctx, job.Name, nil); err == nil {
		t.Fatal("B read A's batch")
	}
	if err := b.Batches.Cancel(ctx, job.Name, nil); err == nil {
		t.Fatal("B cancelled A's batch")
	}
	if h.fake.TotalCalls() != before {
		t.Fatal("B's calls on A's batch reached Google")
	}
	if err := a.Batches.Cancel(ctx, job.Name, nil); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if _, err := a.Batches.Delete(ctx, job.Name, nil); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, ok := h.fake.BatchOwner(job.Name); ok {
		t.Fatal("the batch is still at Google")
	}
	// A batch request naming another token's file is refused before Google, like a generate call.
	f, err := a.Files.Upload(ctx, strings.NewReader("A's data"), &genai.UploadFileConfig{MIMEType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	before = h.fake.TotalCalls()
	_, err = b.Batches.Create(ctx, "gemini-2.5-flash", &genai.BatchJobSource{InlinedRequests: []*genai.InlinedRequest{
		{Contents: []*genai.Content{genai.NewContentFromURI(f.URI, "text/plain", genai.RoleUser)}}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "404") || h.fake.TotalCalls() != before {
		t.Fatalf("B's batch on A's file: %v", err)
	}
	r := h.do("GET", "/v1beta/batches/nonexistent", nil, tokenHeader)
	if r.status != http.StatusNotFound {
		t.Fatalf("unknown batch: %d", r.status)
	}
	keysUnblamed(t, h)
}

// finishBatch polls a batch until it succeeds, each read on the key that created it.
func finishBatch(t *testing.T, h *harness, c *genai.Client, job *genai.BatchJob) *genai.BatchJob {
	t.Helper()
	holder, ok := h.fake.BatchOwner(job.Name)
	if !ok {
		t.Fatal("the fake holds no such batch")
	}
	for i := 0; job.State != genai.JobStateSucceeded; i++ {
		if i > 5 {
			t.Fatalf("the batch never finished: %s", job.State)
		}
		var err error
		if job, err = c.Batches.Get(context.Background(), job.Name, nil); err != nil {
			t.Fatalf("get %d: %v", i, err)
		}
		if last, _ := h.fake.LastRequest(); last.Key != holder {
			t.Fatalf("get %d went to another key", i)
		}
	}
	return job
}

// A batch over an uploaded JSONL file: created on the key that holds the file, and its results file
// downloads through that key for the token that made it, and for no other.
func TestFileBatchResultsDownloadOnTheirKey(t *testing.T) {
	t.Parallel()
	keys := []string{goodKey(0), goodKey(1), goodKey(2)}
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"API_KEYS": strings.Join(keys, ","),
		"ALLOWED_TOKENS": `["` + clientToken + `","` + otherToken + `"]`})
	ctx := context.Background()
	a, b := genaiClient(t, h, clientToken), genaiClient(t, h, otherToken)
	input, err := a.Files.Upload(ctx, strings.NewReader(`{"key":"r1","request":{"contents":[{"parts":[{"text":"hi"}]}]}}`+"\n"),
		&genai.UploadFileConfig{MIMEType: "application/jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	holder, _ := h.fake.FileOwner(input.Name)
	job, err := a.Batches.Create(ctx, "gemini-2.5-flash", &genai.BatchJobSource{FileName: input.Name}, nil)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if owner, _ := h.fake.BatchOwner(job.Name); owner != holder {
		t.Fatal("the batch was not created on the key that holds its input file")
	}
	for i := 0; job.State != genai.JobStateSucceeded; i++ {
		if i > 5 {
			t.Fatalf("the batch never finished: %s", job.State)
		}
		if job, err = a.Batches.Get(ctx, job.Name, nil); err != nil {
			t.Fatal(err)
		}
	}
	if job.Dest == nil || job.Dest.FileName == "" {
		t.Fatalf("no results file: %+v", job.Dest)
	}
	results := genai.NewDownloadURIFromFile(&genai.File{DownloadURI: job.Dest.FileName})
	data, err := a.Files.Download(ctx, results, nil)
	if err != nil || !strings.Contains(string(data), `"response"`) {
		t.Fatalf("results: %q %v", data, err)
	}
	before := h.fake.TotalCalls()
	if data, err := b.Files.Download(ctx, results, nil); err == nil && !strings.Contains(string(data), "NOT_FOUND") {
		t.Fatalf("B downloaded A's results: %q", data)
	}
	if h.fake.TotalCalls() != before {
		t.Fatal("B's download reached Google")
	}
}

// Embedding batches (asyncBatchEmbedContent) are batches too: created on a pool key and recorded for
// the token, read on that key, invisible to another token; one over an uploaded file goes to the key
// that holds the file, and another token naming that file (in the snake_case spelling the SDK sends
// for embeddings) is refused before Google.
func TestEmbeddingBatchesThroughThePool(t *testing.T) {
	keys := []string{goodKey(0), goodKey(1), goodKey(2)}
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"API_KEYS": strings.Join(keys, ","),
		"ALLOWED_TOKENS": `["` + clientToken + `","` + otherToken + `"]`})
	ctx := context.Background()
	a, b := genaiClient(t, h, clientToken), genaiClient(t, h, otherToken)
	model := "gemini-embedding-001"
	job, err := a.Batches.CreateEmbeddings(ctx, &model, &genai.EmbeddingsBatchJobSource{InlinedRequests: &genai.EmbedContentBatch{
		Contents: []*genai.Content{genai.NewContentFromText("first", genai.RoleUser), genai.NewContentFromText("second", genai.RoleUser)}}},
		&genai.CreateEmbeddingsBatchJobConfig{DisplayName: "vectors"})
	if err != nil || !strings.HasPrefix(job.Name, "batches/") {
		t.Fatalf("create: %+v %v", job, err)
	}
	job = finishBatch(t, h, a, job)
	if job.Dest == nil || len(job.Dest.InlinedEmbedContentResponses) != 2 ||
		len(job.Dest.InlinedEmbedContentResponses[0].Response.Embedding.Values) != 3072 {
		t.Fatalf("results %+v", job.Dest)
	}
	before := h.fake.TotalCalls()
	if _, err := b.Batches.Get(ctx, job.Name, nil); err == nil {
		t.Fatal("B read A's embedding batch")
	}
	if page, err := b.Batches.List(ctx, nil); err != nil || len(page.Items) != 0 {
		t.Fatalf("B's list: %+v %v", page.Items, err)
	}
	if h.fake.TotalCalls() != before {
		t.Fatal("B's calls on A's batch reached Google")
	}

	input, err := a.Files.Upload(ctx, strings.NewReader(`{"key":"r1","request":{"content":{"parts":[{"text":"hi"}]}}}`+"\n"),
		&genai.UploadFileConfig{MIMEType: "application/jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	fileHolder, _ := h.fake.FileOwner(input.Name)
	before = h.fake.TotalCalls()
	if _, err := b.Batches.CreateEmbeddings(ctx, &model, &genai.EmbeddingsBatchJobSource{FileName: input.Name}, nil); err == nil ||
		!strings.Contains(err.Error(), "404") || h.fake.TotalCalls() != before {
		t.Fatalf("B's embedding batch on A's file: %v", err)
	}
	fileJob, err := a.Batches.CreateEmbeddings(ctx, &model, &genai.EmbeddingsBatchJobSource{FileName: input.Name}, nil)
	if err != nil {
		t.Fatalf("create over a file: %v", err)
	}
	if owner, _ := h.fake.BatchOwner(fileJob.Name); owner != fileHolder {
		t.Fatal("the embedding batch was not created on the key that holds its input file")
	}
	keysUnblamed(t, h)
}
