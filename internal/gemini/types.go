// Package gemini is Google's Gemini API as every translator sees it: the wire types, the scans of
// answers (empty-answer check, usage, members of a JSON object, search sources) and the cached model
// list. It serves nothing: the native HTTP routes are internal/native.
package gemini

import (
	"encoding/json"
	"math"
	"strconv"
)

// Wire types of generateContent and streamGenerateContent, as Google's REST reference names them
// (ai.google.dev/api/generate-content). They are used by translators that build requests from another
// API's shape and read the answers back; the native routes never decode the client's body into them,
// so nothing here limits what a native client may send.
//
// Every field is omitempty: a gateway must send only what its client asked for, and Google rejects
// or changes behaviour on fields that are present with zero values. Numbers where 0 is a meaningful
// value (temperature 0, thinkingBudget 0, seed 0) are pointers for the same reason. Schemas, function
// arguments and function responses stay raw JSON: they are the client's own documents and are
// forwarded byte for byte after the translator has checked or cleaned them.

// GenerateContentRequest is the body of models/*:generateContent and :streamGenerateContent.
type GenerateContentRequest struct {
	Contents          []Content         `json:"contents"`
	SystemInstruction *Content          `json:"systemInstruction,omitempty"`
	Tools             []Tool            `json:"tools,omitempty"`
	ToolConfig        *ToolConfig       `json:"toolConfig,omitempty"`
	SafetySettings    []SafetySetting   `json:"safetySettings,omitempty"`
	GenerationConfig  *GenerationConfig `json:"generationConfig,omitempty"`
	CachedContent     string            `json:"cachedContent,omitempty"`
}

// Content is one turn: role "user" or "model" (empty for a system instruction).
type Content struct {
	Role  string `json:"role,omitempty"`
	Parts []Part `json:"parts"`
}

// Part is one piece of a turn; exactly one of the data fields is set. Thought marks the model's
// thoughts (with includeThoughts), and ThoughtSignature is the opaque, base64 token a thinking model
// attaches to a part and expects back unchanged in the next request's history.
type Part struct {
	Text                string               `json:"text,omitempty"`
	Thought             bool                 `json:"thought,omitempty"`
	ThoughtSignature    string               `json:"thoughtSignature,omitempty"`
	InlineData          *Blob                `json:"inlineData,omitempty"`
	FileData            *FileData            `json:"fileData,omitempty"`
	FunctionCall        *FunctionCall        `json:"functionCall,omitempty"`
	FunctionResponse    *FunctionResponse    `json:"functionResponse,omitempty"`
	ExecutableCode      *ExecutableCode      `json:"executableCode,omitempty"`
	CodeExecutionResult *CodeExecutionResult `json:"codeExecutionResult,omitempty"`
	VideoMetadata       json.RawMessage      `json:"videoMetadata,omitempty"`
}

// Blob is inline media. Data is base64 as it travels, so it is never decoded just to be re-encoded.
type Blob struct {
	MimeType string `json:"mimeType"`
	Data     string `json:"data"`
}

// FileData references media uploaded through the Files API (or a supported URL).
type FileData struct {
	MimeType string `json:"mimeType,omitempty"`
	FileURI  string `json:"fileUri"`
}

// FunctionCall is a call the model asks the client to run. Args is a JSON object.
type FunctionCall struct {
	ID   string          `json:"id,omitempty"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

// FunctionResponse carries a function's result back to the model. Response is a JSON object.
type FunctionResponse struct {
	ID       string          `json:"id,omitempty"`
	Name     string          `json:"name"`
	Response json.RawMessage `json:"response"`
}

// ExecutableCode is code the model wrote for the code-execution tool.
type ExecutableCode struct {
	Language string `json:"language,omitempty"`
	Code     string `json:"code"`
}

// CodeExecutionResult is what running ExecutableCode produced.
type CodeExecutionResult struct {
	Outcome string `json:"outcome,omitempty"`
	Output  string `json:"output,omitempty"`
}

// Tool is one tool entry. Google documents one kind per entry, so translators emit one entry for the
// function declarations and one per built-in tool.
type Tool struct {
	FunctionDeclarations []FunctionDeclaration `json:"functionDeclarations,omitempty"`
	GoogleSearch         *Empty                `json:"googleSearch,omitempty"`
	CodeExecution        *Empty                `json:"codeExecution,omitempty"`
	URLContext           *Empty                `json:"urlContext,omitempty"`
}

// Empty is a tool switch with no options; it is sent as {}.
type Empty struct{}

// FunctionDeclaration describes a function the model may call. Parameters is a schema in Google's
// OpenAPI subset; ParametersJSONSchema is the alternative that takes plain JSON Schema.
type FunctionDeclaration struct {
	Name                 string          `json:"name"`
	Description          string          `json:"description,omitempty"`
	Parameters           json.RawMessage `json:"parameters,omitempty"`
	ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema,omitempty"`
}

// ToolConfig controls tool use.
type ToolConfig struct {
	FunctionCallingConfig *FunctionCallingConfig `json:"functionCallingConfig,omitempty"`
}

// FunctionCallingConfig modes: AUTO, ANY (must call), NONE, VALIDATED.
type FunctionCallingConfig struct {
	Mode                 string   `json:"mode,omitempty"`
	AllowedFunctionNames []string `json:"allowedFunctionNames,omitempty"`
}

// SafetySetting sets the blocking threshold of one harm category.
type SafetySetting struct {
	Category  string `json:"category"`
	Threshold string `json:"threshold"`
	Method    string `json:"method,omitempty"`
}

// GenerationConfig holds sampling and output options.
type GenerationConfig struct {
	StopSequences      []string        `json:"stopSequences,omitempty"`
	ResponseMimeType   string          `json:"responseMimeType,omitempty"`
	ResponseSchema     json.RawMessage `json:"responseSchema,omitempty"`
	ResponseJSONSchema json.RawMessage `json:"responseJsonSchema,omitempty"`
	ResponseModalities []string        `json:"responseModalities,omitempty"`
	CandidateCount     *int            `json:"candidateCount,omitempty"`
	MaxOutputTokens    *int            `json:"maxOutputTokens,omitempty"`
	Temperature        *float64        `json:"temperature,omitempty"`
	TopP               *float64        `json:"topP,omitempty"`
	TopK               *int            `json:"topK,omitempty"`
	Seed               *int64          `json:"seed,omitempty"`
	PresencePenalty    *float64        `json:"presencePenalty,omitempty"`
	FrequencyPenalty   *float64        `json:"frequencyPenalty,omitempty"`
	ResponseLogprobs   bool            `json:"responseLogprobs,omitempty"`
	Logprobs           *int            `json:"logprobs,omitempty"`
	ThinkingConfig     *ThinkingConfig `json:"thinkingConfig,omitempty"`
	MediaResolution    string          `json:"mediaResolution,omitempty"`
}

// ThinkingConfig: thinkingBudget (tokens; 0 off, -1 dynamic) for 2.5 models, thinkingLevel (MINIMAL,
// LOW, MEDIUM, HIGH) for Gemini 3 and later. Google refuses a request that sets both.
type ThinkingConfig struct {
	IncludeThoughts bool   `json:"includeThoughts,omitempty"`
	ThinkingBudget  *int   `json:"thinkingBudget,omitempty"`
	ThinkingLevel   string `json:"thinkingLevel,omitempty"`
}

// GenerateContentResponse is a whole answer, or one event of a stream (same shape, partial content).
type GenerateContentResponse struct {
	Candidates     []Candidate     `json:"candidates,omitempty"`
	PromptFeedback *PromptFeedback `json:"promptFeedback,omitempty"`
	UsageMetadata  *UsageMetadata  `json:"usageMetadata,omitempty"`
	ModelVersion   string          `json:"modelVersion,omitempty"`
	ResponseID     string          `json:"responseId,omitempty"`
}

// Candidate is one of the candidateCount answers. Index is a pointer because stream events often
// leave it out, and then the candidate's position in the list is its index.
type Candidate struct {
	Content           *Content           `json:"content,omitempty"`
	FinishReason      string             `json:"finishReason,omitempty"`
	FinishMessage     string             `json:"finishMessage,omitempty"`
	Index             *int               `json:"index,omitempty"`
	SafetyRatings     []SafetyRating     `json:"safetyRatings,omitempty"`
	GroundingMetadata *GroundingMetadata `json:"groundingMetadata,omitempty"`
	AvgLogprobs       Double             `json:"avgLogprobs,omitempty"`
	LogprobsResult    *LogprobsResult    `json:"logprobsResult,omitempty"`
}

// SafetyRating is a harm category's probability for a prompt or a candidate.
type SafetyRating struct {
	Category    string `json:"category"`
	Probability string `json:"probability"`
	Blocked     bool   `json:"blocked,omitempty"`
}

// PromptFeedback tells why a prompt was blocked; a blocked prompt has no candidates.
type PromptFeedback struct {
	BlockReason        string         `json:"blockReason,omitempty"`
	BlockReasonMessage string         `json:"blockReasonMessage,omitempty"`
	SafetyRatings      []SafetyRating `json:"safetyRatings,omitempty"`
}

// UsageMetadata counts tokens. totalTokenCount includes thoughts and tool-use prompt tokens.
type UsageMetadata struct {
	PromptTokenCount        int `json:"promptTokenCount,omitempty"`
	CandidatesTokenCount    int `json:"candidatesTokenCount,omitempty"`
	TotalTokenCount         int `json:"totalTokenCount,omitempty"`
	CachedContentTokenCount int `json:"cachedContentTokenCount,omitempty"`
	ThoughtsTokenCount      int `json:"thoughtsTokenCount,omitempty"`
	ToolUsePromptTokenCount int `json:"toolUsePromptTokenCount,omitempty"`
}

// GroundingMetadata lists the sources a grounded (Google Search) answer used.
type GroundingMetadata struct {
	GroundingChunks  []GroundingChunk `json:"groundingChunks,omitempty"`
	WebSearchQueries []string         `json:"webSearchQueries,omitempty"`
}

// GroundingChunk is one source.
type GroundingChunk struct {
	Web *GroundingWeb `json:"web,omitempty"`
}

// GroundingWeb is a web page source.
type GroundingWeb struct {
	URI   string `json:"uri,omitempty"`
	Title string `json:"title,omitempty"`
}

// LogprobsResult holds per-token log probabilities (with responseLogprobs).
type LogprobsResult struct {
	TopCandidates    []TopCandidates     `json:"topCandidates,omitempty"`
	ChosenCandidates []LogprobsCandidate `json:"chosenCandidates,omitempty"`
}

// TopCandidates are the most likely tokens at one step.
type TopCandidates struct {
	Candidates []LogprobsCandidate `json:"candidates,omitempty"`
}

// LogprobsCandidate is one token and its log probability.
type LogprobsCandidate struct {
	Token          string `json:"token"`
	TokenID        int    `json:"tokenId,omitempty"`
	LogProbability Double `json:"logProbability"`
}

// Double is a protobuf double in JSON: a number, or "NaN", "Infinity" or "-Infinity" as a string (a
// log probability of an impossible token is -Infinity). Decoding it as a plain float64 would fail the
// whole answer on such a value.
type Double float64

// UnmarshalJSON accepts both forms.
func (d *Double) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN":
			*d = Double(math.NaN())
		case "Infinity":
			*d = Double(math.Inf(1))
		case "-Infinity":
			*d = Double(math.Inf(-1))
		default:
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return err
			}
			*d = Double(f)
		}
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*d = Double(f)
	return nil
}
