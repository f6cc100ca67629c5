package main_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mini-isolate/mini-isolate/internal/testutil"
)

// createWithOutput runs `create` with the container's stdout and stderr in
// a file, which stays attached after create exits.
func createWithOutput(t *testing.T, r *testutil.Runner, bundle, id string, extra ...string) (out string) {
	t.Helper()
	out = filepath.Join(t.TempDir(), "out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	args := append([]string{"--root", r.Root, "create", "--bundle", bundle}, extra...)
	cmd := exec.Command(r.Bin, append(args, id)...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Run(); err != nil {
		data, _ := os.ReadFile(out)
		t.Fatalf("create %s: %v\n%s", id, err, data)
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestLifecycle(t *testing.T) {
	r := testutil.NewRunner(t)
	idC1 := r.ID("c1")
	bundle := testutil.Bundle(t, []string{"sh", "-c", "echo out; echo err >&2; read x; exit 3"}, func(s *specs.Spec) {
		s.Annotations = map[string]string{"org.example.key": "value"}
	})
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The container's stdin is a pipe we hold, so it blocks in `read`
	// until we close it.
	cmd := exec.Command(r.Bin, "--root", r.Root, "create", "--bundle", bundle, "--pid-file", pidFile, idC1)
	outPath := filepath.Join(t.TempDir(), "out")
	out, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	stdinR, stdin, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdinR, out, out
	err = cmd.Run()
	stdinR.Close()
	if err != nil {
		t.Fatalf("create: %v\n%s", err, readFile(t, outPath))
	}

	// The pid file exists when create returns, as bare digits.
	pidText := readFile(t, pidFile)
	if !regexp.MustCompile(`^[0-9]+$`).MatchString(pidText) {
		t.Fatalf("pid file holds %q, want bare digits without newline", pidText)
	}
	pid, _ := strconv.Atoi(pidText)

	s := r.State(idC1)
	if s.Status != specs.StateCreated || s.Pid != pid || s.ID != idC1 {
		t.Fatalf("after create: %+v, want status created and pid %d", s, pid)
	}
	if s.Bundle != bundle {
		t.Errorf("bundle %q, want %q", s.Bundle, bundle)
	}
	if s.Annotations["org.example.key"] != "value" {
		t.Errorf("annotations %v lack org.example.key", s.Annotations)
	}
	if s.Version == "" {
		t.Error("state has no ociVersion")
	}
	// Created: the init is blocked before exec, so nothing was printed.
	if got := readFile(t, outPath); got != "" {
		t.Fatalf("process ran before start: output %q", got)
	}

	r.MustRun("start", idC1)
	if s := r.State(idC1); s.Status != specs.StateRunning {
		t.Fatalf("after start: status %q, want running", s.Status)
	}
	testutil.Eventually(t, 30*time.Second, "output of the started process", func() bool {
		return strings.Contains(readFile(t, outPath), "err")
	})
	if got := readFile(t, outPath); !strings.Contains(got, "out\n") {
		t.Errorf("container output %q lacks its stdout line", got)
	}

	// Nobody waits for the process: state must still turn stopped.
	stdin.Close()
	r.WaitStatus(idC1, specs.StateStopped, 30*time.Second)
	if s := r.State(idC1); s.Pid != 0 {
		t.Errorf("stopped container reports pid %d, want 0", s.Pid)
	}

	res := r.Run("start", idC1)
	if res.Code == 0 || !strings.Contains(res.Stderr, "stopped") {
		t.Errorf("start of a stopped container: exit %d, stderr %q", res.Code, res.Stderr)
	}

	r.MustRun("delete", idC1)
	if res := r.Run("state", idC1); res.Code == 0 || !strings.Contains(res.Stderr, "does not exist") {
		t.Errorf("state after delete: exit %d, stderr %q", res.Code, res.Stderr)
	}
	if dirs := testutil.CgroupDirs(idC1); len(dirs) > 0 {
		t.Errorf("cgroups left after delete: %v", dirs)
	}
	if _, err := os.Stat(filepath.Join(r.Root, idC1)); !os.IsNotExist(err) {
		t.Errorf("state directory left after delete: %v", err)
	}
}

func TestRunExitStatus(t *testing.T) {
	r := testutil.NewRunner(t)
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"success", []string{"true"}, 0},
		{"failure", []string{"false"}, 1},
		{"exit code", []string{"sh", "-c", "exit 42"}, 42},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := r.For(t)
			bundle := testutil.Bundle(t, tc.args, nil)
			id := r.ID("run-" + strings.ReplaceAll(tc.name, " ", "-"))
			res := r.Run("run", "--bundle", bundle, id)
			if res.Code != tc.want {
				t.Fatalf("run %v: exit %d, want %d\nstderr: %s", tc.args, res.Code, tc.want, res.Stderr)
			}
			// run deletes the container once it exits.
			if res := r.Run("state", id); res.Code == 0 {
				t.Errorf("container %s still exists after run", id)
			}
			if dirs := testutil.CgroupDirs(id); len(dirs) > 0 {
				t.Errorf("cgroups left after run: %v", dirs)
			}
		})
	}
}

func TestRunKilledBySignal(t *testing.T) {
	r := testutil.NewRunner(t)
	idSig := r.ID("sig")
	bundle := testutil.Bundle(t, []string{"sleep", "1000"}, nil)
	cmd := r.Command(t.Context(), "run", "--bundle", bundle, idSig)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.WaitStatus(idSig, specs.StateRunning, 30*time.Second)
	r.MustRun("kill", idSig, "KILL")
	err := cmd.Wait()
	if cmd.ProcessState.ExitCode() != 128+9 {
		t.Fatalf("run of a SIGKILLed container: %v, want exit 137\n%s", err, errb.String())
	}
}

func TestRunStdio(t *testing.T) {
	r := testutil.NewRunner(t)
	idStdio := r.ID("stdio")
	bundle := testutil.Bundle(t, []string{"sh", "-c", "cat; echo to-stderr >&2"}, nil)
	cmd := r.Command(t.Context(), "run", "--bundle", bundle, idStdio)
	cmd.Stdin = strings.NewReader("from stdin\n")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("run: %v\n%s", err, errb.String())
	}
	if out.String() != "from stdin\n" {
		t.Errorf("stdout %q, want the stdin copied through", out.String())
	}
	if errb.String() != "to-stderr\n" {
		t.Errorf("stderr %q, want only the container's line", errb.String())
	}
}

func TestKill(t *testing.T) {
	r := testutil.NewRunner(t)
	idK1 := r.ID("k1")
	script := `for s in TERM USR1 USR2 HUP; do trap "echo got-$s" $s; done; ` +
		`echo ready; while true; do sleep 0.05; done`
	bundle := testutil.Bundle(t, []string{"sh", "-c", script}, nil)
	out := createWithOutput(t, r, bundle, idK1)
	r.MustRun("start", idK1)
	testutil.Eventually(t, 30*time.Second, "the trap to be set", func() bool {
		return strings.Contains(readFile(t, out), "ready")
	})
	for _, tc := range []struct{ sig, want string }{
		{"", "got-TERM"}, // TERM by default
		{"USR1", "got-USR1"},
		{"SIGUSR2", "got-USR2"},
		{"sighup", "got-HUP"},
		{"10", "got-USR1"},
	} {
		before := strings.Count(readFile(t, out), tc.want)
		args := []string{"kill", idK1}
		if tc.sig != "" {
			args = append(args, tc.sig)
		}
		r.MustRun(args...)
		testutil.Eventually(t, 30*time.Second, "the trap for "+tc.want, func() bool {
			return strings.Count(readFile(t, out), tc.want) > before
		})
	}
	if res := r.Run("kill", idK1, "NOSUCHSIG"); res.Code == 0 || !strings.Contains(res.Stderr, "NOSUCHSIG") {
		t.Errorf("kill with a bad signal: exit %d, stderr %q", res.Code, res.Stderr)
	}
	// Signal 0 asks whether the init is alive, and does nothing else.
	r.MustRun("kill", idK1, "0")
	r.MustRun("kill", idK1, "KILL")
	r.WaitStatus(idK1, specs.StateStopped, 30*time.Second)
	if res := r.Run("kill", idK1, "0"); res.Code == 0 {
		t.Error("kill 0 of a stopped container succeeded")
	}
	// A stopped container cannot be signalled, and the failure changes nothing.
	res := r.Run("kill", idK1, "TERM")
	if res.Code == 0 || !strings.Contains(res.Stderr, "container not running") {
		t.Errorf("kill of a stopped container: exit %d, stderr %q", res.Code, res.Stderr)
	}
	if s := r.State(idK1); s.Status != specs.StateStopped {
		t.Errorf("status %q after a failed kill", s.Status)
	}
	// --all is what containerd sends to sweep up; nothing left is success.
	r.MustRun("kill", "--all", idK1, "KILL")
	r.MustRun("delete", idK1)
}

func TestKillAll(t *testing.T) {
	r := testutil.NewRunner(t)
	idKa := r.ID("ka")
	// The init ignores TERM; its child does not. --all must reach both.
	script := `trap '' TERM; (trap 'echo child-got-TERM; exit 0' TERM; echo child-ready; while true; do sleep 0.05; done) & ` +
		`wait; echo init-still-here; while true; do sleep 0.05; done`
	bundle := testutil.Bundle(t, []string{"sh", "-c", script}, nil)
	out := createWithOutput(t, r, bundle, idKa)
	r.MustRun("start", idKa)
	testutil.Eventually(t, 30*time.Second, "the child to start", func() bool {
		return strings.Contains(readFile(t, out), "child-ready")
	})
	pids := psPids(t, r, idKa)
	if len(pids) < 2 {
		t.Fatalf("ps shows %v, want the init and its child", pids)
	}
	r.MustRun("kill", "--all", idKa, "TERM")
	testutil.Eventually(t, 30*time.Second, "the child to get TERM", func() bool {
		return strings.Contains(readFile(t, out), "child-got-TERM")
	})
	testutil.Eventually(t, 30*time.Second, "the init to outlive its child", func() bool {
		return strings.Contains(readFile(t, out), "init-still-here")
	})
	if s := r.State(idKa); s.Status != specs.StateRunning {
		t.Fatalf("init ignoring TERM should still run, status %q", s.Status)
	}
	r.MustRun("kill", "--all", idKa, "KILL")
	r.WaitStatus(idKa, specs.StateStopped, 30*time.Second)
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); !bytes.Contains(st, []byte(") Z ")) {
				t.Errorf("process %d survived kill --all KILL", pid)
			}
		}
	}
	r.MustRun("delete", idKa)
}

func psPids(t *testing.T, r *testutil.Runner, id string) []int {
	t.Helper()
	res := r.MustRun("ps", "--format", "json", id)
	var pids []int
	for _, f := range strings.FieldsFunc(strings.Trim(strings.TrimSpace(res.Stdout), "[]"), func(c rune) bool { return c == ',' }) {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			t.Fatalf("ps --format json printed %q", res.Stdout)
		}
		pids = append(pids, n)
	}
	return pids
}

func TestDeleteForceRunning(t *testing.T) {
	r := testutil.NewRunner(t)
	idDf := r.ID("df")
	bundle := testutil.Bundle(t, []string{"sh", "-c", "sleep 1000 & sleep 1000"}, nil)
	createWithOutput(t, r, bundle, idDf)
	r.MustRun("start", idDf)
	testutil.Eventually(t, 30*time.Second, "both sleepers", func() bool { return len(psPids(t, r, idDf)) >= 2 })
	pids := psPids(t, r, idDf)

	res := r.Run("delete", idDf)
	if res.Code == 0 || !strings.Contains(res.Stderr, "not stopped") {
		t.Fatalf("delete of a running container: exit %d, stderr %q", res.Code, res.Stderr)
	}
	if s := r.State(idDf); s.Status != specs.StateRunning {
		t.Fatalf("a refused delete changed the status to %q", s.Status)
	}

	r.MustRun("delete", "--force", idDf)
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if !bytes.Contains(st, []byte(") Z ")) {
				t.Errorf("process %d survived delete --force", pid)
			}
		}
	}
	if res := r.Run("state", idDf); res.Code == 0 {
		t.Error("container still exists after delete --force")
	}
	if dirs := testutil.CgroupDirs(idDf); len(dirs) > 0 {
		t.Errorf("cgroups left after delete --force: %v", dirs)
	}
	// Idempotent: a second force delete of the now unknown id succeeds.
	r.MustRun("delete", "--force", idDf)
}

func TestDeleteCreated(t *testing.T) {
	r := testutil.NewRunner(t)
	idDc := r.ID("dc")
	bundle := testutil.Bundle(t, []string{"true"}, nil)
	createWithOutput(t, r, bundle, idDc)
	pid := r.State(idDc).Pid
	// containerd deletes never-started tasks without --force, as runc allows.
	r.MustRun("delete", idDc)
	testutil.Eventually(t, 30*time.Second, "the init to be gone", func() bool {
		return syscall.Kill(pid, 0) != nil
	})
}

func TestCreateExistingID(t *testing.T) {
	r := testutil.NewRunner(t)
	idDup := r.ID("dup")
	bundle := testutil.Bundle(t, []string{"sleep", "1000"}, nil)
	createWithOutput(t, r, bundle, idDup)
	before := r.State(idDup)
	res := r.Run("create", "--bundle", bundle, idDup)
	if res.Code == 0 || !strings.Contains(res.Stderr, "already exists") {
		t.Fatalf("second create: exit %d, stderr %q", res.Code, res.Stderr)
	}
	after := r.State(idDup)
	if after.Pid != before.Pid || after.Status != specs.StateCreated {
		t.Errorf("the existing container changed: %+v -> %+v", before, after)
	}
	r.MustRun("start", idDup)
	res = r.Run("start", idDup)
	if res.Code == 0 || !strings.Contains(res.Stderr, "already running") {
		t.Errorf("second start: exit %d, stderr %q", res.Code, res.Stderr)
	}
	if n := len(psPids(t, r, idDup)); n != 1 {
		t.Errorf("after two starts the container has %d processes, want 1", n)
	}
}

func TestUnknownID(t *testing.T) {
	r := testutil.NewRunner(t)
	idNope := r.ID("nope")
	for _, args := range [][]string{
		{"start", idNope}, {"state", idNope}, {"kill", idNope}, {"kill", "--all", idNope, "KILL"},
		{"delete", idNope}, {"ps", idNope}, {"exec", idNope, "true"}, {"pause", idNope},
		{"resume", idNope}, {"update", "--memory", "10m", idNope}, {"events", "--stats", idNope},
	} {
		res := r.Run(args...)
		if res.Code == 0 {
			t.Errorf("%v: exit 0 for an unknown id", args)
		}
		if !strings.Contains(res.Stderr, "container does not exist") {
			t.Errorf("%v: stderr %q, want runc's \"container does not exist\"", args, res.Stderr)
		}
		if strings.Count(strings.TrimSpace(res.Stderr), "\n") > 0 {
			t.Errorf("%v: want one line of error, got %q", args, res.Stderr)
		}
		if strings.Contains(res.Stderr, "goroutine") {
			t.Errorf("%v: panicked: %s", args, res.Stderr)
		}
	}
	r.MustRun("delete", "--force", idNope)
	for _, args := range [][]string{{"start"}, {"state"}, {"kill"}, {"delete"}} {
		if res := r.Run(args...); res.Code == 0 {
			t.Errorf("%v without an id: exit 0", args)
		}
	}
}

// TestSpecChoices runs configs on which runtime-spec allows runc's
// behaviour, which mini-isolate follows (docs/oci-compat.md): each runs,
// with a warning.
func TestSpecChoices(t *testing.T) {
	r := testutil.NewRunner(t)
	for _, tc := range []struct {
		name   string
		edit   func(*specs.Spec)
		args   []string
		stdout string
		warn   string
	}{
		{"relative mount destination, relative to /", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "tmp", Type: "tmpfs", Source: "tmpfs"})
		}, []string{"sh", "-c", "grep -c ' /tmp tmpfs ' /proc/mounts"}, "1\n", "mount destination tmp is not absolute"},
		{"unknown capability, left out", func(s *specs.Spec) {
			s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_TEST")
		}, []string{"sh", "-c", "echo ran"}, "ran\n", "CAP_TEST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := r.For(t)
			bundle := testutil.Bundle(t, tc.args, tc.edit)
			res := r.Run("run", "--bundle", bundle, r.ID("choice"))
			if res.Code != 0 || res.Stdout != tc.stdout {
				t.Fatalf("run: exit %d, stdout %q, want 0 and %q; stderr %q", res.Code, res.Stdout, tc.stdout, res.Stderr)
			}
			if !strings.Contains(res.Stderr, tc.warn) {
				t.Errorf("stderr %q has no warning naming %q", res.Stderr, tc.warn)
			}
		})
	}
}
