package specconv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func validBundle(t *testing.T) (string, *specs.Spec) {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, Example()
}

func TestValidate(t *testing.T) {
	one := int64(1)
	neg := int64(-2)
	for _, tc := range []struct {
		name  string
		edit  func(*specs.Spec)
		field string // "" means valid
	}{
		{"example is valid", func(*specs.Spec) {}, ""},
		{"prerelease version", func(s *specs.Spec) { s.Version = "1.2.0-rc.1+dev" }, ""},
		{"no version", func(s *specs.Spec) { s.Version = "" }, "ociVersion"},
		{"bad version", func(s *specs.Spec) { s.Version = "1.0" }, "ociVersion"},
		{"version 0", func(s *specs.Spec) { s.Version = "0.9.0" }, "ociVersion"},
		{"no root", func(s *specs.Spec) { s.Root = nil }, "root"},
		{"absolute rootfs missing", func(s *specs.Spec) { s.Root.Path = "/no/such/dir" }, "root.path"},
		{"no process", func(s *specs.Spec) { s.Process = nil }, "process"},
		{"empty arg0", func(s *specs.Spec) { s.Process.Args = []string{""} }, "process.args"},
		{"no cwd", func(s *specs.Spec) { s.Process.Cwd = "" }, "process.cwd"},
		{"oom score", func(s *specs.Spec) { v := 1001; s.Process.OOMScoreAdj = &v }, "process.oomScoreAdj"},
		{"lower-case capability", func(s *specs.Spec) { s.Process.Capabilities.Effective = []string{"cap_chown"} }, ""},
		{"duplicate rlimit", func(s *specs.Spec) {
			s.Process.Rlimits = append(s.Process.Rlimits, s.Process.Rlimits[0])
		}, "process.rlimits[1].type"},
		{"empty mount destination", func(s *specs.Spec) { s.Mounts[0].Destination = "" }, "mounts[0].destination"},
		{"hook timeout", func(s *specs.Spec) {
			z := 0
			s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true", Timeout: &z}}}
		}, "hooks.poststop[0].timeout"},
		{"duplicate namespace", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, s.Linux.Namespaces[0])
		}, fmt.Sprintf("linux.namespaces[%d].type", len(Example().Linux.Namespaces))}, // v2 adds a cgroup namespace
		{"namespace path missing", func(s *specs.Spec) {
			s.Linux.Namespaces[0].Path = "/proc/999999999/ns/pid"
		}, "linux.namespaces[0].path"},
		{"propagation", func(s *specs.Spec) { s.Linux.RootfsPropagation = "sideways" }, "linux.rootfsPropagation"},
		{"masked path", func(s *specs.Spec) { s.Linux.MaskedPaths = []string{"proc/kcore"} }, "linux.maskedPaths[0]"},
		{"device type", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "z"}}
		}, "linux.devices[0].type"},
		{"pids limit", func(s *specs.Spec) { s.Linux.Resources.Pids = &specs.LinuxPids{Limit: &neg} }, "linux.resources.pids.limit"},
		{"pids limit ok", func(s *specs.Spec) { s.Linux.Resources.Pids = &specs.LinuxPids{Limit: &one} }, ""},
		{"swappiness", func(s *specs.Spec) {
			v := uint64(101)
			s.Linux.Resources.Memory = &specs.LinuxMemory{Swappiness: &v}
		}, "linux.resources.memory.swappiness"},
		{"seccomp arch", func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_ALLOW", Architectures: []specs.Arch{"SCMP_ARCH_Z80"}}
		}, "linux.seccomp.architectures[0]"},
		{"seccomp operator", func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_ALLOW", Syscalls: []specs.LinuxSyscall{{
				Names: []string{"read"}, Action: "SCMP_ACT_ERRNO", Args: []specs.LinuxSeccompArg{{Op: "SCMP_CMP_ABOUT"}},
			}}}
		}, "linux.seccomp.syscalls[0].args[0].op"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, spec := validBundle(t)
			tc.edit(spec)
			err := Validate(spec, dir)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one naming %s", tc.field)
			}
			fe, ok := err.(*FieldError)
			if !ok || fe.Field != tc.field {
				t.Fatalf("error %q, want one naming field %s", err, tc.field)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{`{"a":`, "line 1, column 6"},
		{"{\n  \"ociVersion\": 1.0\n}", `ociVersion: cannot use JSON number as string`},
		{"{\n\n  oops\n}", "line 3, column 3"},
		{`{} {}`, "after the top-level value"},
		{"   ", "empty JSON document"},
	} {
		var s specs.Spec
		err := Decode([]byte(tc.in), &s)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Decode(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
	var s specs.Spec
	if err := Decode([]byte(`{"ociVersion":"1.0.0","future":{"x":1}}`), &s); err != nil || s.Version != "1.0.0" {
		t.Errorf("unknown fields must be ignored: %v", err)
	}
}

// TestConfigKeepsTheWorkingDirectory: conversion resolves paths in the
// bundle, as runc's does, without changing the caller's directory, which
// a long-lived caller (the box manager) shares among goroutines.
func TestConfigKeepsTheWorkingDirectory(t *testing.T) {
	before, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	bundle := t.TempDir()
	spec := &specs.Spec{Version: specs.Version, Root: &specs.Root{Path: "rootfs"}, Process: &specs.Process{Args: []string{"true"}, Cwd: "/"},
		Linux: &specs.Linux{}}
	cfg, err := Config(spec, bundle, Options{ID: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Rootfs != filepath.Join(bundle, "rootfs") {
		t.Errorf("rootfs %q, want it in the bundle %s", cfg.Rootfs, bundle)
	}
	if after, _ := os.Getwd(); after != before {
		t.Errorf("working directory %s after, was %s", after, before)
	}
	if _, err := Config(spec, filepath.Join(bundle, "missing"), Options{ID: "t"}); err == nil {
		t.Error("a missing bundle: no error")
	}
}
