package openai

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func TestEmbeddingInputs(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		bad  string // part of the error message
	}{
		{`"hello"`, []string{"hello"}, ""},
		{`["a","b"]`, []string{"a", "b"}, ""},
		{`""`, nil, "empty string"},
		{`[]`, nil, "empty array"},
		{`null`, nil, "required"},
		{``, nil, "required"},
		{`[1,2,3]`, nil, "Token arrays"},
		{`[[1,2],[3]]`, nil, "Token arrays"},
		{`["a",""]`, nil, "input[1]"},
		{`["a",{"x":1}]`, nil, "input[1]"},
		{`{"x":1}`, nil, "string or an array"},
	}
	for _, c := range cases {
		got, err := embeddingInputs(json.RawMessage(c.in))
		if c.bad == "" {
			if err != nil || !slices.Equal(got, c.want) {
				t.Errorf("%s: %v %v", c.in, got, err)
			}
			continue
		}
		var re *embeddingError
		if !errors.As(err, &re) || !strings.Contains(re.msg, c.bad) || re.param != "input" || re.status != 400 {
			t.Errorf("%s: error %v, want one mentioning %q", c.in, err, c.bad)
		}
	}
}

func TestParseEmbeddingRequest(t *testing.T) {
	snap := snapForTest(t, map[string]string{"MODEL_ALIASES": `{"text-embedding-3-small":"gemini-embedding-001"}`})
	req, inputs, res, err := parseEmbeddingRequest(snap, []byte(`{"input":"x","model":"text-embedding-3-small","dimensions":8,"user":"u"}`))
	if err != nil || res.Real != "gemini-embedding-001" || req.Model != "text-embedding-3-small" || *req.Dimensions != 8 ||
		req.EncodingFormat != "float" || len(inputs) != 1 {
		t.Fatalf("%+v %+v %v", req, res, err)
	}
	if req, _, res, err := parseEmbeddingRequest(snap, []byte(`{"input":"x"}`)); err != nil || res.Real != defaultEmbeddingModel || req.Model != defaultEmbeddingModel {
		t.Fatalf("default model: %+v %v", res, err)
	}
	for body, status := range map[string]int{
		`{"input":"x","encoding_format":"int8"}`:          400,
		`{"input":"x","dimensions":0}`:                    400,
		`{"input":"x","model":"embedding-gecko-001"}`:     404,
		`{"input":"x","model":"gemini-2.0-flash-search"}`: 400,
		`[1]`: 400,
	} {
		var re *embeddingError
		if _, _, _, err := parseEmbeddingRequest(snap, []byte(body)); !errors.As(err, &re) || re.status != status {
			t.Errorf("%s: %v, want %d", body, err, status)
		}
	}
}

func TestBatchBody(t *testing.T) {
	dims := 16
	got := string(batchBody("gemini-embedding-001", []string{"a", "b"}, &dims))
	want := `{"requests":[{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"a"}]},"outputDimensionality":16},` +
		`{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"b"}]},"outputDimensionality":16}]}`
	if got != want {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
	if strings.Contains(string(batchBody("m", []string{"a"}, nil)), "outputDimensionality") {
		t.Fatal("outputDimensionality sent without dimensions")
	}
}

func TestEmbeddingObjects(t *testing.T) {
	answer := []byte(`{"embeddings":[{"values":[0.5,-0.25,0.123456789]},{"values":[1,0,-1]}]}`)
	objs, tokens, err := embeddingObjects(answer, 2, 100, "float")
	if err != nil || tokens != 0 || objs[1].Index != 101 || string(objs[0].Embedding) != `[0.5,-0.25,0.123456789]` {
		t.Fatalf("float: %+v %d %v", objs, tokens, err)
	}
	objs, _, err = embeddingObjects(answer, 2, 0, "base64")
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if err := json.Unmarshal(objs[0].Embedding, &s); err != nil {
		t.Fatalf("base64 embedding is not a JSON string: %s", objs[0].Embedding)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) != 12 {
		t.Fatalf("decode: %v %d", err, len(raw))
	}
	for i, want := range []float32{0.5, -0.25, 0.123456789} {
		if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])); got != want {
			t.Errorf("value %d: %v, want %v", i, got, want)
		}
	}
	if _, _, err := embeddingObjects(answer, 3, 0, "float"); err == nil {
		t.Fatal("count mismatch accepted")
	}
	if _, tokens, _ := embeddingObjects([]byte(`{"embeddings":[],"usageMetadata":{"promptTokenCount":7}}`), 0, 0, "float"); tokens != 7 {
		t.Fatalf("reported tokens: %d", tokens)
	}
	if n := estimateEmbeddingTokens([]string{"abcde", "日本"}); n != 3 {
		t.Fatalf("estimate %d", n)
	}
}

func TestEmbeddingErrorShape(t *testing.T) {
	w := httptest.NewRecorder()
	writeEmbeddingError(w, embeddingParamError("input", "bad %s", "thing"))
	var env struct {
		Error ErrorBody `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || w.Code != http.StatusBadRequest ||
		env.Error.Message != "bad thing" || env.Error.Type != TypeInvalidRequest || *env.Error.Param != "input" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}
