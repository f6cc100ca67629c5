package profiles

import (
	"bytes"
	"os"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/mini-isolate/mini-isolate/policy"
)

// schema compiles schema.json, the schema published for editors and
// tools, so that tests can hold it to what the loader accepts.
func schema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("schema.json: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("schema.json: %v", err)
	}
	return s
}

// validateSchema checks a YAML profile against schema.json.
func validateSchema(t *testing.T, data []byte) error {
	t.Helper()
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return err
	}
	return schema(t).Validate(doc)
}

func TestSchemaAcceptsBuiltins(t *testing.T) {
	entries, err := builtinFS.ReadDir("builtin")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := builtinFS.ReadFile("builtin/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if err := validateSchema(t, data); err != nil {
			t.Errorf("%s: %v", e.Name(), err)
		}
	}
}

// TestSchemaMatchesTypes checks that schema.json describes exactly the
// fields the Go types decode, and forbids any other.
func TestSchemaMatchesTypes(t *testing.T) {
	f, err := os.Open("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	root := raw.(map[string]any)
	defs := root["$defs"].(map[string]any)
	resolve := func(s map[string]any) map[string]any {
		if ref, ok := s["$ref"].(string); ok {
			const prefix = "#/$defs/"
			return defs[ref[len(prefix):]].(map[string]any)
		}
		return s
	}
	var walk func(path string, s map[string]any, typ reflect.Type)
	walk = func(path string, s map[string]any, typ reflect.Type) {
		s = resolve(s)
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ == reflect.TypeFor[policy.Duration]() || typ == reflect.TypeFor[policy.Size]() {
			return
		}
		if s["additionalProperties"] != false {
			t.Errorf("%s: schema allows unknown fields", path)
		}
		props, _ := s["properties"].(map[string]any)
		var schemaNames []string
		for k := range props {
			schemaNames = append(schemaNames, k)
		}
		sort.Strings(schemaNames)
		fields := jsonFields(typ)
		if goNames := sortedKeys(fields); !slices.Equal(goNames, schemaNames) {
			t.Errorf("%s: schema properties %v, Go fields %v", path, schemaNames, goNames)
		}
		for name, ft := range fields {
			if ps, ok := props[name].(map[string]any); ok {
				walk(join(path, name), ps, ft)
			}
		}
	}
	walk("(top level)", root, reflect.TypeFor[Profile]())
}
