package profiles_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mini-isolate/mini-isolate/internal/testutil"
	"github.com/mini-isolate/mini-isolate/profiles"
)

// sampleInput and sampleOutput are what every testdata program is judged on.
const (
	sampleInput  = "1 2 3\n-4 10000000000\n"
	sampleOutput = "10000000002\n"
)

// requireToolchain skips a test when the host lacks what a profile runs.
func requireToolchain(t *testing.T, p *profiles.Profile) {
	t.Helper()
	if missing := profiles.MissingTools(p); len(missing) > 0 {
		t.Skipf("profile %s needs %s (Debian packages: %s)", p.Name, strings.Join(missing, ", "), strings.Join(p.Packages, " "))
	}
}

// judged writes a bundle with `spec --profile` and args, puts files in its
// box, runs it with `run --meta` and returns the report and the bundle.
func judged(t *testing.T, r *testutil.Runner, name string, files map[string][]byte, args ...string) (map[string]string, string) {
	t.Helper()
	bundle := filepath.Join(t.TempDir(), name)
	r.MustRun(append([]string{"spec", "--bundle", bundle}, args...)...)
	for file, data := range files {
		if err := os.WriteFile(filepath.Join(bundle, profiles.BoxDir, file), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	metaPath := filepath.Join(t.TempDir(), name+".meta")
	res := r.Run("run", "--bundle", bundle, "--meta", metaPath, r.ID(name))
	if _, err := os.Stat(metaPath); err != nil {
		t.Fatalf("run %s: no report (exit %d): %s", name, res.Code, res.Stderr)
	}
	return testutil.ParseMeta(t, metaPath), bundle
}

// boxFiles reads the regular files a stage left in a bundle's box.
func boxFiles(t *testing.T, bundle string) map[string][]byte {
	t.Helper()
	dir := filepath.Join(bundle, profiles.BoxDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if e.Type().IsRegular() {
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			files[e.Name()] = data
		}
	}
	return files
}

// sample returns the testdata program of a profile, as the file its
// profile expects in /box. exec's is built on the host.
func sample(t *testing.T, p *profiles.Profile) map[string][]byte {
	t.Helper()
	if p.Name == "exec" {
		if _, err := exec.LookPath("gcc"); err != nil {
			t.Skip("building the exec sample needs gcc on the host")
		}
		out := filepath.Join(t.TempDir(), "main")
		if msg, err := exec.Command("gcc", "-O2", "-static", "-o", out, filepath.Join("testdata", "exec", "main.c")).CombinedOutput(); err != nil {
			t.Fatalf("gcc: %v\n%s", err, msg)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return map[string][]byte{p.Source: data}
	}
	data, err := os.ReadFile(filepath.Join("testdata", p.Name, p.Source))
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{p.Source: data}
}

// TestProfilesJudgeSamples compiles and runs every built-in profile's
// sample program through the binary, as a judge would.
func TestProfilesJudgeSamples(t *testing.T) {
	r := testutil.NewRunner(t)
	set, err := profiles.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range set.List() {
		t.Run(p.Name, func(t *testing.T) {
			requireToolchain(t, p)
			r := r.For(t)
			files := sample(t, p)
			if p.Stages.Compile != nil {
				m, bundle := judged(t, r, "compile", files, "--profile", p.Name, "--stage", "compile", "--stdout", "compile.log", "--stderr-to-stdout")
				files = boxFiles(t, bundle)
				if m["status"] != "" || m["exitcode"] != "0" {
					t.Fatalf("compile: %v\n%s", m, files["compile.log"])
				}
				delete(files, "compile.log")
				// The compiler ran as the sandbox user: what it wrote is
				// nobody's.
				entries, _ := os.ReadDir(filepath.Join(bundle, profiles.BoxDir))
				for _, e := range entries {
					fi, _ := e.Info()
					if st := fi.Sys().(*syscall.Stat_t); e.Name() != p.Source && st.Uid != profiles.DefaultUID {
						t.Errorf("%s in the box is owned by uid %d, want %d", e.Name(), st.Uid, profiles.DefaultUID)
					}
				}
			}
			files["input.txt"] = []byte(sampleInput)
			m, bundle := judged(t, r, "run", files, "--profile", p.Name, "--stdin", "input.txt", "--stdout", "output.txt")
			out, _ := os.ReadFile(filepath.Join(bundle, profiles.BoxDir, "output.txt"))
			if m["status"] != "" || m["exitcode"] != "0" || string(out) != sampleOutput {
				t.Fatalf("run: output %q, want %q; report %v", out, sampleOutput, m)
			}
		})
	}
}

// TestProfileCompileErrors checks that a source that does not compile
// (or, for interpreted languages, does not parse) fails the compile stage.
func TestProfileCompileErrors(t *testing.T) {
	r := testutil.NewRunner(t)
	set, err := profiles.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		profile, source, want string
	}{
		{"c", "int main(void) { return 0 }\n", "error"},
		{"cpp", "int main() { undeclared(); }\n", "undeclared"},
		{"python3", "print('unclosed'\n", "SyntaxError"},
		{"node", "console.log(1;\n", "SyntaxError"},
		{"java", "public class Main { void f() { int x = \"s\"; } }\n", "incompatible types"},
		{"go", "package main\nfunc main() { x := 1 }\n", "declared"},
		{"rust", "fn main() { let x: i32 = \"s\"; }\n", "mismatched types"},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			p, err := set.Get(tc.profile)
			if err != nil {
				t.Fatal(err)
			}
			requireToolchain(t, p)
			r := r.For(t)
			m, bundle := judged(t, r, "compile", map[string][]byte{p.Source: []byte(tc.source)},
				"--profile", p.Name, "--stage", "compile", "--stdout", "compile.log", "--stderr-to-stdout")
			log, _ := os.ReadFile(filepath.Join(bundle, profiles.BoxDir, "compile.log"))
			if m["status"] != "RE" || !strings.Contains(string(log), tc.want) {
				t.Errorf("report %v, compiler output:\n%s\nwant status RE and %q", m, log, tc.want)
			}
		})
	}
}

// TestProfileSandbox looks at the sandbox a profile bundle makes from the
// inside, with busybox's shell as the command.
func TestProfileSandbox(t *testing.T) {
	r := testutil.NewRunner(t)
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("needs /bin/busybox (Debian package busybox-static)")
	}
	script := `
id -u; id -g; hostname
grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status
touch /usr/x 2>/dev/null && echo usr:rw || echo usr:ro
touch /box/x && echo box:rw
touch /tmp/x && echo tmp:rw
test -e /etc/passwd && echo etc:host || echo etc:none
ls /sys >/dev/null 2>&1 && echo sys:yes || echo sys:none
cat /sys/class/net/*/operstate 2>/dev/null; grep -c : /proc/net/dev
ulimit -s; ulimit -n
`
	m, bundle := judged(t, r, "sandbox", nil, "--profile", "exec", "--processes", "16", "--stdout", "out.txt",
		"--", "/bin/busybox", "sh", "-c", script)
	out, _ := os.ReadFile(filepath.Join(bundle, profiles.BoxDir, "out.txt"))
	want := fmt.Sprintf("%d\n%d\nsandbox\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\nusr:ro\nbox:rw\ntmp:rw\netc:none\nsys:none\n1\n262144\n64\n",
		profiles.DefaultUID, profiles.DefaultGID)
	if m["status"] != "" || string(out) != want {
		t.Errorf("inside the sandbox:\n%s\nwant:\n%s\nreport %v", out, want, m)
	}
}

// TestProfileLimitFlags checks that spec's limit flags reach the judge.
func TestProfileLimitFlags(t *testing.T) {
	r := testutil.NewRunner(t)
	progs := testutil.Programs(t)
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join(progs, name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	for _, tc := range []struct {
		name  string
		prog  string
		arg   string
		flags []string
		want  map[string]string
	}{
		{"time", "spin", "", []string{"--time", "0.2"}, map[string]string{"status": "TO", "limit": "time"}},
		{"wall time", "sleeper", "5000", []string{"--wall-time", "0.3"}, map[string]string{"status": "TO", "limit": "wall-time"}},
		// memhog touches 64 MiB, in 1 MiB steps.
		{"cgroup memory", "memhog", "64", []string{"--cg-mem", "32768"}, map[string]string{"status": "ML", "limit": "memory"}},
		{"address space", "memhog", "64", []string{"--mem", "16384"}, map[string]string{"status": "RE", "exitcode": "3"}},
		{"within limits", "memhog", "64", []string{"--cg-mem", "131072"}, map[string]string{"status": "", "exitcode": "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := r.For(t)
			args := append([]string{"--profile", "exec"}, tc.flags...)
			args = append(args, "--", "./"+tc.prog)
			if tc.arg != "" {
				args = append(args, tc.arg)
			}
			m, _ := judged(t, r, "limits", map[string][]byte{tc.prog: read(tc.prog)}, args...)
			for k, v := range tc.want {
				if m[k] != v {
					t.Errorf("report %s=%q, want %q (%v)", k, m[k], v, m)
				}
			}
		})
	}
}
