package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestWriteBundle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bundle")
	if err := writeBundle(dir, "rootfs", []string{"/bin/true"}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("config.json does not parse: %v", err)
	}
	if s.Version != "1.0.2" {
		t.Errorf("ociVersion = %q, want 1.0.2", s.Version)
	}
	if s.Process == nil || s.Process.Terminal || !s.Process.NoNewPrivileges ||
		!slices.Equal(s.Process.Args, []string{"/bin/true"}) {
		t.Errorf("process = %+v, want /bin/true, no terminal, noNewPrivileges", s.Process)
	}
	if s.Root == nil || s.Root.Path != "rootfs" || !s.Root.Readonly {
		t.Errorf("root = %+v, want read-only rootfs", s.Root)
	}
	var ns []specs.LinuxNamespaceType
	for _, n := range s.Linux.Namespaces {
		ns = append(ns, n.Type)
	}
	slices.Sort(ns)
	want := []specs.LinuxNamespaceType{"ipc", "mount", "network", "pid", "uts"}
	if !slices.Equal(ns, want) {
		t.Errorf("namespaces = %v, want %v", ns, want)
	}
	var dests []string
	for _, m := range s.Mounts {
		dests = append(dests, m.Destination)
	}
	if want := []string{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"}; !slices.Equal(dests, want) {
		t.Errorf("mounts = %v, want %v", dests, want)
	}
	if len(s.Linux.MaskedPaths) == 0 || len(s.Linux.ReadonlyPaths) == 0 {
		t.Error("masked or read-only paths missing")
	}
}

func TestSlug(t *testing.T) {
	tests := []struct{ in, want string }{
		{"runc", "runc"},
		{"crun (wrapped)", "crun-wrapped"},
		{"/bin/true", "bin-true"},
		{"Mini_Isolate", "mini-isolate"},
		{"", "x"},
		{"((()))", "x"},
	}
	for _, tc := range tests {
		if got := slug(tc.in); got != tc.want {
			t.Errorf("slug(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/bin/mount", "'/bin/mount'"},
		{"it's", `'it'\''s'`},
		{"", "''"},
	}
	for _, tc := range tests {
		if got := shellQuote(tc.in); got != tc.want {
			t.Errorf("shellQuote(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
