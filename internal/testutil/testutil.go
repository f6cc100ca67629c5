// Package testutil builds what integration tests need: the mini-isolate
// binary, a busybox rootfs and OCI bundles, and a way to run the binary.
package testutil

import (
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/runtime/proc"
	"github.com/mini-isolate/mini-isolate/specconv"
)

// BusyboxPath is the static busybox the test rootfs is made from
// (Debian's busybox-static).
const BusyboxPath = "/bin/busybox"

// RequireRoot skips a test that needs root, saying why.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates namespaces and cgroups")
	}
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary returns the path of the mini-isolate binary under test:
// $MINI_ISOLATE_BINARY when set (make test sets it), otherwise one built
// once per test process the way make builds it: static, with seccomp.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("MINI_ISOLATE_BINARY"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mini-isolate-test-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "mini-isolate")
		buildErr = build(buildPath, "")
	})
	if buildErr != nil {
		t.Fatalf("build mini-isolate: %v", buildErr)
	}
	return buildPath
}

// BuildBinary builds mini-isolate the way make does (static, with seccomp)
// into path, and its manager beside it, with extra -ldflags (-X settings,
// say), for tests that need a build of their own.
func BuildBinary(t testing.TB, path, ldflags string) {
	t.Helper()
	if err := build(path, ldflags); err != nil {
		t.Fatalf("build mini-isolate: %v", err)
	}
}

func build(path, ldflags string) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	// The manager's binary goes beside, where mini-isolate looks for it,
	// with the build stamp that makes them a pair.
	ldflags += fmt.Sprintf(" -X github.com/mini-isolate/mini-isolate/box.BuildStamp=test-%d", time.Now().UnixNano())
	for out, pkg := range map[string]string{path: "./cmd/mini-isolate", filepath.Join(filepath.Dir(path), "mini-isolate-manager"): "./cmd/mini-isolate-manager"} {
		cmd := exec.Command("go", "build", "-tags", "seccomp netgo osusergo urfave_cli_no_docs", "-ldflags", strings.TrimSpace(ldflags+" -extldflags -static"), "-o", out, pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", pkg, err, msg)
		}
	}
	return nil
}

// ModuleRoot finds the directory holding go.mod above the working directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Applets are the busybox applets linked into the test rootfs.
var Applets = []string{
	"sh", "true", "false", "sleep", "echo", "cat", "ls", "ps", "id", "touch", "test", "tty",
	"kill", "mkdir", "rm", "hostname", "wc", "head", "seq", "stat", "grep", "env", "pwd", "readlink",
}

// Rootfs makes a minimal rootfs from the host's static busybox in dir.
func Rootfs(t testing.TB, dir string) {
	t.Helper()
	requireStaticBusybox(t)
	for _, d := range []string{"bin", "proc", "sys", "dev", "etc", "tmp", "root"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(BusyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range Applets {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	passwd := "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
	group := "root:x:0:\nnogroup:x:65534:\n"
	if err := os.WriteFile(filepath.Join(dir, "etc", "passwd"), []byte(passwd), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", "group"), []byte(group), 0o644); err != nil {
		t.Fatal(err)
	}
}

func requireStaticBusybox(t testing.TB) {
	t.Helper()
	f, err := elf.Open(BusyboxPath)
	if err != nil {
		t.Skipf("needs a static %s (Debian package busybox-static): %v", BusyboxPath, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Skipf("needs a static %s (Debian package busybox-static); this one is dynamic", BusyboxPath)
		}
	}
}

// Bundle writes an OCI bundle with a busybox rootfs and the default spec,
// with args as the process and edit applied, and returns its directory.
func Bundle(t testing.TB, args []string, edit func(*specs.Spec)) string {
	t.Helper()
	dir := t.TempDir()
	Rootfs(t, filepath.Join(dir, "rootfs"))
	spec := DefaultSpec(args)
	if edit != nil {
		edit(spec)
	}
	WriteSpec(t, dir, spec)
	return dir
}

// WriteSpec writes spec as dir/config.json.
func WriteSpec(t testing.TB, dir string, spec *specs.Spec) {
	t.Helper()
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Runner runs the binary with its own state root.
type Runner struct {
	T    testing.TB
	Bin  string
	Root string
	// Env is added to the environment of every command.
	Env []string
	// suffix makes container ids unique to this runner: cgroup paths
	// derive from the id and are shared by every state root on the host.
	suffix string
}

// ID returns a container id unique to this runner, starting with name.
func (r *Runner) ID(name string) string {
	return name + "-" + r.suffix
}

// For returns a copy of the runner that reports failures to t, for use in
// subtests.
func (r *Runner) For(t testing.TB) *Runner {
	c := *r
	c.T = t
	return &c
}

// NewRunner returns a runner with a fresh --root that is force-cleaned when
// the test ends, so a failed test leaves no container behind.
func NewRunner(t testing.TB) *Runner {
	t.Helper()
	RequireRoot(t)
	r := &Runner{T: t, Bin: Binary(t), Root: t.TempDir(), suffix: strconv.FormatInt(time.Now().UnixNano()%1e9, 36)}
	t.Cleanup(func() {
		out, err := exec.Command(r.Bin, "--root", r.Root, "list", "-q").Output()
		if err != nil {
			return
		}
		for _, id := range strings.Fields(string(out)) {
			_ = exec.Command(r.Bin, "--root", r.Root, "delete", "--force", id).Run()
		}
	})
	return r
}

// Result is one finished invocation.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Run runs the binary with --root and args, with stdin on /dev/null, and
// waits up to 60 s. Output goes through files, not pipes, so a detached
// container that keeps them open does not keep Run waiting.
func (r *Runner) Run(args ...string) Result {
	r.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := r.Command(ctx, args...)
	dir := r.T.TempDir()
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		r.T.Fatal(err)
	}
	defer out.Close()
	errf, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		r.T.Fatal(err)
	}
	defer errf.Close()
	cmd.Stdout, cmd.Stderr = out, errf
	err = cmd.Run()
	stdout, _ := os.ReadFile(out.Name())
	stderr, _ := os.ReadFile(errf.Name())
	res := Result{Stdout: string(stdout), Stderr: string(stderr)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.Code = ee.ExitCode()
	default:
		r.T.Fatalf("run %v: %v", args, err)
	}
	if ctx.Err() != nil {
		r.T.Fatalf("run %v: timed out\nstderr: %s", args, res.Stderr)
	}
	return res
}

// Command prepares the binary with --root and args.
func (r *Runner) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, r.Bin, append([]string{"--root", r.Root}, args...)...)
	if len(r.Env) > 0 {
		cmd.Env = append(os.Environ(), r.Env...)
	}
	return cmd
}

// MustRun runs the binary and fails the test unless it exits 0.
func (r *Runner) MustRun(args ...string) Result {
	r.T.Helper()
	res := r.Run(args...)
	if res.Code != 0 {
		r.T.Fatalf("%v: exit %d\nstdout: %s\nstderr: %s", args, res.Code, res.Stdout, res.Stderr)
	}
	return res
}

// State returns the parsed output of `state ID`.
func (r *Runner) State(id string) specs.State {
	r.T.Helper()
	res := r.MustRun("state", id)
	var s specs.State
	if err := json.Unmarshal([]byte(res.Stdout), &s); err != nil {
		r.T.Fatalf("state %s: %v\n%s", id, err, res.Stdout)
	}
	return s
}

// WaitStatus polls state until it reports status or the timeout passes. A
// container that does not exist yet is waited for too.
func (r *Runner) WaitStatus(id string, status specs.ContainerState, timeout time.Duration) specs.State {
	r.T.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var s specs.State
		res := r.Run("state", id)
		if res.Code == 0 {
			if err := json.Unmarshal([]byte(res.Stdout), &s); err != nil {
				r.T.Fatalf("state %s: %v\n%s", id, err, res.Stdout)
			}
			if s.Status == status {
				return s
			}
		}
		if time.Now().After(deadline) {
			r.T.Fatalf("container %s: status %q after %v, want %q (%s)", id, s.Status, timeout, status, res.Stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Eventually polls cond every 10 ms until it holds or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// DefaultSpec is `spec`'s default config with a non-terminal process.
func DefaultSpec(args []string) *specs.Spec {
	spec := specconv.Example()
	spec.Process.Terminal = false
	spec.Process.Args = args
	return spec
}

// CgroupDirs returns the cgroup directories a container named id would
// have (at /id, or at id below this process's own cgroup, which is where
// libcontainer puts it in a hierarchy where we are not at the root) that
// exist in any hierarchy.
func CgroupDirs(id string) []string {
	var found []string
	seen := map[string]bool{}
	for _, own := range proc.CgroupDirs(os.Getpid()) {
		mp := own
		for _, m := range proc.CgroupMounts() {
			if strings.HasPrefix(own, m) && len(m) > 0 {
				mp = m
			}
		}
		for _, p := range []string{filepath.Join(mp, id), filepath.Join(own, id)} {
			if seen[p] {
				continue
			}
			seen[p] = true
			if _, err := os.Stat(p); err == nil {
				found = append(found, p)
			}
		}
	}
	return found
}

// RemoveCgroupParent removes a boxes' parent cgroup (a cg_parent) from
// every hierarchy once the test's boxes are gone, and fails the test if
// one still holds a cgroup: libcontainer leaves the parents it made.
func RemoveCgroupParent(t testing.TB, name string) {
	t.Helper()
	for _, dir := range CgroupDirs(name) {
		if err := unix.Rmdir(dir); err != nil && !errors.Is(err, unix.ENOENT) {
			entries, _ := os.ReadDir(dir)
			var left []string
			for _, e := range entries {
				if e.IsDir() {
					left = append(left, e.Name())
				}
			}
			t.Errorf("remove %s: %v (cgroups left: %v)", dir, err, left)
		}
	}
}
