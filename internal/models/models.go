// Package models resolves the model names clients send: aliases (MODEL_ALIASES) and the reference's
// derived suffixes (-search, -image, -non-thinking), into the real Gemini model plus the features the
// suffixes ask for.
package models

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gemgate/gemgate/internal/config"
)

// Suffixes of derived models, as the reference names them.
const (
	SuffixSearch      = "-search"
	SuffixImage       = "-image"
	SuffixNonThinking = "-non-thinking"
)

// Resolved is a requested model name taken apart.
type Resolved struct {
	Requested   string // as the client sent it (without a "models/" prefix)
	Real        string // the Gemini model to call
	Search      bool   // add the googleSearch tool
	Image       bool   // ask for text and image output
	NonThinking bool   // turn thinking off (or to its minimum)
}

// Resolve applies MODEL_ALIASES, then strips derived suffixes in any order (the reference only
// handled one order, so "-search-non-thinking" called a model that does not exist).
func Resolve(snap *config.Snapshot, name string) Resolved {
	name = strings.TrimPrefix(strings.TrimSpace(name), "models/")
	r := Resolved{Requested: name}
	if target, ok := config.ModelAliases.Get(snap)[name]; ok && target != "" {
		name = strings.TrimPrefix(target, "models/")
	}
	for {
		switch {
		case strings.HasSuffix(name, SuffixSearch):
			r.Search, name = true, strings.TrimSuffix(name, SuffixSearch)
		case strings.HasSuffix(name, SuffixNonThinking):
			r.NonThinking, name = true, strings.TrimSuffix(name, SuffixNonThinking)
		case strings.HasSuffix(name, SuffixImage) && !strings.HasSuffix(name, "-flash-image"):
			// "-image" is a derived suffix, but real models such as gemini-2.5-flash-image end in it
			// too; those are left alone.
			r.Image, name = true, strings.TrimSuffix(name, SuffixImage)
		default:
			r.Real = name
			return r
		}
	}
}

// Check reports why a resolved model may not be used: hidden by FILTERED_MODELS, or a derived
// variant of a model its list does not name.
func Check(snap *config.Snapshot, r Resolved) error {
	switch {
	case r.Real == "":
		return fmt.Errorf("no model given")
	case slices.Contains(config.FilteredModels.Get(snap), r.Real):
		return fmt.Errorf("model %s is disabled on this gateway (FILTERED_MODELS)", r.Real)
	case r.Search && !slices.Contains(config.SearchModels.Get(snap), r.Real):
		return fmt.Errorf("model %s%s is not offered: add %s to SEARCH_MODELS", r.Real, SuffixSearch, r.Real)
	case r.Image && !slices.Contains(config.ImageModels.Get(snap), r.Real):
		return fmt.Errorf("model %s%s is not offered: add %s to IMAGE_MODELS", r.Real, SuffixImage, r.Real)
	}
	return nil
}

// ThinkingBudget is the thinkingBudget to request for r, if any: -non-thinking turns thinking off (128,
// the minimum, for pro models that cannot turn it off), else THINKING_BUDGET_MAP by the real model name
// (the reference looked it up by the suffixed name and so never found it).
func ThinkingBudget(snap *config.Snapshot, r Resolved) (budget int, ok bool) {
	if r.NonThinking {
		if strings.Contains(r.Real, "-pro") {
			return 128, true
		}
		return 0, true
	}
	if b, found := config.ThinkingBudgetMap.Get(snap)[r.Real]; found {
		return int(b), true
	}
	return 0, false
}
