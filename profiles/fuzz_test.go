package profiles

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary documents to the profile loader. The rule for
// bad input holds: an error of one line naming the file, never a panic;
// and what it accepts must make a bundle or fail with one line too.
func FuzzParse(f *testing.F) {
	entries, err := builtinFS.ReadDir("builtin")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		data, err := builtinFS.ReadFile("builtin/" + e.Name())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(minimal + "    limits: {time: -1, memory: 1e3}\n"))
	f.Add([]byte("source: [a]\nstages: {run: {command: [{}]}}\n"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "fuzz.yaml: ") {
				t.Fatalf("error is not one line naming the file: %q", msg)
			}
			return
		}
		for _, stage := range p.StageNames() {
			_, err := WriteBundle(filepath.Join(t.TempDir(), "b"), p, BundleOptions{Stage: stage})
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Fatalf("bundle error is not one line: %q", err)
			}
		}
	})
}
