package specconv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// FuzzDecodeSpec feeds config.json text to the decoder and validator. The
// invariant is the project's rule for bad input: an error of one line,
// never a panic. (The judge's own text is fuzzed in package policy.)

func oneLine(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans lines: %q", err)
	}
}

func FuzzDecodeSpec(f *testing.F) {
	f.Add([]byte(`{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/"}}`))
	f.Add([]byte(`{"ociVersion":"1.0.2","process":{"user":{"uid":"x"}}}`))
	f.Add([]byte(`{"linux":{"namespaces":[{"type":"pid"},{"type":"pid"}]}}`))
	f.Add([]byte(`{"mounts":[{"destination":"tmp"}],"hooks":{"prestart":[{"path":"x"}]}}`))
	f.Add([]byte(`[1,2,3]`))
	dir := f.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s specs.Spec
		err := Decode(data, &s)
		oneLine(t, err)
		if err != nil {
			return
		}
		oneLine(t, Validate(&s, dir))
	})
}
