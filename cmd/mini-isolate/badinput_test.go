package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mini-isolate/mini-isolate/internal/testutil"
)

// editJSON rewrites config.json through a generic map, so tests can write
// what the typed spec cannot express (wrong types, unknown fields).
func editJSON(t *testing.T, bundle string, edit func(map[string]any)) {
	t.Helper()
	path := filepath.Join(bundle, "config.json")
	var m map[string]any
	if err := json.Unmarshal([]byte(readFile(t, path)), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBadConfig(t *testing.T) {
	r := testutil.NewRunner(t)
	write := func(content string) func(*testing.T, string) {
		return func(t *testing.T, b string) {
			if err := os.WriteFile(filepath.Join(b, "config.json"), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	spec := func(edit func(*specs.Spec)) func(*testing.T, string) {
		return func(t *testing.T, b string) {
			s := testutil.DefaultSpec([]string{"true"})
			edit(s)
			testutil.WriteSpec(t, b, s)
		}
	}
	raw := func(edit func(map[string]any)) func(*testing.T, string) {
		return func(t *testing.T, b string) { editJSON(t, b, edit) }
	}
	for _, tc := range []struct {
		name  string
		setup func(*testing.T, string)
		want  []string
	}{
		{"bad JSON", write(`{"ociVersion": "1.0.2",`), []string{"config.json", "line 1"}},
		{"empty file", write(""), []string{"config.json", "empty"}},
		{"trailing garbage", write(`{"ociVersion":"1.0.2"} x`), []string{"config.json", "after the top-level value"}},
		{"missing config.json", func(t *testing.T, b string) { os.Remove(filepath.Join(b, "config.json")) }, []string{"config.json", "no such file"}},
		{"wrong type", raw(func(m map[string]any) {
			m["process"].(map[string]any)["user"] = map[string]any{"uid": "root"}
		}), []string{"process.user.uid"}},
		{"invalid ociVersion", spec(func(s *specs.Spec) { s.Version = "invalid" }), []string{"ociVersion", `"invalid"`}},
		{"unsupported ociVersion", spec(func(s *specs.Spec) { s.Version = "2.0.0" }), []string{"ociVersion"}},
		{"unknown rlimit", spec(func(s *specs.Spec) {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_TEST", Hard: 1, Soft: 1})
		}), []string{"process.rlimits[1].type", "RLIMIT_TEST"}},
		{"soft rlimit above hard", spec(func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 10, Soft: 20}}
		}), []string{"process.rlimits[0]"}},
		{"missing root.path", spec(func(s *specs.Spec) { s.Root.Path = "" }), []string{"root.path"}},
		{"missing root", spec(func(s *specs.Spec) { s.Root = nil }), []string{"root"}},
		{"missing rootfs", spec(func(s *specs.Spec) { s.Root.Path = "no-such-rootfs" }), []string{"root.path", "does not exist"}},
		{"missing process", spec(func(s *specs.Spec) { s.Process = nil }), []string{"process"}},
		{"empty args", spec(func(s *specs.Spec) { s.Process.Args = nil }), []string{"process.args"}},
		{"relative cwd", spec(func(s *specs.Spec) { s.Process.Cwd = "box" }), []string{"process.cwd"}},
		// The example spec has a cgroup namespace on cgroup v2 only: the
		// bogus entry's index differs.
		{"unknown namespace", spec(func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
		}), []string{fmt.Sprintf("linux.namespaces[%d].type", len(testutil.DefaultSpec(nil).Linux.Namespaces)), "bogus"}},
		{"negative memory limit", spec(func(s *specs.Spec) {
			v := int64(-5)
			s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &v}
		}), []string{"linux.resources.memory.limit"}},
		{"relative hook path", spec(func(s *specs.Spec) {
			//lint:ignore SA1019 prestart hooks are still part of the spec.
			s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "sh"}}}
		}), []string{"hooks.prestart[0].path"}},
		{"unknown seccomp action", spec(func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_EXPLODE"}
		}), []string{"linux.seccomp.defaultAction"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := r.For(t)
			bundle := testutil.Bundle(t, []string{"true"}, nil)
			tc.setup(t, bundle)
			id := r.ID("bad")
			res := r.Run("create", "--bundle", bundle, id)
			if res.Code == 0 {
				t.Fatal("create succeeded")
			}
			msg := strings.TrimSpace(res.Stderr)
			if strings.Contains(msg, "\n") {
				t.Errorf("want one line of error, got:\n%s", msg)
			}
			if strings.Contains(msg, "goroutine") || strings.Contains(msg, "panic") {
				t.Errorf("panicked:\n%s", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			if entries, _ := os.ReadDir(r.Root); len(entries) > 0 {
				t.Errorf("state left in the root: %v", entries)
			}
			if dirs := testutil.CgroupDirs(id); len(dirs) > 0 {
				t.Errorf("cgroups left: %v", dirs)
			}
		})
	}
}

func TestUnknownFieldsIgnored(t *testing.T) {
	r := testutil.NewRunner(t)
	bundle := testutil.Bundle(t, []string{"true"}, nil)
	editJSON(t, bundle, func(m map[string]any) {
		m["someFutureField"] = map[string]any{"x": 1}
		m["process"].(map[string]any)["anotherOne"] = true
		m["annotations"] = map[string]any{"org.example.unknown": "whatever"}
	})
	id := r.ID("unk")
	createWithOutput(t, r, bundle, id)
	r.MustRun("start", id)
	r.WaitStatus(id, specs.StateStopped, 30*time.Second)
	r.MustRun("delete", id)
}

func TestBadFlags(t *testing.T) {
	r := testutil.NewRunner(t)
	for _, args := range [][]string{
		{"--log-format", "xml", "list"},
		{"list", "--format", "yaml"},
		{"create", "--no-such-flag", "x"},
		{"create"},
		{"kill", "a", "b", "c"},
		{"update", "--memory", "-3", r.ID("x")},
		{"no-such-command"},
	} {
		res := r.Run(args...)
		if res.Code == 0 {
			t.Errorf("%v: exit 0", args)
		}
		if strings.TrimSpace(res.Stderr) == "" {
			t.Errorf("%v: no error message", args)
		}
		if strings.Contains(res.Stderr, "goroutine") {
			t.Errorf("%v: panicked: %s", args, res.Stderr)
		}
	}
}

func TestLogJSON(t *testing.T) {
	r := testutil.NewRunner(t)
	log := filepath.Join(t.TempDir(), "log.json")
	id := r.ID("missing")
	res := r.Run("--log", log, "--log-format", "json", "state", id)
	if res.Code == 0 {
		t.Fatal("state of an unknown id succeeded")
	}
	if !strings.Contains(res.Stderr, "container does not exist") {
		t.Errorf("stderr %q", res.Stderr)
	}
	lines := strings.Split(strings.TrimSpace(readFile(t, log)), "\n")
	if len(lines) != 1 {
		t.Fatalf("log has %d lines, want exactly one:\n%s", len(lines), readFile(t, log))
	}
	var entry struct {
		Level string    `json:"level"`
		Msg   string    `json:"msg"`
		Time  time.Time `json:"time"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &entry); err != nil {
		t.Fatalf("log line is not {level,msg,time} JSON with an RFC 3339 time: %v\n%s", err, lines[0])
	}
	if entry.Level != "error" || !strings.Contains(entry.Msg, "container does not exist") || entry.Time.IsZero() {
		t.Errorf("log entry %+v", entry)
	}
	// Successful calls add nothing, so the last error stays the one callers read.
	r.MustRun("--log", log, "--log-format", "json", "list")
	if got := strings.Count(strings.TrimSpace(readFile(t, log)), "\n"); got != 0 {
		t.Errorf("a successful call wrote to the log")
	}
}

func TestFeaturesAndVersion(t *testing.T) {
	r := testutil.NewRunner(t)
	var f struct {
		OCIVersionMin string            `json:"ociVersionMin"`
		OCIVersionMax string            `json:"ociVersionMax"`
		Hooks         []string          `json:"hooks"`
		MountOptions  []string          `json:"mountOptions"`
		Annotations   map[string]string `json:"annotations"`
		Linux         struct {
			Namespaces   []string `json:"namespaces"`
			Capabilities []string `json:"capabilities"`
			Cgroup       struct {
				V1 bool `json:"v1"`
				V2 bool `json:"v2"`
			} `json:"cgroup"`
			Seccomp struct {
				Enabled bool     `json:"enabled"`
				Actions []string `json:"actions"`
			} `json:"seccomp"`
			Apparmor        *struct{ Enabled bool } `json:"apparmor"`
			Selinux         *struct{ Enabled bool } `json:"selinux"`
			MountExtensions struct {
				IDMap struct {
					Enabled bool `json:"enabled"`
				} `json:"idmap"`
			} `json:"mountExtensions"`
		} `json:"linux"`
	}
	res := r.MustRun("features")
	if err := json.Unmarshal([]byte(res.Stdout), &f); err != nil {
		t.Fatalf("features is not JSON: %v", err)
	}
	has := func(list []string, v string) bool {
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	}
	switch {
	case f.OCIVersionMin != "1.0.0" || f.OCIVersionMax != specs.Version:
		t.Errorf("oci versions %s..%s", f.OCIVersionMin, f.OCIVersionMax)
	case !has(f.Hooks, "prestart") || !has(f.Hooks, "poststop"):
		t.Errorf("hooks %v", f.Hooks)
	case !has(f.MountOptions, "rro"):
		t.Errorf("mountOptions lack rro: %v", f.MountOptions)
	case !has(f.Linux.Namespaces, "user") || !has(f.Linux.Namespaces, "cgroup"):
		t.Errorf("namespaces %v", f.Linux.Namespaces)
	case !has(f.Linux.Capabilities, "CAP_SYS_ADMIN"):
		t.Errorf("capabilities %v", f.Linux.Capabilities)
	case !f.Linux.Cgroup.V1 || !f.Linux.Cgroup.V2:
		t.Errorf("cgroup %+v", f.Linux.Cgroup)
	case !f.Linux.Seccomp.Enabled || !has(f.Linux.Seccomp.Actions, "SCMP_ACT_ERRNO"):
		t.Errorf("seccomp %+v (was the binary built with the seccomp tag?)", f.Linux.Seccomp)
	case f.Linux.Apparmor == nil || f.Linux.Selinux == nil:
		t.Error("apparmor or selinux missing")
	case !f.Linux.MountExtensions.IDMap.Enabled:
		t.Error("idmap mounts not reported")
	case f.Annotations["io.github.seccomp.libseccomp.version"] == "":
		t.Errorf("annotations %v lack the libseccomp version", f.Annotations)
	}

	res = r.MustRun("--version")
	lines := strings.Split(res.Stdout, "\n")
	if !strings.HasPrefix(lines[0], "mini-isolate version ") {
		t.Errorf("first line %q, want \"mini-isolate version X\" (docker info parses it)", lines[0])
	}
	for _, want := range []string{"\nspec: " + specs.Version + "\n", "\nlibseccomp: "} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("--version lacks %q:\n%s", want, res.Stdout)
		}
	}
	// docker info reads the default runtime's --version this way (moby's
	// parseRuntimeVersion): the last line naming "version" gives the name
	// and the version, a "commit:" line the commit.
	var name, version, commit string
	for _, l := range lines {
		if strings.Contains(l, "version") {
			parts := strings.Split(l, "version")
			name, version = strings.TrimSpace(parts[0]), strings.TrimSpace(parts[len(parts)-1])
		}
		if c, ok := strings.CutPrefix(l, "commit:"); ok {
			commit = strings.TrimSpace(c)
		}
	}
	if name != "mini-isolate" || version == "" || commit == "" {
		t.Errorf("docker info would show runtime %q version %q commit %q:\n%s", name, version, commit, res.Stdout)
	}
}
