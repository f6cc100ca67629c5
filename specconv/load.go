// Package specconv reads, validates and converts OCI runtime specs: from
// config.json to libcontainer's configuration, and from judge options and
// annotations to spec fields.
package specconv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
)

// ConfigName is the name of the spec file inside a bundle.
const ConfigName = "config.json"

// LoadBundle reads and validates DIR/config.json. It returns the spec and the
// bundle's absolute, symlink-free path.
func LoadBundle(dir string) (*specs.Spec, string, error) {
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, "", fmt.Errorf("bundle %s: %w", dir, err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, "", fmt.Errorf("bundle: %w", err)
	}
	if !fi.IsDir() {
		return nil, "", fmt.Errorf("bundle %s: not a directory", abs)
	}
	spec, err := LoadFile(filepath.Join(abs, ConfigName))
	if err != nil {
		return nil, "", err
	}
	absoluteMounts(spec)
	if err := Validate(spec, abs); err != nil {
		return nil, "", err
	}
	return spec, abs, nil
}

// absoluteMounts makes relative mount destinations absolute. Since
// runtime-spec 1.2 a relative destination is allowed, deprecated, and
// relative to "/"; runc warns and accepts it.
func absoluteMounts(spec *specs.Spec) {
	for i, m := range spec.Mounts {
		if m.Destination != "" && !filepath.IsAbs(m.Destination) {
			logrus.Warnf("mount destination %s is not absolute: taken as /%[1]s (relative destinations are deprecated)", m.Destination)
			spec.Mounts[i].Destination = "/" + m.Destination
		}
	}
}

// LoadFile parses a config.json without validating it. Errors name the file
// and, for JSON errors, the line and column or the field.
func LoadFile(path string) (*specs.Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such file or directory (is this an OCI bundle?)", path)
		}
		return nil, err
	}
	var spec specs.Spec
	if err := Decode(data, &spec); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return &spec, nil
}

// Decode unmarshals JSON into v. Unknown fields are ignored, as the OCI spec
// asks; syntax and type errors say where they are.
func Decode(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return errors.New("empty JSON document")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return describeJSONError(data, err)
	}
	// Trailing garbage after the document is as malformed as a syntax error.
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		off := dec.InputOffset()
		line, col := position(data, off)
		return fmt.Errorf("invalid JSON at line %d, column %d: unexpected data after the top-level value", line, col)
	}
	return nil
}

func describeJSONError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		// Offset counts the bytes read, including the offending one.
		line, col := position(data, max(syn.Offset-1, 0))
		return fmt.Errorf("invalid JSON at line %d, column %d: %s", line, col, syn.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(top level)"
		}
		return fmt.Errorf("%s: cannot use JSON %s as %s", field, typ.Value, typ.Type)
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := position(data, int64(len(data)))
		return fmt.Errorf("invalid JSON at line %d, column %d: unexpected end of input", line, col)
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// position turns a byte offset into a 1-based line and column.
func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}
