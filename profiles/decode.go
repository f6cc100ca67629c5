package profiles

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/mini-isolate/mini-isolate/policy"
)

// FieldError is a problem with one field of a profile. Its text is the
// field's path and what is wrong.
type FieldError = policy.FieldError

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// decodeYAML decodes a YAML profile strictly: duplicate keys, unknown
// fields and wrong types are errors that name the field. encoding/json
// alone would name neither an unknown field's place nor the field of a
// custom type that fails, so the document is first walked against the Go
// type.
func decodeYAML(data []byte, v any) error {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return yamlError(err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("invalid document: %w", err)
	}
	if doc == nil {
		return errors.New("empty profile")
	}
	if err := check(doc, reflect.TypeOf(v).Elem(), ""); err != nil {
		return err
	}
	dec = json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// yamlError makes a YAML parser's error one line: "yaml: line N: what".
func yamlError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
	var parts []string
	for _, line := range strings.Split(msg, "\n") {
		if line = strings.TrimSpace(line); line != "" && line != "yaml: unmarshal errors:" {
			parts = append(parts, strings.TrimPrefix(line, "yaml: "))
		}
	}
	return errors.New("yaml: " + strings.Join(parts, "; "))
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe names a decoded JSON value's type for error messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("string %q", x)
	case json.Number:
		return "number " + x.String()
	case bool:
		return "boolean " + strconv.FormatBool(x)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

// check walks a decoded document against the type it will be decoded into.
func check(v any, t reflect.Type, path string) error {
	if v == nil {
		// null leaves the zero value; required fields are validated later.
		return nil
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		raw, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(raw); err != nil {
			return fieldErr(path, "%s", err)
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return fieldErr(orTop(path), "want a mapping, got %s", describe(v))
		}
		fields := jsonFields(t)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				return fieldErr(join(path, k), "unknown field (known: %s)", strings.Join(sortedKeys(fields), ", "))
			}
			if err := check(m[k], ft, join(path, k)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			return fieldErr(path, "want a list, got %s", describe(v))
		}
		for i, e := range list {
			if err := check(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			return fieldErr(path, "want a string, got %s", describe(v))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return fieldErr(path, "want true or false, got %s", describe(v))
		}
	case reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			return fieldErr(path, "want an integer, got %s", describe(v))
		}
		if _, err := strconv.ParseInt(n.String(), 10, 64); err != nil {
			return fieldErr(path, "want an integer, got %s", describe(v))
		}
	default:
		return fmt.Errorf("%s: internal error: cannot check a %s", path, t)
	}
	return nil
}

func orTop(path string) string {
	if path == "" {
		return "(top level)"
	}
	return path
}

// jsonFields maps a struct's JSON names to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

func sortedKeys(m map[string]reflect.Type) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
