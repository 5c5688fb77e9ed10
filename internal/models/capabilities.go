package models

import (
	"slices"
	"strings"

	"github.com/gemgate/gemgate/internal/config"
)

// LegacyModel reports Gemini 1.x and 2.0 models, which predate thinking and JSON-Schema fields.
func LegacyModel(real string) bool {
	n := strings.ToLower(real)
	return strings.HasPrefix(n, "gemini-1") || strings.HasPrefix(n, "gemini-2.0") || n == "gemini-pro" || n == "gemini-pro-vision"
}

// IsTTS reports speech models, which refuse tools, safety settings and thinking.
func IsTTS(real string) bool { return strings.Contains(strings.ToLower(real), "tts") }

// ThinkingCapable reports a model that accepts thinkingConfig. Older and special-purpose models refuse
// it, so the settings never add it there; THINKING_MODELS and THINKING_BUDGET_MAP vouch for any model.
func ThinkingCapable(snap *config.Snapshot, real string) bool {
	if slices.Contains(config.ThinkingModels.Get(snap), real) {
		return true
	}
	if _, ok := config.ThinkingBudgetMap.Get(snap)[real]; ok {
		return true
	}
	n := strings.ToLower(real)
	for _, no := range [...]string{"tts", "image", "embedding", "gemma", "aqa", "imagen", "veo", "live"} {
		if strings.Contains(n, no) {
			return false
		}
	}
	if strings.Contains(n, "thinking") {
		return true
	}
	return strings.HasPrefix(n, "gemini-") && !LegacyModel(n)
}

// Builtins says what a request already holds that rules out Gemini's built-in tools.
type Builtins struct {
	Functions  bool // function declarations (or calls): Google refuses built-in tools next to them
	Structured bool // JSON output: built-in tools would break it
	HasMedia   bool // code execution is not offered on media input
	WantSearch bool // the client asked for search its own way (a googleSearch function)
}

// AutoTools are the built-in tools the settings and the model name add to a request.
type AutoTools struct {
	Search, CodeExecution, URLContext bool
}

// Any reports whether a tool is added at all.
func (t AutoTools) Any() bool { return t.Search || t.CodeExecution || t.URLContext }

// BuiltinTools decides which built-in tools a request gets: search for -search models,
// TOOLS_CODE_EXECUTION_ENABLED and URL_CONTEXT_ENABLED where they can work. Every API (native and
// translated) asks here, so a setting means the same on every route.
func BuiltinTools(snap *config.Snapshot, model Resolved, b Builtins) AutoTools {
	if b.Functions || b.Structured || IsTTS(model.Real) {
		return AutoTools{}
	}
	return AutoTools{
		Search:        model.Search || b.WantSearch,
		CodeExecution: config.ToolsCodeExecutionEnabled.Get(snap) && !model.Search && !model.Image && !model.NonThinking && !b.HasMedia,
		URLContext:    config.URLContextEnabled.Get(snap) && !model.Image && slices.Contains(config.URLContextModels.Get(snap), model.Real),
	}
}
