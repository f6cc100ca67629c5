package main_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/internal/testutil"
)

// isoEnv is an isolate configuration of the test's own: boxes, locks and
// cgroups that no other test or host process shares.
type isoEnv struct {
	r       *testutil.Runner
	boxRoot string
	conf    string
}

const isoFirstUID = 61000

// forT is e for subtest t: its files go to t's directories, and e, which
// the parent test goes on using, keeps its own (a subtest's are removed
// when it ends, so a later call of the parent's would make one that never
// is).
func (e *isoEnv) forT(t *testing.T) *isoEnv {
	c := *e
	c.r = e.r.For(t)
	return &c
}

func newIsoEnv(t *testing.T) *isoEnv {
	t.Helper()
	r := testutil.NewRunner(t)
	dir := t.TempDir()
	e := &isoEnv{r: r, boxRoot: filepath.Join(dir, "boxes"), conf: filepath.Join(dir, "isolate.conf")}
	conf := fmt.Sprintf("# test configuration\nbox_root = %s\nlock_root = %s\ncg_parent = mini-isolate-test-%s\n"+
		"first_uid = %d\nfirst_gid = %d\nnum_boxes = 100\n", e.boxRoot, filepath.Join(dir, "locks"), r.ID("cg"), isoFirstUID, isoFirstUID)
	if err := os.WriteFile(e.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	r.Env = []string{"MINI_ISOLATE_CONFIG=" + e.conf}
	t.Cleanup(func() {
		for id := 0; id < 100; id++ {
			if _, err := os.Stat(filepath.Join(e.boxRoot, strconv.Itoa(id))); err == nil {
				r.Run("isolate", "-b", strconv.Itoa(id), "--cleanup")
				r.Run("isolate", "-b", strconv.Itoa(id), "--cg", "--cleanup")
			}
		}
		testutil.RemoveCgroupParent(t, "mini-isolate-test-"+r.ID("cg"))
	})
	return e
}

func (e *isoEnv) iso(args ...string) testutil.Result {
	return e.r.Run(append([]string{"isolate"}, args...)...)
}

// init initialises a box and returns its box/ directory.
func (e *isoEnv) init(t *testing.T, id int, extra ...string) string {
	t.Helper()
	res := e.iso(append([]string{"-b", strconv.Itoa(id), "--init"}, extra...)...)
	if res.Code != 0 {
		t.Fatalf("--init: exit %d: %s", res.Code, res.Stderr)
	}
	dir := strings.TrimSpace(res.Stdout)
	if dir != filepath.Join(e.boxRoot, strconv.Itoa(id)) {
		t.Fatalf("--init printed %q", dir)
	}
	return filepath.Join(dir, "box")
}

// run runs a program in a box with a meta file and returns the result and
// the parsed meta.
func (e *isoEnv) run(t *testing.T, id int, opts []string, prog ...string) (testutil.Result, map[string]string) {
	t.Helper()
	metaPath := filepath.Join(t.TempDir(), "meta")
	args := append([]string{"-b", strconv.Itoa(id), "-M", metaPath}, opts...)
	args = append(append(args, "--run", "--"), prog...)
	res := e.iso(args...)
	var m map[string]string
	if _, err := os.Stat(metaPath); err == nil {
		m = testutil.ParseMeta(t, metaPath)
	}
	return res, m
}

// progData is the built test program name (internal/testutil/progs).
func progData(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.Programs(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func copyProg(t *testing.T, boxDir, name string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(boxDir, name), progData(t, name), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestIsolateLifecycle(t *testing.T) {
	e := newIsoEnv(t)
	boxDir := e.init(t, 1)
	fi, err := os.Stat(boxDir)
	if err != nil || fi.Mode().Perm() != 0o700 || fi.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Fatalf("box/ after init: %v %v", fi.Mode(), err)
	}
	// The box is a container: list shows it.
	if res := e.r.MustRun("list", "-q"); !strings.Contains(res.Stdout, "box-1") {
		t.Errorf("list -q: %q", res.Stdout)
	}
	res, m := e.run(t, 1, nil, "/bin/echo", "hello")
	if res.Code != 0 || res.Stdout != "hello\n" {
		t.Fatalf("run: exit %d stdout %q stderr %q", res.Code, res.Stdout, res.Stderr)
	}
	if !strings.HasPrefix(res.Stderr, "OK (") || !strings.Contains(res.Stderr, "sec real") {
		t.Errorf("status line %q", res.Stderr)
	}
	for _, k := range []string{"time", "time-wall", "max-rss", "csw-voluntary", "csw-forced", "exitcode"} {
		if _, ok := m[k]; !ok {
			t.Errorf("meta lacks %s: %v", k, m)
		}
	}
	if _, ok := m["cg-mem"]; ok {
		t.Errorf("cg-mem without --cg: %v", m)
	}
	// The program ran as the box's user and left its files to the caller.
	res, _ = e.run(t, 1, []string{"-p"}, "/bin/sh", "-c", "id -u; touch made")
	if strings.TrimSpace(res.Stdout) != strconv.Itoa(isoFirstUID+1) {
		t.Errorf("uid in the box: %q", res.Stdout)
	}
	if fi, err := os.Stat(filepath.Join(boxDir, "made")); err != nil || fi.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Errorf("a file the program made is not the caller's after the run: %v", err)
	}

	if res := e.iso("-b", "1", "--cleanup"); res.Code != 0 {
		t.Fatalf("--cleanup: %s", res.Stderr)
	}
	if _, err := os.Stat(filepath.Dir(boxDir)); !os.IsNotExist(err) {
		t.Errorf("box directory left after cleanup: %v", err)
	}
	if res := e.r.Run("state", "box-1"); res.Code == 0 {
		t.Error("box container left after cleanup")
	}
	if res := e.iso("-b", "1", "--cleanup"); res.Code != 0 {
		t.Errorf("cleanup of a missing box: exit %d", res.Code)
	}
	res, m = e.run(t, 1, nil, "/bin/true")
	if res.Code != 2 || !strings.Contains(res.Stderr, "Box not found") || m["status"] != "XX" {
		t.Errorf("run in a missing box: exit %d %q meta %v", res.Code, res.Stderr, m)
	}
}

func TestIsolateWarmRunsReuseTheContainer(t *testing.T) {
	e := newIsoEnv(t)
	e.init(t, 2)
	pidOf := func() int { return e.r.State("box-2").Pid }
	first := pidOf()
	for i := 0; i < 3; i++ {
		if res, _ := e.run(t, 2, nil, "/bin/true"); res.Code != 0 {
			t.Fatalf("run %d: %s", i, res.Stderr)
		}
	}
	if pidOf() != first {
		t.Error("runs with the default rules replaced the box's container")
	}
	// Other directory rules need another container; later runs reuse it.
	if res, _ := e.run(t, 2, []string{"--dir=/etc"}, "/bin/true"); res.Code != 0 {
		t.Fatal(res.Stderr)
	}
	second := pidOf()
	if second == first {
		t.Error("new directory rules did not give a new container")
	}
	if res, _ := e.run(t, 2, []string{"--dir=/etc"}, "/bin/true"); res.Code != 0 || pidOf() != second {
		t.Errorf("the same rules did not reuse the container: %s", res.Stderr)
	}
}

func TestIsolateVerdicts(t *testing.T) {
	e := newIsoEnv(t)
	boxDir := e.init(t, 3)
	for _, p := range []string{"spin", "burn", "sleeper", "crash"} {
		copyProg(t, boxDir, p)
	}
	for _, tc := range []struct {
		name             string
		opts             []string
		prog             []string
		code             int
		status, message  string
		killed           bool
		exitcode, sigkey string
		cpuLo, cpuHi     time.Duration
		wallLo, wallHi   time.Duration
	}{
		{name: "cpu limit", opts: []string{"-t", "0.3"}, prog: []string{"./spin"}, code: 1, status: "TO", message: "Time limit exceeded", killed: true,
			cpuLo: 300 * time.Millisecond, cpuHi: 300*time.Millisecond + killSlack},
		{name: "wall limit", opts: []string{"-w", "0.3"}, prog: []string{"./sleeper"}, code: 1, status: "TO", message: "Time limit exceeded (wall clock)", killed: true,
			wallLo: 300 * time.Millisecond, wallHi: 300*time.Millisecond + killSlack},
		// -x is isolate's kill threshold, not a grace added to -t.
		{name: "extra time is a threshold", opts: []string{"-t", "0.2", "-x", "0.5"}, prog: []string{"./spin"}, code: 1, status: "TO", message: "Time limit exceeded", killed: true,
			cpuLo: 500 * time.Millisecond, cpuHi: 500*time.Millisecond + killSlack},
		{name: "extra time below the limit does nothing", opts: []string{"-t", "0.3", "-x", "0.1"}, prog: []string{"./spin"}, code: 1, status: "TO", killed: true,
			cpuLo: 300 * time.Millisecond, cpuHi: 300*time.Millisecond + killSlack},
		// The program's own clock counts the instants before it joined its
		// cgroup; the report may be a hair under the 400 ms it burned.
		{name: "over the limit within the threshold", opts: []string{"-t", "0.2", "-x", "1"}, prog: []string{"./burn", "400"}, code: 1, status: "TO", message: "Time limit exceeded",
			cpuLo: 400 * time.Millisecond, cpuHi: 400*time.Millisecond + timeSlack},
		{name: "runtime error", prog: []string{"./crash", "exit:3"}, code: 1, status: "RE", message: "Exited with error status 3", exitcode: "3"},
		{name: "signal", prog: []string{"./crash", "segv"}, code: 1, status: "SG", message: "Caught fatal signal 11", sigkey: "11"},
		// isolate 2.x reports a failed execve as exit status 127.
		{name: "missing program", prog: []string{"./nope"}, code: 1, status: "RE", message: "Exited with error status 127", exitcode: "127"},
		{name: "no PATH search", prog: []string{"true"}, code: 1, status: "RE", exitcode: "127"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.forT(t)
			// The microsecond keys, to check the times.
			res, m := e.run(t, 3, append([]string{"--extended-meta"}, tc.opts...), tc.prog...)
			if res.Code != tc.code || m["status"] != tc.status || (tc.message != "" && m["message"] != tc.message) {
				t.Errorf("exit %d meta %v stderr %q", res.Code, m, res.Stderr)
			}
			if (m["killed"] == "1") != tc.killed || m["exitcode"] != tc.exitcode || (tc.sigkey != "" && m["exitsig"] != tc.sigkey) {
				t.Errorf("killed/exitcode/exitsig: %v", m)
			}
			if tc.cpuHi > 0 {
				within(t, "time", seconds(t, m, "time"), tc.cpuLo, tc.cpuHi)
			}
			if tc.wallHi > 0 {
				within(t, "time-wall", seconds(t, m, "time-wall"), tc.wallLo, tc.wallHi)
			}
			if tc.message != "" && !strings.Contains(res.Stderr, tc.message) {
				t.Errorf("status line %q lacks %q", res.Stderr, tc.message)
			}
			if tc.name == "missing program" && !strings.Contains(res.Stderr, `execve("./nope")`) {
				t.Errorf("stderr %q lacks the execve error", res.Stderr)
			}
		})
	}
	// -s silences the status line of a failure.
	if res, _ := e.run(t, 3, []string{"-s"}, "./crash", "exit:4"); res.Code != 1 || res.Stderr != "" {
		t.Errorf("-s: exit %d stderr %q", res.Code, res.Stderr)
	}
}

// limitLine returns the soft limit /proc/self/limits shows for name.
func limitLine(t *testing.T, limits, name string) string {
	t.Helper()
	for _, line := range strings.Split(limits, "\n") {
		if strings.HasPrefix(line, name) {
			return strings.Fields(strings.TrimPrefix(line, name))[0]
		}
	}
	t.Fatalf("no %q in limits:\n%s", name, limits)
	return ""
}

func TestIsolateRlimits(t *testing.T) {
	e := newIsoEnv(t)
	e.init(t, 4)
	res, _ := e.run(t, 4, []string{"-m", "262144", "-k", "8192", "-f", "1024", "-n", "33", "--core", "64"}, "/bin/cat", "/proc/self/limits")
	if res.Code != 0 {
		t.Fatal(res.Stderr)
	}
	for name, want := range map[string]string{
		"Max address space": strconv.Itoa(262144 * 1024), "Max stack size": strconv.Itoa(8192 * 1024),
		"Max file size": strconv.Itoa(1024 * 1024), "Max open files": "33", "Max core file size": strconv.Itoa(64 * 1024),
		"Max locked memory": "0",
	} {
		if got := limitLine(t, res.Stdout, name); got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
	// Defaults: unlimited stack, no core files, 1024 open files.
	res, _ = e.run(t, 4, nil, "/bin/cat", "/proc/self/limits")
	for name, want := range map[string]string{"Max stack size": "unlimited", "Max core file size": "0", "Max open files": "1024"} {
		if got := limitLine(t, res.Stdout, name); got != want {
			t.Errorf("default %s = %s, want %s", name, got, want)
		}
	}
}

func TestIsolateMemoryAndProcesses(t *testing.T) {
	e := newIsoEnv(t)
	boxDir := e.init(t, 5, "--cg")
	copyProg(t, boxDir, "memhog")
	copyProg(t, boxDir, "forkbomb")

	// --mem is RLIMIT_AS: malloc fails and the program exits 3 by itself.
	res, m := e.run(t, 5, []string{"--cg", "-m", "65536"}, "./memhog", "200")
	if m["status"] != "RE" || m["exitcode"] != "3" {
		t.Errorf("--mem: exit %d meta %v", res.Code, m)
	}
	// --cg-mem is the cgroup limit: the OOM killer, reported as isolate does.
	res, m = e.run(t, 5, []string{"--cg", "--cg-mem", "65536"}, "./memhog", "200")
	if m["status"] != "SG" || m["exitsig"] != "9" || m["cg-oom-killed"] != "1" || res.Code != 1 {
		t.Errorf("--cg-mem: exit %d meta %v", res.Code, m)
	}
	if kb, _ := strconv.Atoi(m["cg-mem"]); kb < 60000 || kb > 65536+oomOvershoot/1024 {
		t.Errorf("cg-mem %d KiB, want about 65536", kb)
	}
	// --cg-mem needs --cg, as in isolate.
	if res, _ := e.run(t, 5, []string{"--cg-mem", "65536"}, "/bin/true"); res.Code != 2 {
		t.Errorf("--cg-mem without --cg: exit %d", res.Code)
	}

	// -p defaults to one process; -p2 lets the program fork once; -p alone
	// lifts the limit; a fork bomb stays within -pN.
	script := "(true) && echo forked"
	if res, _ := e.run(t, 5, []string{"--cg"}, "/bin/sh", "-c", script); strings.Contains(res.Stdout, "forked") {
		t.Error("the default -p1 let the shell fork")
	}
	if res, _ := e.run(t, 5, []string{"--cg", "-p2"}, "/bin/sh", "-c", script); !strings.Contains(res.Stdout, "forked") {
		t.Errorf("-p2 did not let the shell fork: %q %q", res.Stdout, res.Stderr)
	}
	if res, _ := e.run(t, 5, []string{"--cg", "-p"}, "/bin/sh", "-c", "for i in 1 2 3 4 5; do (sleep 0.1) & done; wait; echo ok"); !strings.Contains(res.Stdout, "ok") {
		t.Errorf("-p without a value: %q", res.Stderr)
	}
	_, m = e.run(t, 5, []string{"--cg", "--extended-meta", "-p20", "-w", "1"}, "./forkbomb")
	if peak, _ := strconv.Atoi(m["pids-peak"]); peak != 20 || m["status"] != "TO" {
		t.Errorf("fork bomb under -p20: %v", m)
	}
	// The 1.x options Judge0 sends are accepted.
	if res, _ := e.run(t, 5, []string{"--cg", "--cg-timing"}, "/bin/true"); res.Code != 0 {
		t.Errorf("--cg-timing: %s", res.Stderr)
	}
	if res, _ := e.run(t, 5, []string{"--cg", "--no-cg-timing"}, "/bin/true"); res.Code != 0 {
		t.Errorf("--no-cg-timing: %s", res.Stderr)
	}
	// A box made with --cg refuses runs without it.
	if res, _ := e.run(t, 5, nil, "/bin/true"); res.Code != 2 || !strings.Contains(res.Stderr, "control group mode") {
		t.Errorf("run without --cg in a --cg box: exit %d %q", res.Code, res.Stderr)
	}
}

func TestIsolateFileSize(t *testing.T) {
	e := newIsoEnv(t)
	boxDir := e.init(t, 6)
	copyProg(t, boxDir, "crash")
	_, m := e.run(t, 6, []string{"-f", "64"}, "./crash", "fsize", "big")
	if m["status"] != "SG" || m["exitsig"] != "25" {
		t.Errorf("-f 64: %v", m)
	}
	if fi, err := os.Stat(filepath.Join(boxDir, "big")); err != nil || fi.Size() != 64*1024 {
		t.Errorf("file written under -f 64: %v", err)
	}
}

func TestIsolateRedirects(t *testing.T) {
	e := newIsoEnv(t)
	boxDir := e.init(t, 7)
	if err := os.WriteFile(filepath.Join(boxDir, "in.txt"), []byte("2 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Paths are inside the box and relative to /box, even with --chdir,
	// which applies afterwards.
	res, _ := e.run(t, 7, []string{"-p", "-i", "in.txt", "-o", "out.txt", "-r", "err.txt", "-c", "/tmp"},
		"/bin/sh", "-c", "read a b; echo $((a+b)); pwd; echo oops >&2")
	if res.Code != 0 {
		t.Fatal(res.Stderr)
	}
	if got := readFile(t, filepath.Join(boxDir, "out.txt")); got != "5\n/tmp\n" {
		t.Errorf("out.txt %q", got)
	}
	if got := readFile(t, filepath.Join(boxDir, "err.txt")); got != "oops\n" {
		t.Errorf("err.txt %q", got)
	}
	res, _ = e.run(t, 7, []string{"-p", "-o", "both.txt", "--stderr-to-stdout"}, "/bin/sh", "-c", "echo a; echo b >&2")
	if got := readFile(t, filepath.Join(boxDir, "both.txt")); got != "a\nb\n" {
		t.Errorf("--stderr-to-stdout: %q (%s)", got, res.Stderr)
	}
	// Without redirections the program has the caller's stdio.
	cmd := e.r.Command(t.Context(), "isolate", "-b", "7", "-p", "--run", "--", "/bin/sh", "-c", "cat; echo to-err >&2")
	cmd.Stdin = strings.NewReader("piped\n")
	out, err := cmd.Output()
	if err != nil || string(out) != "piped\n" {
		t.Errorf("inherited stdio: %q %v", out, err)
	}
	// A redirection never goes through a symlink, and a missing input is a
	// sandbox error.
	if err := os.Symlink("/etc/passwd", filepath.Join(boxDir, "link")); err != nil {
		t.Fatal(err)
	}
	if res, m := e.run(t, 7, []string{"--special-files", "-i", "link"}, "/bin/cat"); res.Code != 2 || m["status"] != "XX" {
		t.Errorf("stdin through a symlink: exit %d %v", res.Code, m)
	}
	if res, m := e.run(t, 7, []string{"-i", "missing.txt"}, "/bin/cat"); res.Code != 2 || !strings.Contains(m["message"], "missing.txt") {
		t.Errorf("missing stdin: exit %d %v", res.Code, m)
	}
	// -M - writes the report to stdout.
	res = e.iso("-b", "7", "-M", "-", "--run", "--", "/bin/true")
	if !strings.Contains(res.Stdout, "time-wall:") || !strings.Contains(res.Stdout, "exitcode:0") {
		t.Errorf("-M -: %q", res.Stdout)
	}
}

func TestIsolateEnvironment(t *testing.T) {
	e := newIsoEnv(t)
	e.init(t, 8)
	t.Setenv("ISO_TEST_INHERITED", "from-caller")
	e.r.Env = append(e.r.Env, "ISO_TEST_INHERITED=from-caller", "ISO_TEST_DROPPED=x")
	env := func(opts ...string) []string {
		res, _ := e.run(t, 8, opts, "/usr/bin/env")
		if res.Code != 0 {
			t.Fatalf("env %v: %s", opts, res.Stderr)
		}
		return strings.Fields(res.Stdout)
	}
	if got := env(); strings.Join(got, " ") != "LIBC_FATAL_STDERR_=1" {
		t.Errorf("default environment %v", got)
	}
	got := strings.Join(env("-E", "FOO=bar", "-E", "ISO_TEST_INHERITED"), " ")
	if !strings.Contains(got, "FOO=bar") || !strings.Contains(got, "ISO_TEST_INHERITED=from-caller") || strings.Contains(got, "DROPPED") {
		t.Errorf("-E rules: %s", got)
	}
	got = strings.Join(env("-e", "-E", "ISO_TEST_DROPPED="), " ")
	if !strings.Contains(got, "ISO_TEST_INHERITED=from-caller") || strings.Contains(got, "ISO_TEST_DROPPED") {
		t.Errorf("-e with an unset rule: %s", got)
	}
}

func TestIsolateDirectoryRules(t *testing.T) {
	e := newIsoEnv(t)
	e.init(t, 9)
	host := t.TempDir()
	if err := os.Chmod(host, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(host, "tool"), []byte("#!/bin/sh\necho ran\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sh := func(opts []string, script string) testutil.Result {
		res, _ := e.run(t, 9, append([]string{"-p"}, opts...), "/bin/sh", "-c", script)
		return res
	}
	if res := sh([]string{"-d", "/data=" + host + ":rw"}, "echo hi > /data/w && /data/tool"); res.Code != 0 || res.Stdout != "ran\n" {
		t.Errorf("rw rule: %q %q", res.Stdout, res.Stderr)
	}
	if res := sh([]string{"-d", "/data=" + host}, "echo hi > /data/w2"); res.Code == 0 {
		t.Error("a rule without rw is writable")
	}
	if res := sh([]string{"-d", "/data=" + host + ":noexec"}, "/data/tool"); res.Code == 0 {
		t.Error("noexec rule lets a program run")
	}
	if res := sh([]string{"-d", "/gone=/no/such/dir:maybe"}, "test -d /gone || echo absent"); res.Code != 0 || res.Stdout != "absent\n" {
		t.Errorf("maybe rule: %q %q", res.Stdout, res.Stderr)
	}
	if res := sh([]string{"-d", "/gone=/no/such/dir"}, "true"); res.Code != 2 {
		t.Errorf("missing directory without maybe: exit %d", res.Code)
	}
	if res := sh([]string{"-d", "/scratch:tmp"}, "touch /scratch/x && ls -ld /scratch"); res.Code != 0 || !strings.Contains(res.Stdout, strconv.Itoa(isoFirstUID+9)) {
		t.Errorf("tmp rule: %q %q", res.Stdout, res.Stderr)
	}
	if res := sh([]string{"-d", "/mnt=tmpfs:fs:rw"}, "grep ' /mnt ' /proc/mounts"); !strings.Contains(res.Stdout, "tmpfs") {
		t.Errorf("fs rule: %q %q", res.Stdout, res.Stderr)
	}
	if res := sh(nil, "test -d /etc || echo no-etc"); res.Stdout != "no-etc\n" {
		t.Errorf("/etc is visible by default: %q", res.Stdout)
	}
	if res := sh([]string{"-d", "/etc"}, "test -f /etc/hostname && echo has-etc"); res.Stdout != "has-etc\n" {
		t.Errorf("-d /etc: %q %q", res.Stdout, res.Stderr)
	}
	// IN= removes a default rule; -D removes them all (and then /box must
	// be bound again explicitly).
	if res := sh([]string{"-d", "tmp="}, "test -d /tmp || echo no-tmp"); res.Stdout != "no-tmp\n" {
		t.Errorf("removing the tmp rule: %q %q", res.Stdout, res.Stderr)
	}
	// /proc stays: the judge init starts through it.
	res, _ := e.run(t, 9, []string{"-p", "-D", "-d", "box=./box:rw", "-d", "bin", "-d", "lib", "-d", "lib64:maybe", "-d", "usr"}, "/bin/sh", "-c", "ls /")
	if res.Code != 0 || strings.Fields(res.Stdout)[0] != "bin" || strings.Contains(res.Stdout, "tmp") {
		t.Errorf("-D: %q %q", res.Stdout, res.Stderr)
	}
	for _, bad := range []string{"/../etc", "/x=relative", "/x:bogus", "/x=tmpfs:fs:tmp"} {
		if res := sh([]string{"-d", bad}, "true"); res.Code != 2 {
			t.Errorf("-d %s: exit %d", bad, res.Code)
		}
	}
}

func TestIsolateNetwork(t *testing.T) {
	e := newIsoEnv(t)
	e.init(t, 10)
	ifaces := func(opts ...string) string {
		res, _ := e.run(t, 10, opts, "/bin/cat", "/proc/net/dev")
		return res.Stdout
	}
	if got := ifaces(); strings.Count(got, ":") != 1 || !strings.Contains(got, "lo:") {
		t.Errorf("network without --share-net:\n%s", got)
	}
	host, _ := os.ReadFile("/proc/net/dev")
	if got := ifaces("--share-net"); strings.Count(got, ":") != strings.Count(string(host), ":") {
		t.Errorf("--share-net shows:\n%s\nthe host has:\n%s", got, host)
	}
}

func TestIsolateSpecialFiles(t *testing.T) {
	e := newIsoEnv(t)
	boxDir := e.init(t, 11)
	make := func() {
		_ = os.Symlink("/etc/passwd", filepath.Join(boxDir, "link"))
		_ = syscall.Mkfifo(filepath.Join(boxDir, "fifo"), 0o644)
	}
	make()
	e.run(t, 11, nil, "/bin/true")
	for _, n := range []string{"link", "fifo"} {
		if _, err := os.Lstat(filepath.Join(boxDir, n)); err == nil {
			t.Errorf("%s survived a run", n)
		}
	}
	make()
	e.run(t, 11, []string{"--special-files"}, "/bin/true")
	for _, n := range []string{"link", "fifo"} {
		if _, err := os.Lstat(filepath.Join(boxDir, n)); err != nil {
			t.Errorf("%s was removed despite --special-files", n)
		}
	}
}

// TestIsolateSlowSetupWallTime: a set-up that stalls, here on a FIFO
// redirection the host opens late, counts against the wall limit past the
// set-up's slack, and so in the reported wall time: a run killed at its
// wall limit never reports less than the limit.
func TestIsolateSlowSetupWallTime(t *testing.T) {
	e := newIsoEnv(t)
	boxDir := e.init(t, 19)
	copyProg(t, boxDir, "sleeper")
	fifo := filepath.Join(boxDir, "in")
	if err := unix.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	// The host opens the FIFO late, well past the 50 ms set-up slack, and
	// the wall limit is twice that: scaled, so that a slow guest's set-up
	// reaches the open first.
	late := min(testutil.Slack(300*time.Millisecond), 3*time.Second)
	wall := 2 * late.Truncate(time.Millisecond)
	opened := make(chan error, 1)
	go func() {
		time.Sleep(late)
		// Non-blocking: it fails unless the child is waiting in its open.
		f, err := os.OpenFile(fifo, os.O_WRONLY|unix.O_NONBLOCK, 0)
		if err == nil {
			f.Close()
		}
		opened <- err
	}()
	w := strconv.FormatFloat(wall.Seconds(), 'f', 3, 64)
	_, m := e.run(t, 19, []string{"--extended-meta", "--special-files", "-w", w, "-i", "in"}, "./sleeper", "100000")
	if err := <-opened; err != nil {
		t.Fatalf("the child was not waiting on the FIFO at %v: %v", late, err)
	}
	if m["status"] != "TO" || m["message"] != "Time limit exceeded (wall clock)" {
		t.Fatalf("meta %v, want TO at the wall limit", m)
	}
	within(t, "time-wall", seconds(t, m, "time-wall"), wall, wall+killSlack)
}

// TestIsolateShmClearedBetweenRuns: what a run leaves in /dev/shm, a deep
// chain, a wide directory and a directory it made unreadable among it, is
// gone before the next run, which runs as the same user.
func TestIsolateShmClearedBetweenRuns(t *testing.T) {
	e := newIsoEnv(t)
	e.init(t, 23)
	build := `cd /dev/shm && mkdir -p a/b/c/d/e && echo secret > a/b/c/d/e/f && chmod 0 a/b/c &&
		for i in $(seq 1 50); do mkdir -p w/$i/x && echo $i > w/$i/x/f; done &&
		mkdir deep && cd deep && i=0 && while [ $i -lt 300 ]; do mkdir d && cd d && i=$((i+1)); done &&
		echo secret > f && echo built`
	if res, _ := e.run(t, 23, []string{"-p"}, "/bin/sh", "-c", build); res.Code != 0 || res.Stdout != "built\n" {
		t.Fatalf("building the tree: exit %d %q %q", res.Code, res.Stdout, res.Stderr)
	}
	left := func(after string) {
		t.Helper()
		res, _ := e.run(t, 23, []string{"-p"}, "/bin/sh", "-c", "find /dev/shm -mindepth 1 | wc -l")
		if res.Code != 0 || strings.TrimSpace(res.Stdout) != "0" {
			t.Errorf("entries left in /dev/shm after %s: %q (exit %d %q)", after, res.Stdout, res.Code, res.Stderr)
		}
	}
	left("a deep and wide tree")
	// The cleaner's own directory names taken, for the pids it could have
	// next (its pid namespace is the box's).
	squat := `cd /dev/shm && mkdir -p s/t && echo secret > s/t/f &&
		for p in $(seq $$ $(($$+1500))); do for k in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
		: > .judge-init-trash-$p-$k; done; done && echo built`
	if res, _ := e.run(t, 23, []string{"-p"}, "/bin/sh", "-c", squat); res.Code != 0 || res.Stdout != "built\n" {
		t.Fatalf("taking the names: exit %d %q %q", res.Code, res.Stdout, res.Stderr)
	}
	left("the cleaner's names were taken")
}

// TestIsolateShmInodeCap: /dev/shm holds at most policy.TmpfsInodes
// files, however small, and a run that filled it leaves the next one an
// empty /dev/shm all the same.
func TestIsolateShmInodeCap(t *testing.T) {
	e := newIsoEnv(t)
	e.init(t, 24)
	// Stops at the first file that cannot be made, or well past the cap;
	// then says why the next cannot be. (A failed redirection of ":", a
	// special built-in, would end the shell.)
	fill := `cd /dev/shm && stat -f -c %c . && i=0 && while [ $i -lt 100000 ] && { true > f$i; } 2>/dev/null; do i=$((i+1)); done;
		echo $i; { true > last; } 2>&1`
	res, _ := e.run(t, 24, []string{"-p", "-w", "60"}, "/bin/sh", "-c", fill)
	lines := strings.SplitN(res.Stdout, "\n", 3)
	if len(lines) < 3 || lines[0] != "65536" {
		t.Fatalf("/dev/shm: %q (exit %d %q), want 65536 inodes, a count and why it stopped", res.Stdout, res.Code, res.Stderr)
	}
	// The root directory takes one inode, and on 6.6 and later a file's
	// security xattrs (an SELinux label) take a little more of the cap.
	n, err := strconv.Atoi(lines[1])
	if err != nil || n > 65535 || n < 60000 || !strings.Contains(lines[2], "No space left on device") {
		t.Fatalf("made %q files (%v), want 60,000 to 65,535, then %q, want ENOSPC", lines[1], err, lines[2])
	}
	res, _ = e.run(t, 24, []string{"-p"}, "/bin/sh", "-c", "find /dev/shm -mindepth 1 | wc -l; : > /dev/shm/next && echo made")
	if res.Code != 0 || res.Stdout != "0\nmade\n" {
		t.Errorf("the run after a full /dev/shm: %q (exit %d %q), want it empty and writable", res.Stdout, res.Code, res.Stderr)
	}
}

func TestIsolateInheritFDs(t *testing.T) {
	e := newIsoEnv(t)
	e.init(t, 12)
	run := func(opts ...string) string {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		_, _ = pw.WriteString("secret\n")
		pw.Close()
		args := append([]string{"--root", e.r.Root, "isolate", "-b", "12", "-p"}, opts...)
		cmd := exec.Command(e.r.Bin, append(args, "--run", "--", "/bin/sh", "-c", "cat <&3")...)
		cmd.Env = append(os.Environ(), e.r.Env...)
		cmd.ExtraFiles = []*os.File{pr}
		out, _ := cmd.Output()
		return string(out)
	}
	if got := run(); got != "" {
		t.Errorf("fd 3 reached the program without --inherit-fds: %q", got)
	}
	if got := run("--inherit-fds"); got != "secret\n" {
		t.Errorf("--inherit-fds: %q", got)
	}
}

func TestIsolateWait(t *testing.T) {
	e := newIsoEnv(t)
	e.init(t, 13)
	// The first run holds the box until the test closes its stdin; no
	// sleep guesses how long it takes to start.
	hold, release, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer release.Close()
	long := e.r.Command(t.Context(), "isolate", "-b", "13", "--wait", "--run", "--", "/bin/sh", "-c", "read x || true", "holdmarker")
	long.Stdin = hold
	if err := long.Start(); err != nil {
		t.Fatal(err)
	}
	hold.Close()
	testutil.Eventually(t, testutil.Slack(10*time.Second), "the box to be in use", func() bool {
		res, _ := e.run(t, 13, nil, "/bin/true")
		return res.Code == 2 && strings.Contains(res.Stderr, "in use")
	})
	// --wait blocks while the box is busy, then runs: it sees no process
	// of the first run.
	waiter := e.r.Command(t.Context(), "isolate", "-b", "13", "-p4", "--wait", "--run", "--",
		"/bin/sh", "-c", "grep -l 'hold[m]arker' /proc/[0-9]*/cmdline; echo ran")
	var out, stderr strings.Builder
	waiter.Stdout, waiter.Stderr = &out, &stderr
	done := startBlocked(t, waiter, testutil.Slack(200*time.Millisecond), "--wait's box was in use", &out)
	release.Close()
	if err := long.Wait(); err != nil {
		t.Errorf("the first run: %v", err)
	}
	if err := <-done; err != nil || out.String() != "ran\n" {
		t.Errorf("--wait: %v, output %q, want only \"ran\" (no process of the first run); stderr %q", err, out.String(), stderr.String())
	}
}

func TestIsolateAsUser(t *testing.T) {
	e := newIsoEnv(t)
	res := e.iso("-b", "14", "--as-uid=1234", "--as-gid=1234", "--init")
	if res.Code != 0 {
		t.Fatal(res.Stderr)
	}
	boxDir := filepath.Join(strings.TrimSpace(res.Stdout), "box")
	if st := statOwner(t, boxDir); st != 1234 {
		t.Errorf("box owned by %d, want 1234", st)
	}
	e.run(t, 14, []string{"--as-uid=1234", "--as-gid=1234", "-p"}, "/bin/sh", "-c", "touch made")
	if st := statOwner(t, filepath.Join(boxDir, "made")); st != 1234 {
		t.Errorf("file after the run owned by %d, want 1234", st)
	}
	if res := e.iso("-b", "14", "--as-uid=1234", "--init"); res.Code != 2 {
		t.Errorf("--as-uid without --as-gid: exit %d", res.Code)
	}
}

// A box's program holds no capability, not even in its bounding set, and
// cannot gain one: run after run, since the init narrows each child's
// bounding set from what it read of its own once.
func TestIsolateNoCapabilities(t *testing.T) {
	e := newIsoEnv(t)
	e.init(t, 26)
	const want = "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n" +
		"CapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\n"
	for i := range 2 {
		res, m := e.run(t, 26, nil, "/bin/grep", "-E", "^(Cap|NoNewPrivs)", "/proc/self/status")
		if res.Code != 0 || m["status"] != "" {
			t.Fatalf("run %d: exit %d, meta %v: %s", i, res.Code, m, res.Stderr)
		}
		if res.Stdout != want {
			t.Errorf("run %d: the program's\n%s\nwant\n%s", i, res.Stdout, want)
		}
	}
}

func statOwner(t *testing.T, path string) int {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Uid)
}

func TestIsolateQuota(t *testing.T) {
	t.Run("refused without quota support", func(t *testing.T) {
		e := newIsoEnv(t)
		if res := e.iso("-b", "16", "-q", "10,10", "--init"); res.Code != 2 || !strings.Contains(res.Stderr, "quota") {
			t.Errorf("quota on a filesystem without quotas: exit %d %q", res.Code, res.Stderr)
		}
	})
	// tmpfs has user quotas since Linux 6.6 (CONFIG_TMPFS_QUOTA): give the
	// boxes one where the kernel can.
	t.Run("enforced on a tmpfs with quotas", func(t *testing.T) {
		e := newIsoEnv(t)
		if err := syscall.Mount("tmpfs", mustMkdir(t, e.boxRoot), "tmpfs", 0, "quota,size=64m"); err != nil {
			t.Skipf("this kernel has no tmpfs with user quotas (CONFIG_TMPFS_QUOTA, Linux 6.6+): %v", err)
		}
		t.Cleanup(func() { _ = syscall.Unmount(e.boxRoot, syscall.MNT_DETACH) })
		boxDir := e.init(t, 15, "-q", "100,50")
		res, _ := e.run(t, 15, []string{"-p"}, "/bin/sh", "-c", "head -c 204800 /dev/zero > big; echo rc=$?")
		if !strings.Contains(res.Stdout, "rc=1") {
			t.Errorf("a 200 KiB write under a 100 KiB quota: %q %q", res.Stdout, res.Stderr)
		}
		if fi, err := os.Stat(filepath.Join(boxDir, "big")); err != nil || fi.Size() > 100*1024 {
			t.Errorf("file size under quota: %v", err)
		}
	})
}

func mustMkdir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestIsolateCommandLine(t *testing.T) {
	e := newIsoEnv(t)
	if res := e.iso("--version"); res.Code != 0 || !strings.Contains(res.Stdout, "isolate") {
		t.Errorf("--version: %d %q", res.Code, res.Stdout)
	}
	if res := e.iso("--print-cg-root"); res.Code != 0 || !strings.HasPrefix(res.Stdout, "/sys/fs/cgroup/") || !strings.Contains(res.Stdout, "mini-isolate-test-") {
		t.Errorf("--print-cg-root: %q", res.Stdout)
	}
	if res := e.iso("--check-config"); res.Code != 0 || res.Stdout != "" {
		t.Errorf("--check-config: %d %q", res.Code, res.Stdout)
	}
	if res := e.iso("--check-config", "-vv"); !strings.Contains(res.Stdout, "box_root: "+e.boxRoot) {
		t.Errorf("--check-config -vv: %q", res.Stdout)
	}
	for _, bad := range [][]string{
		{}, {"--init", "--run"}, {"--bogus", "--init"}, {"-b", "100", "--init"}, {"-b", "x", "--init"},
		{"-t", "-1", "--run", "--", "/bin/true"}, {"-t", "soon", "--run", "--", "/bin/true"}, {"--run"},
		{"--init", "extra"}, {"-b"},
	} {
		res := e.iso(bad...)
		if res.Code != 2 || res.Stderr == "" || strings.Contains(res.Stderr, "goroutine") {
			t.Errorf("isolate %v: exit %d %q", bad, res.Code, res.Stderr)
		}
	}
	// A configuration file with an unknown key is an error that names the line.
	bad := filepath.Join(t.TempDir(), "bad.conf")
	_ = os.WriteFile(bad, []byte("box_root = /x\nfrobnicate = 1\n"), 0o644)
	cmd := e.r.Command(t.Context(), "isolate", "--check-config")
	cmd.Env = append(os.Environ(), "MINI_ISOLATE_CONFIG="+bad)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "line 2") {
		t.Errorf("bad config: %v %q", err, out)
	}
	// Long options in every getopt form, and bundled short ones.
	e.init(t, 17)
	for _, args := range [][]string{
		{"--box-id=17", "--time=1", "--run", "--", "/bin/true"},
		{"--box-id", "17", "--time", "1", "--run", "/bin/true"},
		{"--box=17", "--wall=1", "--run", "--", "/bin/true"},
		{"-sb17", "-t1", "--run", "--", "/bin/true"},
	} {
		if res := e.iso(args...); res.Code != 0 {
			t.Errorf("isolate %v: exit %d %q", args, res.Code, res.Stderr)
		}
	}
	// -v tells more.
	if res := e.iso("-b", "17", "-v", "--dir=/etc", "--run", "--", "/bin/true"); !strings.Contains(res.Stderr, "box 17") {
		t.Errorf("-v: %q", res.Stderr)
	}
	// --tty-hack is accepted.
	if res := e.iso("-b", "17", "--tty-hack", "--run", "--", "/bin/true"); res.Code != 0 {
		t.Errorf("--tty-hack: %q", res.Stderr)
	}
}

func TestIsolateSymlinkName(t *testing.T) {
	e := newIsoEnv(t)
	link := filepath.Join(t.TempDir(), "isolate")
	if err := os.Symlink(e.r.Bin, link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link, "--version")
	if out, err := cmd.Output(); err != nil || !strings.Contains(string(out), "isolate") {
		t.Errorf("called as isolate: %v %q", err, out)
	}
}

// TestIsolateCMS runs CMS's exact command lines (cms/grading/Sandbox.py):
// cleanup and init with --cg, then an evaluation with its home at /tmp.
func TestIsolateCMS(t *testing.T) {
	e := newIsoEnv(t)
	home := t.TempDir()
	if err := os.Chmod(home, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "input.txt"), []byte("3 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := e.iso("--box-id=20", "--cg", "--cleanup"); res.Code != 0 {
		t.Fatal(res.Stderr)
	}
	if res := e.iso("--box-id=20", "--cg", "--init"); res.Code != 0 {
		t.Fatal(res.Stderr)
	}
	metaPath := filepath.Join(home, "run.meta.0")
	res := e.iso("--cg", "--box-id=20", "--chdir=/tmp", "--dir=/tmp="+home+":rw", "--dir=/dev/shm:tmp",
		"--dir=/etc/alternatives:maybe", "--dir=/opt/pypy3:maybe", "--env=HOME=/tmp", "--fsize=1048576",
		"--stdin=/tmp/input.txt", "--stack=65536", "--cg-mem=262144", "--stdout=/tmp/output.txt",
		"--processes=1", "--stderr=/tmp/stderr.txt", "--time=1", "--wall-time=3", "--extra-time=0.5",
		"--meta="+metaPath, "--run", "--", "/bin/sh", "-c", "read a b; echo $((a+b))")
	if res.Code != 0 {
		t.Fatalf("CMS evaluation: exit %d %q", res.Code, res.Stderr)
	}
	m := testutil.ParseMeta(t, metaPath)
	if m["exitcode"] != "0" || m["status"] != "" || m["cg-mem"] == "" {
		t.Errorf("meta %v", m)
	}
	if got := readFile(t, filepath.Join(home, "output.txt")); got != "7\n" {
		t.Errorf("output %q", got)
	}
	if res := e.iso("--box-id=20", "--cg", "--cleanup"); res.Code != 0 {
		t.Errorf("cleanup: %s", res.Stderr)
	}
}

// TestIsolateJudge0 runs Judge0's exact command lines (isolate_job.rb):
// stdio redirected by the shell outside the box, metadata in the box dir.
func TestIsolateJudge0(t *testing.T) {
	e := newIsoEnv(t)
	res := e.iso("--cg", "-b", "21", "--init")
	if res.Code != 0 {
		t.Fatal(res.Stderr)
	}
	dir := strings.TrimSpace(res.Stdout)
	if err := os.WriteFile(filepath.Join(dir, "box", "script.sh"), []byte("read a b\necho $((a*b))\necho err >&2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	stdin := filepath.Join(dir, "stdin.txt")
	_ = os.WriteFile(stdin, []byte("6 7\n"), 0o644)
	metaPath := filepath.Join(dir, "metadata.txt")
	args := []string{"isolate", "--cg", "-s", "-b", "21", "-M", metaPath, "-t", "5", "-x", "1", "-w", "10",
		"-k", "64000", "-p60", "--cg-timing", "--cg-mem=128000", "-f", "1024",
		"-E", "HOME=/tmp", "-E", "PATH=/usr/local/bin:/usr/bin:/bin", "-E", "LANG", "-E", "LANGUAGE", "-E", "LC_ALL",
		"-d", "/etc:noexec", "--run", "--", "/bin/bash", "script.sh"}
	cmd := e.r.Command(t.Context(), args...)
	in, _ := os.Open(stdin)
	defer in.Close()
	var out, errb strings.Builder
	cmd.Stdin, cmd.Stdout, cmd.Stderr = in, &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("Judge0 run: %v %q", err, errb.String())
	}
	if out.String() != "42\n" || errb.String() != "err\n" {
		t.Errorf("stdout %q stderr %q (-s: no status line)", out.String(), errb.String())
	}
	m := testutil.ParseMeta(t, metaPath)
	if m["exitcode"] != "0" || m["time"] == "" || m["cg-mem"] == "" {
		t.Errorf("meta %v", m)
	}
	if res := e.iso("--cg", "-b", "21", "--cleanup"); res.Code != 0 {
		t.Errorf("cleanup: %s", res.Stderr)
	}
}

// TestIsolateSeccomp runs the policy's probes in a box, and bare on the
// host as the box's uid: the box must give the policy's answer, and a probe
// the bare host answers the same way (a host that refuses user namespaces
// to everyone, say) proves nothing there, which the test says.
func TestIsolateSeccomp(t *testing.T) {
	e := newIsoEnv(t)
	boxDir := e.init(t, 15)
	copyProg(t, boxDir, "syscalls")
	res, m := e.run(t, 15, []string{"-p"}, "./syscalls")
	if m["status"] != "" {
		t.Fatalf("probes did not finish: %v %s", m, res.Stderr)
	}
	got := probeAnswers(res.Stdout)
	bare := probeAnswers(runProbesBare(t, isoFirstUID+15))
	var same []string
	for _, tc := range []struct{ probe, want string }{
		{"clone-user", "EPERM"},
		{"clone-pid", "EPERM"},
		{"unshare-user", "EPERM"},
		{"clone3", "ENOSYS"}, // libcs fall back to clone
		{"fork", "ok"},
		// Without the policy /dev/null answers ENOTTY.
		{"tiocsti", "EPERM"},
		{"tiocsti-high", "EPERM"},
		{"setlk", "EPERM"},
		{"setlk-high", "EPERM"},
		{"flock", "ENOSYS"},
		{"keyctl", "ENOSYS"},
		{"personality-query", "ok"},
		{"personality-norandom", "EPERM"},
	} {
		if got[tc.probe] != tc.want {
			t.Errorf("%s: %q, want %s (bare: %s)", tc.probe, got[tc.probe], tc.want, bare[tc.probe])
		}
		if bare[tc.probe] == tc.want && tc.want != "ok" {
			same = append(same, tc.probe+" "+tc.want)
		}
	}
	if len(same) > 0 {
		testutil.HostCase(t, "the bare host gives the policy's answer too, so these probes prove nothing here: %s", strings.Join(same, ", "))
	} else {
		testutil.HostCase(t, "every refusal differs from the bare host's answer")
	}
}

func probeAnswers(out string) map[string]string {
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if name, answer, ok := strings.Cut(l, " "); ok {
			got[name] = answer
		}
	}
	return got
}

// runProbesBare runs the syscalls probes on the host, outside any
// sandbox, as uid, with /dev/null as stdin as in the box.
func runProbesBare(t *testing.T, uid int) string {
	t.Helper()
	// Not under t.TempDir, whose parent only root may enter.
	dir, err := os.MkdirTemp("", "mini-isolate-probes-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	prog := filepath.Join(dir, "syscalls")
	copyProg(t, dir, "syscalls")
	if err := os.Chown(dir, uid, uid); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(prog)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the probes on the bare host: %v", err)
	}
	return string(out)
}

// TestIsolateStdioStateRestored: the program shares the caller's open file
// descriptions for stdin and stdout; what it changes on them must not
// outlive the run.
func TestIsolateStdioStateRestored(t *testing.T) {
	e := newIsoEnv(t)
	boxDir := e.init(t, 16)
	copyProg(t, boxDir, "setfl")
	var p [2]int
	// Raw pipes: os.Pipe would make Go's poller set O_NONBLOCK itself.
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	stdin, stdinW := os.NewFile(uintptr(p[0]), "stdin"), os.NewFile(uintptr(p[1]), "stdin-w")
	defer stdin.Close()
	defer stdinW.Close()
	stdout, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	state := func() string {
		var s []string
		for _, fd := range []int{p[0], int(stdout.Fd())} {
			fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
			own, _ := unix.FcntlInt(uintptr(fd), unix.F_GETOWN, 0)
			sig, _ := unix.FcntlInt(uintptr(fd), unix.F_GETSIG, 0)
			s = append(s, fmt.Sprintf("flags %#o owner %d sig %d", fl&(unix.O_NONBLOCK|unix.O_APPEND|unix.O_ASYNC), own, sig))
		}
		return strings.Join(s, ", ")
	}
	before := state()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := e.r.Command(ctx, "isolate", "-b", "16", "--run", "--", "./setfl")
	cmd.Stdin, cmd.Stdout = stdin, stdout
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("run: %v: %s", err, stderr.String())
	}
	if after := state(); after != before {
		t.Errorf("the caller's stdin and stdout changed: %s -> %s", before, after)
	}
}

// TestIsolateForbiddenSyscallNamed: a call the policy kills for is named in
// the report, from the kernel's audit record. x32 calls reach seccomp on
// every x86_64 kernel; 32-bit ones (int $0x80) only where the kernel has
// its 32-bit entry, and elsewhere fault bare and in the box alike.
func TestIsolateForbiddenSyscallNamed(t *testing.T) {
	e := newIsoEnv(t)
	boxDir := e.init(t, 17)
	for _, tc := range []struct{ prog, call string }{
		{"x32", "getpid (x32)"},
		{"sys32", "getpid (i386)"},
	} {
		t.Run(tc.prog, func(t *testing.T) {
			copyProg(t, boxDir, tc.prog)
			bare := testutil.RunBare(t, tc.prog)
			mark := testutil.MarkKmsg(t)
			res, m := e.run(t, 17, nil, "./"+tc.prog)
			if bare.Signal != 0 {
				// The kernel faults the call before seccomp sees it (no
				// 32-bit entry): the box must end as the bare host does.
				if m["status"] != "SG" || m["exitsig"] != strconv.Itoa(int(bare.Signal)) {
					t.Fatalf("meta %v, want SG with the signal of the bare run, %s (%s)", m, bare, res.Stderr)
				}
				testutil.HostCase(t, "the call is %s bare, before seccomp: the same in the box", bare)
				return
			}
			if m["status"] != "SG" || m["exitsig"] != "31" {
				t.Fatalf("meta %v, want SG with signal 31; bare it ended with %s (%s)", m, bare, res.Stderr)
			}
			want := "Caught fatal signal 31"
			// What the log held when the report was written, and so
			// what the supervisor could find.
			if testutil.SeccompLogged(t, mark, tc.prog, 0) {
				want += ": forbidden syscall " + tc.call
				testutil.HostCase(t, "the call ends with %s bare; the kernel logged the kill, and the report names it", bare)
			} else {
				testutil.HostCase(t, "the call ends with %s bare; no seccomp record in the kernel log (an audit daemon or the printk rate limit), so no name", bare)
			}
			if m["message"] != want {
				t.Errorf("message %q, want %q", m["message"], want)
			}
		})
	}
}

// TestIsolateMetaToDevice: -M /dev/stdout and /dev/null, as judges pass
// them, write into the stream and leave the host's /dev alone.
func TestIsolateMetaToDevice(t *testing.T) {
	e := newIsoEnv(t)
	e.init(t, 18)
	for _, tc := range []struct {
		path, stdout string
	}{
		{"/dev/stdout", "exitcode:3\n"},
		{"/dev/null", ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			before, err := os.Lstat(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			res := e.iso("-b", "18", "-s", "-M", tc.path, "--run", "--", "/bin/sh", "-c", "exit 3")
			if res.Code != 1 {
				t.Fatalf("exit %d: %s", res.Code, res.Stderr)
			}
			if !strings.Contains(res.Stdout, tc.stdout) || (tc.stdout == "" && res.Stdout != "") {
				t.Errorf("stdout %q, want the report there only for /dev/stdout", res.Stdout)
			}
			after, err := os.Lstat(tc.path)
			if err != nil || after.Mode() != before.Mode() || !os.SameFile(before, after) {
				t.Errorf("%s was replaced: %v -> %v (%v)", tc.path, before.Mode(), after.Mode(), err)
				restoreDev(t, tc.path)
			}
		})
	}
}

// restoreDev puts back a /dev entry a failed test replaced, so that one
// failure does not break every later test on the machine.
func restoreDev(t *testing.T, path string) {
	_ = os.Remove(path)
	var err error
	switch path {
	case "/dev/null":
		err = unix.Mknod(path, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3)))
		if err == nil {
			err = os.Chmod(path, 0o666)
		}
	case "/dev/stdout":
		err = os.Symlink("/proc/self/fd/1", path)
	}
	if err != nil {
		t.Errorf("restore %s: %v", path, err)
	}
}
