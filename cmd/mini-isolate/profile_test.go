package main_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mini-isolate/mini-isolate/internal/testutil"
	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/profiles"
	"github.com/mini-isolate/mini-isolate/specconv"
)

// mi runs the binary without a runtime root: spec and profile need none,
// nor root.
func mi(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(testutil.Binary(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("%v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// oneLineError checks a failed command: exit status 1 and one line on
// stderr that says what is wrong.
func oneLineError(t *testing.T, stderr string, code int, want ...string) {
	t.Helper()
	if code != 1 {
		t.Errorf("exit status %d, want 1 (stderr %q)", code, stderr)
	}
	if !strings.HasPrefix(stderr, "mini-isolate: ") || strings.Count(stderr, "\n") != 1 || strings.Contains(stderr, "panic") {
		t.Errorf("stderr %q is not one line of error", stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q does not contain %q", stderr, w)
		}
	}
}

func TestSpecProfileBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"negative time", []string{"--time", "-1"}, []string{"--time", `"-1"`}},
		{"time word", []string{"--time", "fast"}, []string{"--time", `"fast"`, "seconds"}},
		{"absurd wall time", []string{"--wall-time", "1e9"}, []string{"--wall-time", "86400"}},
		{"NaN extra time", []string{"--extra-time", "NaN"}, []string{"--extra-time"}},
		{"negative mem", []string{"--mem", "-5"}, []string{"--mem", `"-5"`, "KiB"}},
		{"cg-mem with a unit", []string{"--cg-mem", "256m"}, []string{"--cg-mem", `"256m"`}},
		{"absurd cg-mem", []string{"--cg-mem", "99999999999999"}, []string{"--cg-mem"}},
		{"stack", []string{"--stack", "1.5"}, []string{"--stack"}},
		{"fsize", []string{"--fsize", ""}, []string{"--fsize"}},
		{"open files", []string{"--open-files", "x"}, []string{"--open-files", `"x"`}},
		{"absurd processes", []string{"--processes", "99999999"}, []string{"--processes", "4194304"}},
		{"root uid", []string{"--uid", "0"}, []string{"--uid", "must not run as root"}},
		{"bad stage", []string{"--stage", "build"}, []string{`--stage "build"`, "compile or run"}},
		{"missing stage", []string{"--profile", "exec", "--stage", "compile"}, []string{"profile exec has no compile stage"}},
		{"unknown profile", []string{"--profile", "cobol"}, []string{`no profile "cobol"`, "cpp"}},
		{"bad dir rule", []string{"--dir", "../x"}, []string{"--dir", "../x"}},
		{"bad env rule", []string{"--env", "=x"}, []string{"--env", "=x"}},
		{"missing profiles dir", []string{"--profiles-dir", "/nonexistent/profiles"}, []string{"--profiles-dir /nonexistent/profiles", "no such directory"}},
		{"rootless", []string{"--rootless"}, []string{"--rootless does not apply to --profile"}},
		{"two stderrs", []string{"--stderr", "e", "--stderr-to-stdout"}, []string{"conflicts"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bundle := filepath.Join(t.TempDir(), "b")
			args := []string{"spec", "--bundle", bundle}
			if !strings.Contains(strings.Join(tc.args, " "), "--profile ") {
				args = append(args, "--profile", "cpp")
			}
			_, stderr, code := mi(t, append(args, tc.args...)...)
			oneLineError(t, stderr, code, tc.want...)
			if _, err := os.Stat(filepath.Join(bundle, "config.json")); err == nil {
				t.Error("a config.json was written")
			}
		})
	}
}

func TestSpecProfileWrites(t *testing.T) {
	bundle := filepath.Join(t.TempDir(), "b")
	_, stderr, code := mi(t, "spec", "--profile", "cpp", "--stage", "compile", "--bundle", bundle,
		"--time", "2.5", "--cg-mem", "65536", "--processes", "0", "--mem", "0", "--meta", "/tmp/m", "--env", "LANG=C", "--", "/usr/bin/g++", "-O0", "main.cpp")
	if code != 0 {
		t.Fatalf("spec: exit %d: %s", code, stderr)
	}
	spec, _, err := specconv.LoadBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	j, err := policy.JudgeFromAnnotations(spec.Annotations)
	if err != nil || j == nil {
		t.Fatalf("judge: %v %v", j, err)
	}
	if j.Limits.Time.Seconds() != 2.5 || j.Meta != "/tmp/m" || j.Limits.WallTime.Seconds() != 40 {
		t.Errorf("judge %+v, want time 2.5 from the flag and wall time 40 from the profile", j)
	}
	if *spec.Linux.Resources.Memory.Limit != 64<<20 || spec.Linux.Resources.Pids != nil {
		t.Errorf("memory %d pids %+v", *spec.Linux.Resources.Memory.Limit, spec.Linux.Resources.Pids)
	}
	if got := strings.Join(spec.Process.Args, " "); got != "/usr/bin/g++ -O0 main.cpp" {
		t.Errorf("args %q", got)
	}
	if env := strings.Join(spec.Process.Env, " "); !strings.Contains(env, "LANG=C") || !strings.Contains(env, "TMPDIR=/tmp") {
		t.Errorf("env %q", env)
	}
	// A second spec into the same bundle refuses to overwrite it.
	_, stderr, code = mi(t, "spec", "--profile", "cpp", "--bundle", bundle)
	oneLineError(t, stderr, code, "already exists")
}

// TestSpecWithoutProfile checks that plain spec still writes runc's
// example and takes none of the profile flags.
func TestSpecWithoutProfile(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, code := mi(t, "spec", "--bundle", dir); code != 0 {
		t.Fatalf("spec: exit %d: %s", code, stderr)
	}
	got, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.MarshalIndent(specconv.Example(), "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("config.json differs from runc's example:\n%s", got)
	}
	for _, args := range [][]string{{"--time", "1"}, {"--stage", "run"}, {"--dir", "x"}, {"extra"}} {
		_, stderr, code := mi(t, append([]string{"spec", "--bundle", t.TempDir()}, args...)...)
		oneLineError(t, stderr, code)
	}
}

func TestProfileCommands(t *testing.T) {
	t.Run("list", func(t *testing.T) {
		out, stderr, code := mi(t, "profile", "list")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if !strings.HasPrefix(lines[0], "NAME") || len(lines) < 9 {
			t.Fatalf("profile list:\n%s", out)
		}
		for i, name := range []string{"c", "cpp", "exec", "go", "java", "node", "python3", "rust"} {
			if f := strings.Fields(lines[i+1]); f[0] != name {
				t.Errorf("line %d: %q, want profile %s", i+1, lines[i+1], name)
			}
		}
	})
	t.Run("show reads back", func(t *testing.T) {
		out, stderr, code := mi(t, "profile", "show", "java")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if !strings.HasPrefix(out, "# profile java (built-in)\n") {
			t.Errorf("show java:\n%s", out)
		}
		p, err := profiles.Parse("java.yaml", []byte(out))
		if err != nil {
			t.Fatal(err)
		}
		set, _ := profiles.Builtin()
		want, _ := set.Get("java")
		p.Origin = want.Origin
		if !reflect.DeepEqual(p, want) {
			t.Errorf("show java does not read back as the built-in profile:\n%s", out)
		}
	})
	t.Run("user directory", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "cpp.yaml")
		doc := "description: our C++\nsource: a.cpp\nstages:\n  run:\n    command: [./a.out]\n"
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		out, _, code := mi(t, "profile", "list", "--profiles-dir", dir)
		if code != 0 || !strings.Contains(out, path) || !strings.Contains(out, "our C++") {
			t.Errorf("list with %s:\n%s", dir, out)
		}
		out, _, code = mi(t, "profile", "show", "--profiles-dir", dir, "cpp")
		if code != 0 || !strings.HasPrefix(out, "# profile cpp ("+path+")\n") || !strings.Contains(out, "source: a.cpp") {
			t.Errorf("show cpp with %s:\n%s", dir, out)
		}
		bundle := filepath.Join(t.TempDir(), "b")
		if _, stderr, code := mi(t, "spec", "--profiles-dir", dir, "--profile", "cpp", "--bundle", bundle); code != 0 {
			t.Fatalf("spec: %s", stderr)
		}
		if spec, err := specconv.LoadFile(filepath.Join(bundle, "config.json")); err != nil || spec.Process.Args[0] != "./a.out" {
			t.Errorf("spec did not use the user's profile: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(doc+"    limits: {memory: plenty}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := mi(t, "profile", "list", "--profiles-dir", dir)
		oneLineError(t, stderr, code, filepath.Join(dir, "bad.yaml")+": stages.run.limits.memory", `"plenty"`)
	})
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown profile", []string{"show", "cobol"}, `no profile "cobol"`},
		{"show needs a name", []string{"show"}, "exactly 1 argument"},
		{"list takes none", []string{"list", "x"}, "exactly 0 argument"},
		{"unknown command", []string{"remove", "cpp"}, `unknown command "remove": want list or show`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := mi(t, append([]string{"profile"}, tc.args...)...)
			oneLineError(t, stderr, code, tc.want)
		})
	}
}

// hostileSolution is a C solution whose first test sabotages the box for
// the next: symlinks where the judge might read or write (to a host
// secret), FIFOs where it might open, a deep tree and an open box. The
// documented flow (docs/profiles.md) must judge the next test as usual
// and never touch the secret.
const hostileSolution = `#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
	long a, b;
	char word[16] = "";
	if (scanf("%15s", word) == 1 && strcmp(word, "attack") == 0) {
		symlink("SECRET", "output.txt");
		symlink("SECRET", "compile.log");
		mkfifo("input.txt", 0666);
		mkfifo("answer", 0666);
		chmod(".", 0777);
		for (int i = 0; i < 3000; i++)
			if (mkdir("d", 0700) < 0 || chdir("d") < 0)
				break;
		return 0;
	}
	if (sscanf(word, "%ld", &a) == 1 && scanf("%ld", &b) == 1)
		printf("%ld\n", a + b);
	return 0;
}
`

func TestProfileFlowHostileFirstTest(t *testing.T) {
	r := testutil.NewRunner(t)
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	compile, run := filepath.Join(dir, "compile"), filepath.Join(dir, "run")
	r.MustRun("spec", "--profile", "c", "--stage", "compile", "--bundle", compile, "--stderr-to-stdout")
	src := strings.ReplaceAll(hostileSolution, "SECRET", secret)
	if err := os.WriteFile(filepath.Join(compile, "box", "main.c"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := r.Run("run", "--bundle", compile, "--meta", filepath.Join(dir, "compile.meta"), r.ID("cc")); res.Code != 0 {
		t.Fatalf("compile: exit %d: %s %s", res.Code, res.Stdout, res.Stderr)
	}
	r.MustRun("spec", "--profile", "c", "--bundle", run, "--dir", "box="+filepath.Join(compile, "box")+":rw", "--time", "2", "--wall-time", "5")
	for i, tc := range []struct{ in, want string }{{"attack\n", ""}, {"1 2\n", "3\n"}, {"40 2\n", "42\n"}} {
		metaPath := filepath.Join(dir, "test.meta")
		cmd := r.Command(t.Context(), "run", "--bundle", run, "--meta", metaPath, r.ID("t"))
		cmd.Stdin = strings.NewReader(tc.in)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("test %d: %v: %s", i+1, err, errb.String())
		}
		if m := testutil.ParseMeta(t, metaPath); m["status"] != "" || m["exitcode"] != "0" || out.String() != tc.want {
			t.Errorf("test %d: meta %v, output %q; want OK and %q", i+1, m, out.String(), tc.want)
		}
		// The bundle's box comes back without special files, as a box.
		for _, name := range []string{"output.txt", "compile.log", "input.txt", "answer"} {
			if _, err := os.Lstat(filepath.Join(compile, "box", name)); !os.IsNotExist(err) {
				t.Errorf("after test %d, box/%s is still there: %v", i+1, name, err)
			}
		}
	}
	if data, err := os.ReadFile(secret); err != nil || string(data) != "keep me" {
		t.Errorf("the host secret: %q, %v", data, err)
	}
}
