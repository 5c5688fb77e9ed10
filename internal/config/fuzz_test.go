package config

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzParse feeds the same text to every kind (plain and as every registered setting): Parse must
// never panic, errors must name the setting, and an accepted value must read back identically after
// Format, since that is how it travels through the database.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", " ", "0", "3", "3.0", "-1", "1e3", "1e30", "0x1p3", "NaN", "Inf", "-0",
		"true", "On", "no", "debug", "SMMS",
		`["a","b"]`, `[1, true, null, {"x":[1]}]`, "a, b\nc", "[", "null", "[null]",
		`{"a":"1","b":2}`, `{'m': 1024.5}`, `{"m": "NaN"}`, `{"m": 1e308}`,
		`[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"OFF"}]`, `[{}, null]`,
		"\xff\xfe", "a\u0085b", "<script>&", `"quoted"`,
	} {
		f.Add(s)
	}
	var defs []*Def
	for _, d := range plainDefs() {
		defs = append(defs, d)
	}
	defs = append(defs, All()...)
	f.Fuzz(func(t *testing.T, raw string) {
		for _, d := range defs {
			v, err := d.Parse(raw)
			if err != nil {
				if !strings.HasPrefix(err.Error(), d.Name+": ") {
					t.Fatalf("%s: error %q does not name the setting", d.Name, err)
				}
				continue
			}
			if reflect.TypeOf(v) != reflect.TypeOf(d.Default) {
				t.Fatalf("%s.Parse(%q) gave %T, want %T", d.Name, raw, v, d.Default)
			}
			text := d.Format(v)
			v2, err := d.Parse(text)
			if err != nil {
				t.Fatalf("%s: Parse(%q) = %#v, but its Format %q is rejected: %v", d.Name, raw, v, text, err)
			}
			if !reflect.DeepEqual(v, v2) {
				t.Fatalf("%s: Parse(%q) = %#v, after Format %q: %#v", d.Name, raw, v, text, v2)
			}
			if text2 := d.Format(v2); text2 != text {
				t.Fatalf("%s: Format not stable: %q then %q", d.Name, text, text2)
			}
		}
	})
}
