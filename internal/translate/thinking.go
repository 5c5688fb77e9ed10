package translate

import (
	"fmt"
	"strings"

	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/models"
)

// LegacyModel, IsTTS and ThinkingCapable live with the model names (package models), which the
// native API uses too; these names keep the translators' call sites short.
var (
	LegacyModel     = models.LegacyModel
	IsTTS           = models.IsTTS
	ThinkingCapable = models.ThinkingCapable
)

// IsGemini3 reports models that take thinking levels and require thought signatures on replayed calls.
func IsGemini3(real string) bool {
	return strings.HasPrefix(strings.ToLower(real), "gemini-3")
}

func isPro(real string) bool { return strings.Contains(strings.ToLower(real), "-pro") }

// Thinking budgets for a reasoning effort on budget models (Gemini 2.5), the values Google's own
// OpenAI-compatible endpoint uses for low, medium and high. minimal is the smallest budget every 2.5
// model accepts (flash-lite's floor is 512).
var effortBudgets = map[string]int{"minimal": 512, "low": 1024, "medium": 8192, "high": 24576}

// ProMinBudget is the smallest budget of pro models, which cannot turn thinking off.
const ProMinBudget = 128

// EffortConfig maps a reasoning effort (none, minimal, low, medium, high; xhigh counts as high). Gemini 3
// models take thinking levels, not budgets (Google: "using thinkingBudget with Gemini 3 Pro may result
// in suboptimal performance"); pro models offer only LOW and HIGH and cannot stop thinking, flash models
// also MINIMAL and MEDIUM.
func EffortConfig(cfg *gemini.ThinkingConfig, real, effort string) error {
	effort = strings.ToLower(strings.TrimSpace(effort))
	if effort == "xhigh" {
		effort = "high"
	}
	if _, known := effortBudgets[effort]; !known && effort != "none" {
		return fmt.Errorf("%q (expected none, minimal, low, medium or high)", effort)
	}
	pro := isPro(real)
	if IsGemini3(real) {
		cfg.ThinkingLevel = thinkingLevel(effort, pro)
		return nil
	}
	b := effortBudgets[effort]
	switch {
	case effort == "none" && pro:
		b = ProMinBudget
	case effort == "none":
		b = 0
	case effort == "minimal" && pro:
		b = ProMinBudget
	}
	cfg.ThinkingBudget = &b
	return nil
}

func thinkingLevel(effort string, pro bool) string {
	if pro {
		if effort == "medium" || effort == "high" {
			return "HIGH"
		}
		return "LOW"
	}
	switch effort {
	case "none", "minimal":
		return "MINIMAL"
	case "low":
		return "LOW"
	case "medium":
		return "MEDIUM"
	}
	return "HIGH"
}

// Budget ranges Google documents for Gemini 2.5: pro 128–32768 (never off), flash 0–24576, flash-lite
// 512–24576 (or 0).
const (
	proMaxBudget   = 32768
	flashMaxBudget = 24576
	liteMinBudget  = 512
)

// BudgetConfig maps an explicit token budget (Anthropic's budget_tokens) onto what the model takes: a
// budget clamped into the model's range, or on Gemini 3 the thinking level whose effort it matches —
// a budget Google would refuse as out of range must not fail a request that is otherwise fine.
func BudgetConfig(cfg *gemini.ThinkingConfig, real string, budget int) {
	if IsGemini3(real) {
		cfg.ThinkingLevel = thinkingLevel(effortFor(budget), isPro(real))
		return
	}
	b := budget
	switch {
	case b <= 0:
		b = OffBudget(real)
	case isPro(real):
		b = min(max(b, ProMinBudget), proMaxBudget)
	case strings.Contains(strings.ToLower(real), "lite"):
		b = min(max(b, liteMinBudget), flashMaxBudget)
	default:
		b = min(b, flashMaxBudget)
	}
	cfg.ThinkingBudget = &b
}

// effortFor is the effort whose budget is nearest above budget.
func effortFor(budget int) string {
	switch {
	case budget <= effortBudgets["minimal"]:
		return "minimal"
	case budget <= effortBudgets["low"]:
		return "low"
	case budget <= effortBudgets["medium"]:
		return "medium"
	}
	return "high"
}

// OffConfig asks for as little thinking as the model allows: off where it can be, the smallest
// budget or level where it cannot.
func OffConfig(cfg *gemini.ThinkingConfig, real string) {
	if IsGemini3(real) {
		cfg.ThinkingLevel = thinkingLevel("none", isPro(real))
		return
	}
	b := OffBudget(real)
	cfg.ThinkingBudget = &b
}

// OffBudget is the budget that turns thinking off, or its minimum on pro models.
func OffBudget(real string) int {
	if isPro(real) {
		return ProMinBudget
	}
	return 0
}
