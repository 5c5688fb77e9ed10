// Package translate holds the Gemini side of every API gemgate translates (OpenAI chat completions,
// OpenAI Responses, Anthropic Messages): building generateContent requests (turns, media, tools and
// schemas, thinking, safety) and reading answers back (stream events, parts as content blocks, usage).
// Each API package keeps only its own wire shapes and maps them onto these building blocks, so a fix to
// how Gemini is spoken reaches every API at once.
package translate
