package testutil

import (
	"fmt"
	"strings"
)

// Conversation is an API-neutral chat, which each API's translation benchmark writes in its own format.
type Conversation struct {
	System   string
	Turns    [][2]string // question, answer
	Question string      // asked before the tool calls
	Calls    []ToolCall  // the assistant's calls, answered by the results
	Last     string      // the question after the results
	Tools    []Tool
}

// ToolCall is one call of the conversation's tool round trip, with its result.
type ToolCall struct {
	ID, Name string
	Args     map[string]any
	Result   string
}

// Tool is a function the client declares; Schema is its JSON Schema parameters.
type Tool struct {
	Name, Description string
	Schema            map[string]any
}

// Conversation20 is a typical agent request: a system prompt, three tools (one with a $ref), seven
// question/answer pairs and a tool round trip of two calls: twenty messages in the OpenAI form.
func Conversation20() Conversation {
	c := Conversation{
		System:   "You are a helpful travel assistant. " + strings.Repeat("Follow the house rules. ", 20),
		Question: "What is the weather in Paris and Rome?",
		Last:     "Thanks. Which one is better for a walk today?",
		Calls: []ToolCall{
			{ID: "call_1", Name: "get_weather", Args: map[string]any{"city": "Paris", "unit": "C"}, Result: `{"temperature":21,"sky":"clear"}`},
			{ID: "call_2", Name: "get_weather", Args: map[string]any{"city": "Rome", "unit": "C"}, Result: `{"temperature":18,"sky":"rain"}`},
		},
	}
	for i := range 7 {
		c.Turns = append(c.Turns, [2]string{
			fmt.Sprintf("Question %d: what should I see in city number %d? Please give a detailed answer.", i, i),
			strings.Repeat(fmt.Sprintf("Answer %d is long. ", i), 15),
		})
	}
	schema := func(props map[string]any, required ...string) map[string]any {
		return map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false}
	}
	book := schema(map[string]any{
		"place": map[string]any{"$ref": "#/$defs/Place"},
		"when":  map[string]any{"type": "string", "format": "date-time"},
	}, "place")
	book["$defs"] = map[string]any{"Place": map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}, "id": map[string]any{"type": "string"}}}}
	c.Tools = []Tool{
		{"get_weather", "Current weather for a city.", schema(map[string]any{
			"city": map[string]any{"type": "string", "description": "City name"},
			"unit": map[string]any{"type": []string{"string", "null"}, "enum": []any{"C", "F", nil}},
		}, "city")},
		{"search_places", "Find places to visit.", schema(map[string]any{
			"city":     map[string]any{"type": "string"},
			"category": map[string]any{"type": "string", "enum": []string{"museum", "park", "food"}},
			"limit":    map[string]any{"type": "integer", "minimum": 1, "maximum": 20},
		}, "city")},
		{"book", "Book a ticket.", book},
	}
	return c
}
