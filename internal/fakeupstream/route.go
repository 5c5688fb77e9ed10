package fakeupstream

import (
	"net/http"
	"strings"
)

type kind int

const (
	kindNone kind = iota
	kindList
	kindGet
	kindGenerate
	kindStream
	kindCount
	kindEmbed
	kindBatchEmbed
	kindOAIModels
	kindOAIModel
	kindOAIChat
	kindOAIEmbed
	kindPredict
	kindUploadStart
	kindUploadChunk
	kindFileList
	kindFileGet
	kindFileDelete
	kindCacheCreate
	kindCacheList
	kindCacheGet
	kindCachePatch
	kindCacheDelete
	kindPredictLR
	kindOperationGet
	kindFileDownload
	kindBatchCreate
	kindBatchList
	kindBatchGet
	kindBatchCancel
	kindBatchDelete
	kindBatchEmbedCreate
)

// kindInfo says how the pipeline treats a route.
type kindInfo struct {
	method string
	action string // Recorded.Action
	rpc    string // full RPC name, shown by Google in 401 ErrorInfo metadata
	// modelMethod is the supportedGenerationMethods entry a model needs for this route ("" = any model).
	modelMethod string
	// quota marks routes that spend model quota, so rate-limit and overload behaviours apply to them.
	quota  bool
	openai bool
	stream bool
}

var kinds = [...]kindInfo{
	kindNone:       {},
	kindList:       {method: http.MethodGet, action: "list", rpc: "ModelService.ListModels"},
	kindGet:        {method: http.MethodGet, action: "get", rpc: "ModelService.GetModel", modelMethod: "generateContent"},
	kindGenerate:   {method: http.MethodPost, action: "generateContent", rpc: "GenerativeService.GenerateContent", modelMethod: "generateContent", quota: true},
	kindStream:     {method: http.MethodPost, action: "streamGenerateContent", rpc: "GenerativeService.StreamGenerateContent", modelMethod: "generateContent", quota: true, stream: true},
	kindCount:      {method: http.MethodPost, action: "countTokens", rpc: "GenerativeService.CountTokens", modelMethod: "countTokens", quota: true},
	kindEmbed:      {method: http.MethodPost, action: "embedContent", rpc: "GenerativeService.EmbedContent", modelMethod: "embedContent", quota: true},
	kindBatchEmbed: {method: http.MethodPost, action: "batchEmbedContents", rpc: "GenerativeService.BatchEmbedContents", modelMethod: "embedContent", quota: true},
	kindOAIModels:  {method: http.MethodGet, action: "models", openai: true},
	kindOAIModel:   {method: http.MethodGet, action: "models", openai: true, modelMethod: "generateContent"},
	kindOAIChat:    {method: http.MethodPost, action: "chat/completions", openai: true, modelMethod: "generateContent", quota: true},
	kindOAIEmbed:   {method: http.MethodPost, action: "embeddings", openai: true, modelMethod: "embedContent", quota: true},
	// media.go and files.go serve these.
	kindPredict:     {method: http.MethodPost, action: "predict", rpc: "PredictionService.Predict", modelMethod: "predict", quota: true},
	kindUploadStart: {method: http.MethodPost, action: "upload.start", rpc: "FileService.CreateFile"},
	kindUploadChunk: {method: http.MethodPost, action: "upload.chunk", rpc: "FileService.CreateFile"},
	kindFileList:    {method: http.MethodGet, action: "files.list", rpc: "FileService.ListFiles"},
	kindFileGet:     {method: http.MethodGet, action: "files.get", rpc: "FileService.GetFile"},
	kindFileDelete:  {method: http.MethodDelete, action: "files.delete", rpc: "FileService.DeleteFile"},
	// caches.go serves these.
	kindCacheCreate: {method: http.MethodPost, action: "caches.create", rpc: "CacheService.CreateCachedContent"},
	kindCacheList:   {method: http.MethodGet, action: "caches.list", rpc: "CacheService.ListCachedContents"},
	kindCacheGet:    {method: http.MethodGet, action: "caches.get", rpc: "CacheService.GetCachedContent"},
	kindCachePatch:  {method: http.MethodPatch, action: "caches.patch", rpc: "CacheService.UpdateCachedContent"},
	kindCacheDelete: {method: http.MethodDelete, action: "caches.delete", rpc: "CacheService.DeleteCachedContent"},
	// video.go serves these.
	kindPredictLR:    {method: http.MethodPost, action: "predictLongRunning", rpc: "PredictionService.PredictLongRunning", modelMethod: "predictLongRunning", quota: true},
	kindOperationGet: {method: http.MethodGet, action: "operations.get", rpc: "OperationService.GetOperation"},
	kindFileDownload: {method: http.MethodGet, action: "files.download", rpc: "FileService.DownloadFile"},
	// batches.go serves these.
	kindBatchCreate: {method: http.MethodPost, action: "batchGenerateContent", rpc: "GenerativeService.BatchGenerateContent", modelMethod: "batchGenerateContent", quota: true},
	kindBatchList:   {method: http.MethodGet, action: "batches.list", rpc: "BatchService.ListBatches"},
	kindBatchGet:    {method: http.MethodGet, action: "batches.get", rpc: "BatchService.GetBatch"},
	kindBatchCancel: {method: http.MethodPost, action: "batches.cancel", rpc: "BatchService.CancelBatch"},
	kindBatchDelete: {method: http.MethodDelete, action: "batches.delete", rpc: "BatchService.DeleteBatch"},
	kindBatchEmbedCreate: {method: http.MethodPost, action: "asyncBatchEmbedContent", rpc: "GenerativeService.AsyncBatchEmbedContent",
		modelMethod: "asyncBatchEmbedContent", quota: true},
}

func (k kind) info() *kindInfo { return &kinds[k] }

type route struct {
	kind    kind
	version string // "v1beta" or "v1"
	model   string // from the path, without "models/"
	// openai is set for every path under /v1beta/openai/, known or not, so even 404s come array-wrapped.
	openai bool
}

var nativeActions = map[string]kind{
	"generateContent":        kindGenerate,
	"streamGenerateContent":  kindStream,
	"countTokens":            kindCount,
	"embedContent":           kindEmbed,
	"batchEmbedContents":     kindBatchEmbed,
	"predict":                kindPredict,
	"predictLongRunning":     kindPredictLR,
	"batchGenerateContent":   kindBatchCreate,
	"asyncBatchEmbedContent": kindBatchEmbedCreate,
}

func parseRoute(path string) route {
	version, rest, ok := splitVersion(path)
	if !ok {
		return route{}
	}
	if after, ok := strings.CutPrefix(rest, "openai/"); ok && version == "v1beta" {
		return parseOpenAIRoute(after)
	}
	return parseNativeRoute(version, rest)
}

func splitVersion(path string) (version, rest string, ok bool) {
	for _, v := range [...]string{"v1beta", "v1"} {
		if after, found := strings.CutPrefix(path, "/"+v+"/"); found {
			return v, after, true
		}
	}
	return "", "", false
}

func parseNativeRoute(version, rest string) route {
	if rest == "models" {
		return route{kind: kindList, version: version}
	}
	name, ok := strings.CutPrefix(rest, "models/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return route{version: version}
	}
	model, action, hasAction := strings.Cut(name, ":")
	if model == "" {
		return route{version: version}
	}
	if !hasAction {
		return route{kind: kindGet, version: version, model: model}
	}
	return route{kind: nativeActions[action], version: version, model: model}
}

func parseOpenAIRoute(rest string) route {
	r := route{version: "v1beta", openai: true}
	switch {
	case rest == "models":
		r.kind = kindOAIModels
	case rest == "chat/completions":
		r.kind = kindOAIChat
	case rest == "embeddings":
		r.kind = kindOAIEmbed
	case strings.HasPrefix(rest, "models/") && len(rest) > len("models/"):
		r.kind = kindOAIModel
		r.model = strings.TrimPrefix(rest, "models/")
		// Google names models "models/x" in this list, so clients ask for /models/models/x.
		r.model = strings.TrimPrefix(r.model, "models/")
	}
	return r
}
