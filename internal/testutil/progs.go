package testutil

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// progs are small C programs that judge and attack tests run in sandboxes.
//
//go:embed progs/*.c
var progs embed.FS

var (
	progsOnce sync.Once
	progsDir  string
	progsErr  error
)

// Programs compiles the test programs once per test process, statically so
// that they run in a busybox rootfs, and returns their directory.
func Programs(t testing.TB) string {
	t.Helper()
	progsOnce.Do(func() {
		if _, err := exec.LookPath("gcc"); err != nil {
			progsErr = fmt.Errorf("gcc: %w", err)
			return
		}
		entries, err := progs.ReadDir("progs")
		if err != nil {
			progsErr = err
			return
		}
		// One directory per version of the sources, reused by later test
		// processes instead of piling up in /tmp.
		h := sha256.New()
		for _, e := range entries {
			src, _ := progs.ReadFile("progs/" + e.Name())
			fmt.Fprintf(h, "%s %d\n", e.Name(), len(src))
			h.Write(src)
		}
		dir := filepath.Join(os.TempDir(), "mini-isolate-progs-"+hex.EncodeToString(h.Sum(nil))[:16])
		if _, err := os.Stat(dir); err == nil {
			progsDir = dir
			return
		}
		// Build aside and rename into place: test processes of other
		// packages may build the same directory at the same time.
		final := dir
		if dir, err = os.MkdirTemp(os.TempDir(), "mini-isolate-progs-build-"); err != nil {
			progsErr = err
			return
		}
		defer os.RemoveAll(dir)
		for _, e := range entries {
			src, err := progs.ReadFile("progs/" + e.Name())
			if err != nil {
				progsErr = err
				return
			}
			srcPath := filepath.Join(dir, e.Name())
			if err := os.WriteFile(srcPath, src, 0o644); err != nil {
				progsErr = err
				return
			}
			out := filepath.Join(dir, strings.TrimSuffix(e.Name(), ".c"))
			cmd := exec.Command("gcc", "-O2", "-static", "-pthread", "-o", out, srcPath)
			if msg, err := cmd.CombinedOutput(); err != nil {
				progsErr = fmt.Errorf("compile %s: %v\n%s", e.Name(), err, msg)
				return
			}
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			progsErr = err
			return
		}
		if err := os.Rename(dir, final); err != nil {
			if _, statErr := os.Stat(final); statErr != nil {
				progsErr = err
				return
			}
		}
		progsDir = final
	})
	if progsErr != nil {
		t.Fatalf("test programs: %v", progsErr)
	}
	return progsDir
}

// JudgeBundle is Bundle with the test programs in /bin, the given judge
// annotations (keys without the io.github.mini-isolate. prefix), and a
// writable host directory bound at /out, which it returns.
func JudgeBundle(t testing.TB, args []string, annotations map[string]string, edit func(*specs.Spec)) (bundle, out string) {
	t.Helper()
	dir := Programs(t)
	out = t.TempDir()
	if err := os.Chmod(out, 0o777); err != nil {
		t.Fatal(err)
	}
	bundle = Bundle(t, args, func(s *specs.Spec) {
		s.Annotations = map[string]string{}
		for k, v := range annotations {
			s.Annotations["io.github.mini-isolate."+k] = v
		}
		s.Mounts = append(s.Mounts, specs.Mount{
			Destination: "/out", Type: "bind", Source: out, Options: []string{"rbind", "rw"},
		})
		if edit != nil {
			edit(s)
		}
	})
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".c") {
			continue
		}
		src, dst := filepath.Join(dir, e.Name()), filepath.Join(bundle, "rootfs", "bin", e.Name())
		if os.Link(src, dst) == nil {
			continue
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(bundle, "rootfs", "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	return bundle, out
}

// ParseMeta reads a report in isolate's key:value format.
func ParseMeta(t testing.TB, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("meta file: %v", err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("meta line %q is not key:value", line)
		}
		if _, dup := m[k]; dup {
			t.Fatalf("meta key %s appears twice", k)
		}
		m[k] = v
	}
	return m
}
