package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// Gemini's Schema (the `parameters` of a function and `responseSchema`) is a subset of OpenAPI 3.0, not
// JSON Schema: it refuses unknown keywords outright ("Unknown name additionalProperties ... Cannot find
// field"), has no references, type arrays or const, takes enum values as strings only, and rejects
// object nodes without properties and `required` names that are not properties. Clients send JSON
// Schema (often generated, with $defs and anyOf-with-null), so it is rewritten here into the closest
// Schema Gemini accepts.

// Bounds on what a hostile or recursive schema can make the cleaner do.
const (
	maxSchemaDepth = 40    // nesting of the cleaned schema
	maxRefDepth    = 8     // $ref expansions along one path; recursive types end there
	maxSchemaNodes = 20000 // nodes of the cleaned schema; references can multiply a small input
)

// formatsFor lists the formats Gemini's Schema accepts, by type; others are dropped (the model still
// sees the description).
var formatsFor = map[string][]string{
	"string":  {"enum", "date-time"},
	"integer": {"int32", "int64"},
	"number":  {"float", "double"},
}

// copied are the keywords passed through unchanged when their value has the expected JSON type.
var (
	copiedStrings = []string{"description", "title", "pattern"}
	copiedNumbers = []string{"minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties", "minimum", "maximum"}
)

type schemaCleaner struct {
	root  map[string]any
	nodes int
}

// errNotSchema is a schema that is not a JSON object.
var errNotSchema = errors.New("a JSON Schema must be a JSON object")

// DecodeSchema reads a schema keeping numbers exact.
func DecodeSchema(raw json.RawMessage) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errNotSchema
	}
	return m, nil
}

// CleanSchema rewrites a JSON Schema into Gemini's Schema.
func CleanSchema(raw json.RawMessage) (map[string]any, error) {
	root, err := DecodeSchema(raw)
	if err != nil {
		return nil, err
	}
	c := &schemaCleaner{root: root}
	return c.clean(root, 0, 0), nil
}

// HasFreeForm reports an object node without properties below the root (the root too when root is
// set). Gemini's Schema cannot say "an object with any keys" (it refuses an OBJECT without
// properties), so the caller then sends the raw JSON Schema through Gemini's JSON-Schema field instead.
func HasFreeForm(node map[string]any, root bool) bool {
	if t, _ := node["type"].(string); t == "object" && node["properties"] == nil && root {
		return true
	}
	if props, ok := node["properties"].(map[string]any); ok {
		for _, p := range props {
			if m, ok := p.(map[string]any); ok && HasFreeForm(m, true) {
				return true
			}
		}
	}
	if items, ok := node["items"].(map[string]any); ok && HasFreeForm(items, true) {
		return true
	}
	if alts, ok := node["anyOf"].([]any); ok {
		for _, a := range alts {
			if m, ok := a.(map[string]any); ok && HasFreeForm(m, true) {
				return true
			}
		}
	}
	return false
}

func (c *schemaCleaner) clean(v any, depth, refs int) map[string]any {
	s, ok := v.(map[string]any)
	if !ok || depth > maxSchemaDepth {
		return map[string]any{}
	}
	if c.nodes++; c.nodes > maxSchemaNodes {
		// Past the budget every node is a free-form object, which sends the raw schema instead.
		return map[string]any{"type": "object"}
	}
	if ref, ok := s["$ref"].(string); ok {
		return c.cleanRef(s, ref, depth, refs)
	}
	if all, ok := s["allOf"].([]any); ok && len(all) > 0 {
		return c.cleanAllOf(s, all, depth, refs)
	}
	out := make(map[string]any, len(s))
	c.cleanType(s, out, depth, refs)
	copyTyped(s, out)
	c.cleanEnum(s, out)
	c.cleanChildren(s, out, depth, refs)
	c.cleanUnion(s, out, depth, refs)
	inferType(out)
	c.dropMisplaced(out)
	cleanFormat(s, out)
	return out
}

// cleanRef inlines a local reference (#/$defs/..., #/definitions/..., #). Keywords next to $ref (a
// description, usually) win over the target's. A reference that cannot be followed, or that recurses
// past maxRefDepth, becomes a free-form object.
func (c *schemaCleaner) cleanRef(s map[string]any, ref string, depth, refs int) map[string]any {
	target, ok := c.resolve(ref)
	if !ok || refs >= maxRefDepth {
		out := map[string]any{"type": "object"}
		if d, ok := s["description"].(string); ok {
			out["description"] = d
		}
		return out
	}
	merged := make(map[string]any, len(target)+len(s))
	for k, v := range target {
		merged[k] = v
	}
	for k, v := range s {
		if k != "$ref" {
			merged[k] = v
		}
	}
	return c.clean(merged, depth+1, refs+1)
}

func (c *schemaCleaner) resolve(ref string) (map[string]any, bool) {
	pointer, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, false
	}
	var cur any = c.root
	for _, tok := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		if tok == "" {
			continue
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch node := cur.(type) {
		case map[string]any:
			cur = node[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(node) {
				return nil, false
			}
			cur = node[i]
		default:
			return nil, false
		}
	}
	m, ok := cur.(map[string]any)
	return m, ok
}

// cleanAllOf merges the parts of an allOf into one schema: properties and required are united, other
// keywords keep their first value. That is exact for the common use (composing object types).
func (c *schemaCleaner) cleanAllOf(s map[string]any, all []any, depth, refs int) map[string]any {
	rest := make(map[string]any, len(s))
	for k, v := range s {
		if k != "allOf" {
			rest[k] = v
		}
	}
	out := c.clean(rest, depth+1, refs)
	for _, part := range all {
		mergeSchema(out, c.clean(part, depth+1, refs))
	}
	// clean dropped required while rest had no properties of its own; the parts brought them.
	if req, ok := stringList(s["required"]); ok && len(req) > 0 {
		mergeSchema(out, map[string]any{"required": req})
	}
	inferType(out)
	c.dropMisplaced(out)
	return out
}

func mergeSchema(dst, src map[string]any) {
	for k, v := range src {
		switch k {
		case "properties":
			props, _ := dst["properties"].(map[string]any)
			if props == nil {
				props = map[string]any{}
				dst["properties"] = props
			}
			for name, p := range v.(map[string]any) {
				if _, exists := props[name]; !exists {
					props[name] = p
				}
			}
		case "required":
			have, _ := dst["required"].([]string)
			for _, name := range v.([]string) {
				if !containsString(have, name) {
					have = append(have, name)
				}
			}
			dst["required"] = have
		default:
			if _, exists := dst[k]; !exists {
				dst[k] = v
			}
		}
	}
}

// cleanType turns a type list such as ["string","null"] into one type plus nullable, or an anyOf of
// the types when several remain.
func (c *schemaCleaner) cleanType(s, out map[string]any, depth, refs int) {
	if n, ok := s["nullable"].(bool); ok && n {
		out["nullable"] = true
	}
	switch t := s["type"].(type) {
	case string:
		if t == "null" {
			out["nullable"] = true
			return
		}
		out["type"] = strings.ToLower(t)
	case []any:
		var types []string
		for _, e := range t {
			name, ok := e.(string)
			switch {
			case !ok:
			case name == "null":
				out["nullable"] = true
			default:
				types = append(types, strings.ToLower(name))
			}
		}
		switch len(types) {
		case 0:
		case 1:
			out["type"] = types[0]
		default:
			if _, has := s["anyOf"]; has {
				return
			}
			alts := make([]any, len(types))
			for i, name := range types {
				alts[i] = c.clean(withType(s, name), depth+1, refs)
			}
			out["anyOf"] = alts
		}
	}
}

// withType is s restricted to one of its types, for splitting a type list into anyOf alternatives.
func withType(s map[string]any, name string) map[string]any {
	out := make(map[string]any, len(s))
	for k, v := range s {
		switch k {
		case "type", "description", "title", "nullable":
		default:
			out[k] = v
		}
	}
	out["type"] = name
	return out
}

func copyTyped(s, out map[string]any) {
	for _, k := range copiedStrings {
		if v, ok := s[k].(string); ok {
			out[k] = v
		}
	}
	for _, k := range copiedNumbers {
		if v, ok := s[k].(json.Number); ok {
			out[k] = v
		}
	}
	if order, ok := stringList(s["propertyOrdering"]); ok {
		out["propertyOrdering"] = order
	}
}

// cleanEnum turns enum (and const, an enum of one) into the list of strings Gemini takes; null is
// expressed as nullable.
func (c *schemaCleaner) cleanEnum(s, out map[string]any) {
	var values []any
	if e, ok := s["enum"].([]any); ok {
		values = e
	} else if v, ok := s["const"]; ok {
		values = []any{v}
	}
	if values == nil {
		return
	}
	enum := make([]string, 0, len(values))
	for _, v := range values {
		if v == nil {
			out["nullable"] = true
			continue
		}
		enum = append(enum, stringify(v))
	}
	if len(enum) == 0 {
		return
	}
	out["enum"] = enum
	if t, _ := out["type"].(string); t != "" && t != "string" {
		// Google's documented way of restricting a non-string type to listed values.
		out["format"] = "enum"
	}
}

func stringify(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (c *schemaCleaner) cleanChildren(s, out map[string]any, depth, refs int) {
	if props, ok := s["properties"].(map[string]any); ok && len(props) > 0 {
		cleaned := make(map[string]any, len(props))
		for name, p := range props {
			cleaned[name] = c.clean(p, depth+1, refs)
		}
		out["properties"] = cleaned
	}
	if req, ok := stringList(s["required"]); ok && len(req) > 0 {
		out["required"] = req
	}
	switch items := s["items"].(type) {
	case map[string]any:
		out["items"] = c.clean(items, depth+1, refs)
	case []any: // draft-4 tuple form
		if len(items) > 0 {
			out["items"] = c.tupleItems(items, depth, refs)
		}
	case nil:
		if prefix, ok := s["prefixItems"].([]any); ok && len(prefix) > 0 {
			out["items"] = c.tupleItems(prefix, depth, refs)
		}
	}
}

// tupleItems approximates a tuple, which Gemini cannot express, by an array of any of its item types.
func (c *schemaCleaner) tupleItems(items []any, depth, refs int) map[string]any {
	if len(items) == 1 {
		return c.clean(items[0], depth+1, refs)
	}
	alts := make([]any, len(items))
	for i, it := range items {
		alts[i] = c.clean(it, depth+1, refs)
	}
	return map[string]any{"anyOf": alts}
}

// cleanUnion keeps anyOf and oneOf as anyOf (Gemini has no exclusive union). A {"type":"null"}
// alternative becomes nullable, and a union left with one alternative is merged into its parent.
func (c *schemaCleaner) cleanUnion(s, out map[string]any, depth, refs int) {
	var alts []any
	for _, k := range [...]string{"anyOf", "oneOf"} {
		if list, ok := s[k].([]any); ok {
			alts = append(alts, list...)
		}
	}
	if len(alts) == 0 {
		return
	}
	kept := make([]any, 0, len(alts))
	for _, a := range alts {
		if isNullSchema(a) {
			out["nullable"] = true
			continue
		}
		// An alternative that only constrains its parent (say {"required":["a"]}) has no Gemini form.
		if alt := c.clean(a, depth+1, refs); len(alt) > 0 {
			kept = append(kept, alt)
		}
	}
	switch len(kept) {
	case 0:
	case 1:
		mergeSchema(out, kept[0].(map[string]any))
	default:
		out["anyOf"] = kept
		delete(out, "type")
	}
}

func isNullSchema(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	t, _ := m["type"].(string)
	return t == "null" && len(m) <= 2
}

// inferType names the type a JSON Schema leaves implicit; Gemini needs it.
func inferType(out map[string]any) {
	if _, ok := out["type"]; ok {
		return
	}
	if _, ok := out["anyOf"]; ok {
		return
	}
	switch {
	case out["properties"] != nil:
		out["type"] = "object"
	case out["items"] != nil:
		out["type"] = "array"
	case out["enum"] != nil:
		out["type"] = "string"
	}
}

// dropMisplaced removes what Gemini refuses on the node's type: properties and required outside
// objects, items outside arrays, required names that are not properties.
func (c *schemaCleaner) dropMisplaced(out map[string]any) {
	t, _ := out["type"].(string)
	if t != "object" {
		delete(out, "properties")
		delete(out, "required")
		delete(out, "propertyOrdering")
	}
	if t != "array" {
		delete(out, "items")
	}
	if t != "object" {
		return
	}
	props, _ := out["properties"].(map[string]any)
	if len(props) == 0 {
		delete(out, "properties")
		delete(out, "required")
		return
	}
	if req, ok := out["required"].([]string); ok {
		kept := req[:0:0]
		for _, name := range req {
			if _, ok := props[name]; ok && !containsString(kept, name) {
				kept = append(kept, name)
			}
		}
		if len(kept) == 0 {
			delete(out, "required")
		} else {
			out["required"] = kept
		}
	}
	if order, ok := out["propertyOrdering"].([]string); ok {
		for _, name := range order {
			if _, ok := props[name]; !ok {
				delete(out, "propertyOrdering")
				break
			}
		}
	}
}

func cleanFormat(s, out map[string]any) {
	if _, isEnum := out["format"]; isEnum {
		return
	}
	f, _ := s["format"].(string)
	t, _ := out["type"].(string)
	if f != "" && containsString(formatsFor[t], f) {
		out["format"] = f
	}
}

func stringList(v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out, true
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// EncodeSchema writes a cleaned schema with sorted keys (encoding/json sorts map keys), so the same
// input always gives the same bytes.
func EncodeSchema(s map[string]any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
