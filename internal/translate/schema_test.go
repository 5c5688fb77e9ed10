package translate

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func cleanedJSON(t *testing.T, in string) (string, bool) {
	t.Helper()
	out, err := CleanSchema(json.RawMessage(in))
	if err != nil {
		t.Fatalf("%s: %v", in, err)
	}
	b, err := EncodeSchema(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), HasFreeForm(out, false)
}

func TestCleanSchema(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		freeForm       bool
	}{
		{"unsupported keywords dropped",
			`{"$schema":"x","$id":"y","$comment":"z","type":"object","additionalProperties":false,"patternProperties":{},"examples":[1],"default":{},"properties":{"a":{"type":"string","contentEncoding":"base64","contentMediaType":"x","readOnly":true,"writeOnly":false,"deprecated":true}}}`,
			`{"properties":{"a":{"type":"string"}},"type":"object"}`, false},
		{"kept keywords",
			`{"type":"object","title":"T","description":"D","minProperties":1,"maxProperties":3,"propertyOrdering":["b","a"],"properties":{"a":{"type":"string","pattern":"^x","minLength":1,"maxLength":9},"b":{"type":"array","items":{"type":"number","minimum":0.5,"maximum":9007199254740993},"minItems":1,"maxItems":2}}}`,
			`{"description":"D","maxProperties":3,"minProperties":1,"properties":{"a":{"maxLength":9,"minLength":1,"pattern":"^x","type":"string"},"b":{"items":{"maximum":9007199254740993,"minimum":0.5,"type":"number"},"maxItems":2,"minItems":1,"type":"array"}},"propertyOrdering":["b","a"],"title":"T","type":"object"}`, false},
		{"exclusive bounds dropped", `{"type":"integer","exclusiveMinimum":0,"exclusiveMaximum":10}`, `{"type":"integer"}`, false},
		{"nullable type list", `{"type":["null","integer"]}`, `{"nullable":true,"type":"integer"}`, false},
		{"type list becomes anyOf", `{"type":["string","integer"],"description":"d"}`,
			`{"anyOf":[{"type":"string"},{"type":"integer"}],"description":"d"}`, false},
		{"const", `{"const":3}`, `{"enum":["3"],"type":"string"}`, false},
		{"const typed", `{"type":"integer","const":3}`, `{"enum":["3"],"format":"enum","type":"integer"}`, false},
		{"enum stringified", `{"type":"string","enum":["a",1,true,null,{"x":1}]}`, `{"enum":["a","1","true","{\"x\":1}"],"nullable":true,"type":"string"}`, false},
		{"formats", `{"type":"object","properties":{"a":{"type":"string","format":"email"},"b":{"type":"string","format":"date-time"},"c":{"type":"integer","format":"int64"},"d":{"type":"number","format":"int32"},"e":{"type":"number","format":"float"}}}`,
			`{"properties":{"a":{"type":"string"},"b":{"format":"date-time","type":"string"},"c":{"format":"int64","type":"integer"},"d":{"type":"number"},"e":{"format":"float","type":"number"}},"type":"object"}`, false},
		{"anyOf with null hoisted", `{"anyOf":[{"type":"string","description":"s"},{"type":"null"}]}`, `{"description":"s","nullable":true,"type":"string"}`, false},
		{"oneOf becomes anyOf", `{"oneOf":[{"type":"string"},{"type":"object","properties":{"x":{"type":"number"}}}]}`,
			`{"anyOf":[{"type":"string"},{"properties":{"x":{"type":"number"}},"type":"object"}]}`, false},
		{"constraint-only alternatives dropped", `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"anyOf":[{"required":["a"]},{"required":["b"]}]}`,
			`{"properties":{"a":{"type":"string"},"b":{"type":"string"}},"type":"object"}`, false},
		{"allOf merged", `{"allOf":[{"$ref":"#/$defs/A"},{"type":"object","properties":{"b":{"type":"integer"}},"required":["b"]}],"required":["a"],"$defs":{"A":{"type":"object","properties":{"a":{"type":"string"}}}}}`,
			`{"properties":{"a":{"type":"string"},"b":{"type":"integer"}},"required":["b","a"],"type":"object"}`, false},
		{"ref siblings win", `{"type":"object","properties":{"p":{"$ref":"#/definitions/P","description":"mine"}},"definitions":{"P":{"type":"string","description":"theirs"}}}`,
			`{"properties":{"p":{"description":"mine","type":"string"}},"type":"object"}`, false},
		{"ref escapes", `{"type":"object","properties":{"p":{"$ref":"#/$defs/a~1b~0c"}},"$defs":{"a/b~c":{"type":"boolean"}}}`,
			`{"properties":{"p":{"type":"boolean"}},"type":"object"}`, false},
		{"ref into array", `{"type":"object","properties":{"p":{"$ref":"#/$defs/list/1"}},"$defs":{"list":[{"type":"string"},{"type":"number"}]}}`,
			`{"properties":{"p":{"type":"number"}},"type":"object"}`, false},
		{"unresolvable ref", `{"type":"object","properties":{"p":{"$ref":"https://example.com/s.json","description":"d"}}}`,
			`{"properties":{"p":{"description":"d","type":"object"}},"type":"object"}`, true},
		{"recursive ref ends", `{"$ref":"#/$defs/N","$defs":{"N":{"type":"object","properties":{"next":{"$ref":"#/$defs/N"}}}}}`, "", true},
		{"root ref", `{"type":"object","properties":{"self":{"$ref":"#"}}}`, "", true},
		{"free-form nested object", `{"type":"object","properties":{"meta":{"type":"object","additionalProperties":true}}}`,
			`{"properties":{"meta":{"type":"object"}},"type":"object"}`, true},
		{"required filtered", `{"type":"object","properties":{"a":{"type":"string"}},"required":["a","b","a"]}`,
			`{"properties":{"a":{"type":"string"}},"required":["a"],"type":"object"}`, false},
		{"object keywords off objects", `{"type":"string","properties":{"a":{"type":"string"}},"required":["a"],"items":{"type":"string"}}`, `{"type":"string"}`, false},
		{"implicit object", `{"properties":{"a":{"type":"string"}},"required":["a"]}`, `{"properties":{"a":{"type":"string"}},"required":["a"],"type":"object"}`, false},
		{"implicit array", `{"items":{"type":"string"}}`, `{"items":{"type":"string"},"type":"array"}`, false},
		{"tuple", `{"type":"array","prefixItems":[{"type":"string"},{"type":"number"}]}`,
			`{"items":{"anyOf":[{"type":"string"},{"type":"number"}]},"type":"array"}`, false},
		{"draft4 tuple", `{"type":"array","items":[{"type":"string"}]}`, `{"items":{"type":"string"},"type":"array"}`, false},
		{"upper-case type", `{"type":"OBJECT","properties":{"a":{"type":"STRING"}}}`, `{"properties":{"a":{"type":"string"}},"type":"object"}`, false},
		{"null type", `{"type":"null"}`, `{"nullable":true}`, false},
		{"garbage values ignored", `{"type":5,"description":7,"minimum":"x","required":"a","properties":[],"enum":"a"}`, `{}`, false},
		{"boolean sub-schema", `{"type":"object","properties":{"a":true}}`, `{"properties":{"a":{}},"type":"object"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, free := cleanedJSON(t, tc.in)
			if tc.want != "" && got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
			if free != tc.freeForm {
				t.Fatalf("free-form %v, want %v: %s", free, tc.freeForm, got)
			}
		})
	}
}

func TestCleanSchemaBounded(t *testing.T) {
	deep := strings.Repeat(`{"type":"object","properties":{"a":`, 200) + `{"type":"string"}` + strings.Repeat(`}}`, 200)
	got, _ := cleanedJSON(t, deep)
	if depth := strings.Count(got, `"properties"`); depth > maxSchemaDepth+2 {
		t.Fatalf("nesting not bounded: %d levels", depth)
	}
	// A reference chain that fans out at every step must not explode.
	var b strings.Builder
	b.WriteString(`{"$ref":"#/$defs/d0","$defs":{`)
	for i := range 30 {
		if i > 0 {
			b.WriteString(",")
		}
		next := `{"type":"string"}`
		if i < 29 {
			ref := `{"$ref":"#/$defs/d` + strconv.Itoa(i+1) + `"}`
			next = `{"type":"object","properties":{"a":` + ref + `,"b":` + ref + `,"c":` + ref + `,"d":` + ref + `}}`
		}
		b.WriteString(`"d` + strconv.Itoa(i) + `":` + next)
	}
	b.WriteString("}}")
	got, free := cleanedJSON(t, b.String())
	if len(got) > 1<<20 || !free {
		t.Fatalf("reference expansion not bounded: %d bytes, free-form %v", len(got), free)
	}
}

func TestCleanSchemaRejectsNonObjects(t *testing.T) {
	for _, in := range []string{`[]`, `"x"`, `5`, `true`, `{`} {
		if _, err := CleanSchema(json.RawMessage(in)); err == nil {
			t.Errorf("%s accepted", in)
		}
	}
}

// The same schema twice gives the same declaration, the second time from memory: agents send their
// tools with every turn.
func TestDeclarationRemembersSchemas(t *testing.T) {
	params := json.RawMessage(`{"type":"object","properties":{"city":{"type":"string","description":"City name"},"unit":{"type":["string","null"],"enum":["C","F",null]}},"required":["city"],"additionalProperties":false}`)
	first, err := Declaration("get_weather", "Current weather.", params)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Declaration("other", "Another function, same schema.", slices.Clone(params))
	if err != nil || string(again.Parameters) != string(first.Parameters) || again.Name != "other" || again.Description != "Another function, same schema." {
		t.Fatalf("second declaration %+v (%v), first %+v", again, err, first)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = Declaration("f", "", params) }); n > 2 {
		t.Fatalf("a schema seen before is cleaned again: %.0f allocations", n)
	}
	free := json.RawMessage(`{"type":"object","properties":{"meta":{"type":"object"}}}`)
	want := `{"properties":{"meta":{"type":"object"}},"type":"object"}`
	for range 2 {
		d, err := Declaration("f", "", free)
		if err != nil || d.Parameters != nil || string(d.ParametersJSONSchema) != want {
			t.Fatalf("free-form schema: %s %s %v", d.Parameters, d.ParametersJSONSchema, err)
		}
	}
	for range 2 {
		if _, err := Declaration("f", "", json.RawMessage(`[1]`)); err == nil {
			t.Fatal("a schema that is not an object was accepted")
		}
	}
}
