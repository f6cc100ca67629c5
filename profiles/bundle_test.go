package profiles

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/specconv"
)

func mountAt(spec *specs.Spec, dest string) *specs.Mount {
	for i := range spec.Mounts {
		if spec.Mounts[i].Destination == dest {
			return &spec.Mounts[i]
		}
	}
	return nil
}

func rlimit(spec *specs.Spec, typ string) (uint64, bool) {
	for _, r := range spec.Process.Rlimits {
		if r.Type == typ {
			return r.Hard, true
		}
	}
	return 0, false
}

// TestWriteBundleBuiltins writes a bundle for every stage of every
// built-in profile and checks it against the profile and the runtime's own
// validation, as `mini-isolate run` will load it.
func TestWriteBundleBuiltins(t *testing.T) {
	set, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range set.List() {
		for _, stage := range p.StageNames() {
			t.Run(p.Name+"/"+stage, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "bundle")
				if _, err := WriteBundle(dir, p, BundleOptions{Stage: stage}); err != nil {
					t.Fatal(err)
				}
				spec, abs, err := specconv.LoadBundle(dir)
				if err != nil {
					t.Fatalf("the runtime rejects the bundle: %v", err)
				}
				if err := policy.ValidateJudge(spec); err != nil {
					t.Fatal(err)
				}
				st := p.Stage(stage)
				l := st.Limits
				proc := spec.Process
				if !slices.Equal(proc.Args, st.Command) || proc.Cwd != "/box" || proc.Terminal {
					t.Errorf("process args %v cwd %q terminal %v", proc.Args, proc.Cwd, proc.Terminal)
				}
				if proc.User.UID != DefaultUID || proc.User.GID != DefaultGID || !proc.NoNewPrivileges {
					t.Errorf("user %+v noNewPrivileges %v", proc.User, proc.NoNewPrivileges)
				}
				if c := proc.Capabilities; c == nil || len(c.Bounding)+len(c.Effective)+len(c.Permitted)+len(c.Inheritable)+len(c.Ambient) > 0 {
					t.Errorf("capabilities %+v, want none", c)
				}
				if !slices.Contains(proc.Env, "PATH=/usr/local/bin:/usr/bin:/bin") || !slices.Contains(proc.Env, "LIBC_FATAL_STDERR_=1") {
					t.Errorf("env %v", proc.Env)
				}
				if spec.Root.Path != RootDir || !spec.Root.Readonly {
					t.Errorf("root %+v, want %s read-only", spec.Root, RootDir)
				}
				if fi, err := os.Stat(filepath.Join(abs, RootDir)); err != nil || !fi.IsDir() {
					t.Errorf("rootfs: %v", err)
				}
				box := mountAt(spec, "/box")
				if box == nil || box.Source != BoxDir || !slices.Contains(box.Options, "rw") && slices.Contains(box.Options, "ro") {
					t.Errorf("/box mount %+v, want %s bound read-write", box, BoxDir)
				}
				for dest, typ := range map[string]string{"/proc": "proc", "/tmp": "tmpfs", "/dev": "tmpfs", "/dev/shm": "tmpfs"} {
					if m := mountAt(spec, dest); m == nil || m.Type != typ {
						t.Errorf("%s: %+v, want %s", dest, m, typ)
					}
				}
				for _, dest := range []string{"/bin", "/lib", "/usr"} {
					m := mountAt(spec, dest)
					if m == nil || m.Type != "bind" || !slices.Contains(m.Options, "ro") || !slices.Contains(m.Options, "nosuid") {
						t.Errorf("%s: %+v, want a read-only bind", dest, m)
					}
				}
				for _, d := range p.Dirs {
					rule, _ := policy.ParseDirRule(d)
					if _, err := os.Stat(rule.Out); err == nil && mountAt(spec, "/"+rule.In) == nil {
						t.Errorf("profile rule %q has no mount", d)
					}
				}
				var ns []specs.LinuxNamespaceType
				for _, n := range spec.Linux.Namespaces {
					ns = append(ns, n.Type)
				}
				for _, want := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.NetworkNamespace, specs.MountNamespace, specs.IPCNamespace, specs.UTSNamespace} {
					if !slices.Contains(ns, want) {
						t.Errorf("namespaces %v lack %s", ns, want)
					}
				}
				if spec.Linux.Seccomp == nil || len(spec.Linux.Seccomp.Syscalls) == 0 {
					t.Error("no seccomp policy")
				}
				res := spec.Linux.Resources
				if res.Memory == nil || *res.Memory.Limit != int64(l.Memory) {
					t.Errorf("memory %+v, want %d", res.Memory, l.Memory)
				}
				if res.Pids == nil || res.Pids.Limit == nil || *res.Pids.Limit != l.Processes {
					t.Errorf("pids %+v, want %d", res.Pids, l.Processes)
				}
				for typ, want := range map[string]int64{
					"RLIMIT_AS": int64(l.AddressSpace), "RLIMIT_STACK": int64(l.Stack),
					"RLIMIT_FSIZE": int64(l.FileSize), "RLIMIT_NOFILE": l.OpenFiles, "RLIMIT_CORE": 0,
				} {
					got, ok := rlimit(spec, typ)
					if ok != (want > 0 || typ == "RLIMIT_CORE") || int64(got) != want {
						t.Errorf("%s = %d (set: %v), want %d", typ, got, ok, want)
					}
				}
				j, err := policy.JudgeFromAnnotations(spec.Annotations)
				if err != nil || j == nil {
					t.Fatalf("judge annotations: %v %v", j, err)
				}
				if got := j.Limits; got.Time != l.Time || got.WallTime != l.WallTime || got.ExtraTime != l.ExtraTime || got.Output != l.Output {
					t.Errorf("judge %+v, want the limits %+v", j, l)
				}
			})
		}
	}
}

func TestWriteBundleOptions(t *testing.T) {
	set, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	cpp, _ := set.Get("cpp")
	shared := t.TempDir()
	rule := func(s string) policy.DirRule {
		r, err := policy.ParseDirRule(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	env := func(s string) policy.EnvRule {
		r, err := policy.ParseEnvRule(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	t.Setenv("MINI_ISOLATE_TEST_VAR", "inherited")
	for _, tc := range []struct {
		name  string
		o     BundleOptions
		check func(t *testing.T, dir string, s *specs.Spec)
	}{
		{"command after --", BundleOptions{Args: []string{"./main", "--fast"}}, func(t *testing.T, _ string, s *specs.Spec) {
			if !slices.Equal(s.Process.Args, []string{"./main", "--fast"}) {
				t.Errorf("args %v", s.Process.Args)
			}
		}},
		{"limits", BundleOptions{Limits: &policy.Limits{Time: policy.Duration(2 * time.Second), Memory: 64 << 20}}, func(t *testing.T, _ string, s *specs.Spec) {
			if s.Annotations[policy.AnnotationTime] != "2" || *s.Linux.Resources.Memory.Limit != 64<<20 {
				t.Errorf("annotations %v memory %v", s.Annotations, *s.Linux.Resources.Memory.Limit)
			}
			if _, ok := s.Annotations[policy.AnnotationWallTime]; ok || s.Linux.Resources.Pids != nil {
				t.Error("limits that were lifted are still set")
			}
			if _, ok := rlimit(s, "RLIMIT_AS"); ok {
				t.Error("RLIMIT_AS is still set")
			}
		}},
		{"redirections and meta", BundleOptions{Stdin: "in.txt", Stdout: "out.txt", StderrToStdout: true, Meta: "report.meta"}, func(t *testing.T, _ string, s *specs.Spec) {
			a := s.Annotations
			cwd, _ := os.Getwd()
			if a[policy.AnnotationStdin] != "in.txt" || a[policy.AnnotationStdout] != "out.txt" || a[policy.AnnotationStderrToStdout] != "true" || a[policy.AnnotationMeta] != filepath.Join(cwd, "report.meta") {
				t.Errorf("annotations %v", a)
			}
		}},
		{"dirs", BundleOptions{Dirs: []policy.DirRule{rule("box=" + shared + ":rw"), rule("data=" + shared), rule("dev/shm=")}}, func(t *testing.T, _ string, s *specs.Spec) {
			if m := mountAt(s, "/box"); m == nil || m.Source != shared {
				t.Errorf("/box %+v, want %s", m, shared)
			}
			if m := mountAt(s, "/data"); m == nil || !slices.Contains(m.Options, "ro") {
				t.Errorf("/data %+v, want read-only", m)
			}
			if m := mountAt(s, "/dev/shm"); m != nil {
				t.Errorf("/dev/shm still mounted: %+v", m)
			}
		}},
		{"env", BundleOptions{Env: []policy.EnvRule{env("LANG=C.UTF-8"), env("PATH="), env("MINI_ISOLATE_TEST_VAR")}}, func(t *testing.T, _ string, s *specs.Spec) {
			e := s.Process.Env
			if !slices.Contains(e, "LANG=C.UTF-8") || !slices.Contains(e, "MINI_ISOLATE_TEST_VAR=inherited") || slices.ContainsFunc(e, func(v string) bool { return strings.HasPrefix(v, "PATH=") }) {
				t.Errorf("env %v", e)
			}
		}},
		{"user", BundleOptions{UID: 60001, GID: 60002}, func(t *testing.T, _ string, s *specs.Spec) {
			if s.Process.User.UID != 60001 || s.Process.User.GID != 60002 {
				t.Errorf("user %+v", s.Process.User)
			}
		}},
		{"compile stage", BundleOptions{Stage: StageCompile}, func(t *testing.T, _ string, s *specs.Spec) {
			if s.Process.Args[0] != "/usr/bin/g++" || !slices.Contains(s.Process.Env, "TMPDIR=/tmp") {
				t.Errorf("args %v env %v", s.Process.Args, s.Process.Env)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "b")
			spec, err := WriteBundle(dir, cpp, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := specconv.LoadBundle(dir); err != nil {
				t.Fatalf("the runtime rejects the bundle: %v", err)
			}
			tc.check(t, dir, spec)
		})
	}
}

func TestWriteBundleErrors(t *testing.T) {
	set, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	cpp, _ := set.Get("cpp")
	exec, _ := set.Get("exec")
	noProc, err := policy.ParseDirRule("proc=")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		p     *Profile
		o     BundleOptions
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"no compile stage", exec, BundleOptions{Stage: StageCompile}, nil, "profile exec has no compile stage (it has: run)"},
		{"config exists", cpp, BundleOptions{}, func(t *testing.T, dir string) {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte("{}"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "config.json already exists"},
		{"stderr twice", cpp, BundleOptions{Stderr: "err.txt", StderrToStdout: true}, nil, "conflicts"},
		{"bad limits", cpp, BundleOptions{Limits: &policy.Limits{Processes: -1}}, nil, "limits.processes"},
		{"no proc", cpp, BundleOptions{Dirs: []policy.DirRule{noProc}}, nil, "needs proc mounted at /proc"},
		{"missing dir in a new tree", cpp, BundleOptions{Dirs: []policy.DirRule{{In: "data", Out: "/nonexistent/mini-isolate"}}}, nil, "cannot mount"},
		{"missing dir", cpp, BundleOptions{Dirs: []policy.DirRule{{In: "data", Out: "/nonexistent/mini-isolate"}}}, nil, "cannot mount /nonexistent/mini-isolate on /data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top := filepath.Join(t.TempDir(), "b")
			dir := top
			if strings.Contains(tc.name, "new tree") {
				dir = filepath.Join(top, "x", "y")
			}
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			_, err := WriteBundle(dir, tc.p, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line with %q", err, tc.want)
			}
			if tc.setup != nil {
				if data, _ := os.ReadFile(filepath.Join(dir, "config.json")); string(data) != "{}" {
					t.Error("an existing config.json was overwritten")
				}
				return
			}
			// No half-made bundle: the directory that did not exist still does not.
			if _, err := os.Lstat(top); !os.IsNotExist(err) {
				t.Errorf("failed call left %s behind", top)
			}
		})
	}
}
