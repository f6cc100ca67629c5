package main_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mini-isolate/mini-isolate/internal/testutil"
)

// Tolerances for times the tests assert: loose, and scaled to how slowly
// this host runs processes (testutil.Slack), since the tests run on busy
// CI machines and under emulation. The precision targets live in
// hack/bench.
var (
	killSlack = testutil.Slack(60 * time.Millisecond)
	timeSlack = testutil.Slack(30 * time.Millisecond)
)

const judgeLimit = 500 * time.Millisecond

// oomOvershoot is how far past its memory limit a cgroup's peak may go:
// the kernel charges a dying task, the OOM killer's victim among them,
// past the limit rather than fail its allocation (seen: one page, in the
// sampled peak of a 5.10 guest).
const oomOvershoot = 64 << 10

// judgeRun runs a judged program in the foreground with --meta and returns
// the parsed report, the exit status and the captured stdout.
func judgeRun(t *testing.T, r *testutil.Runner, args []string, ann map[string]string, edit func(*specs.Spec)) (map[string]string, int, string) {
	t.Helper()
	bundle, _ := testutil.JudgeBundle(t, args, ann, edit)
	metaPath := filepath.Join(t.TempDir(), "meta")
	id := r.ID("judge")
	res := r.Run("run", "--bundle", bundle, "--meta", metaPath, id)
	m := testutil.ParseMeta(t, metaPath)
	assertNothingLeft(t, r, id, bundle)
	return m, res.Code, res.Stdout
}

// assertNothingLeft checks the host side after a run: no state, no
// cgroups, no mounts of the bundle, no process in the sandbox.
func assertNothingLeft(t *testing.T, r *testutil.Runner, id, bundle string) {
	t.Helper()
	if res := r.Run("state", id); res.Code == 0 {
		t.Errorf("container %s still exists", id)
	}
	if dirs := testutil.CgroupDirs(id); len(dirs) > 0 {
		t.Errorf("cgroups left: %v", dirs)
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), bundle) {
		t.Errorf("mounts of %s left in the host namespace", bundle)
	}
}

func seconds(t *testing.T, m map[string]string, key string) time.Duration {
	t.Helper()
	us, err := strconv.ParseInt(m[key+"-us"], 10, 64)
	if err != nil {
		t.Fatalf("meta %s-us = %q", key, m[key+"-us"])
	}
	sec, err := strconv.ParseFloat(m[key], 64)
	if err != nil {
		t.Fatalf("meta %s = %q", key, m[key])
	}
	// The isolate-style key is the microsecond one, truncated to ms.
	if got, want := time.Duration(sec*1000)*time.Millisecond, time.Duration(us/1000)*time.Millisecond; got != want {
		t.Errorf("meta %s=%s disagrees with %s-us=%d", key, m[key], key, us)
	}
	return time.Duration(us) * time.Microsecond
}

func within(t *testing.T, what string, got, lo, hi time.Duration) {
	t.Helper()
	if got < lo || got > hi {
		t.Errorf("%s = %v, want within [%v, %v]", what, got, lo, hi)
	}
}

func TestJudgeCPUTime(t *testing.T) {
	r := testutil.NewRunner(t)
	for _, tc := range []struct {
		name     string
		args     []string
		ann      map[string]string
		status   string
		killed   bool
		cpuLo    time.Duration
		cpuHi    time.Duration
		pidsPeak int
	}{
		{"single-threaded spinner", []string{"/bin/spin"}, map[string]string{"time": "0.5"}, "TO", true, judgeLimit, judgeLimit + killSlack, 1},
		{"two threads", []string{"/bin/spin_threads", "2"}, map[string]string{"time": "0.5"}, "TO", true, judgeLimit, judgeLimit + 2*killSlack, 2},
		{"forked spinner", []string{"/bin/spin_fork"}, map[string]string{"time": "0.5"}, "TO", true, judgeLimit, judgeLimit + 2*killSlack, 2},
		{"under the limit", []string{"/bin/burn", "300"}, map[string]string{"time": "1"}, "", false, 300 * time.Millisecond, 300*time.Millisecond + timeSlack, 1},
		// Over the limit but within the grace: a timeout, not a kill.
		{"within extra time", []string{"/bin/burn", "650"}, map[string]string{"time": "0.5", "extra-time": "0.5"}, "TO", false, 650 * time.Millisecond, 650*time.Millisecond + timeSlack, 1},
		{"past extra time", []string{"/bin/spin"}, map[string]string{"time": "0.3", "extra-time": "0.2"}, "TO", true, judgeLimit, judgeLimit + killSlack, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := r.For(t)
			m, code, _ := judgeRun(t, r, tc.args, tc.ann, nil)
			if m["status"] != tc.status {
				t.Errorf("status %q, want %q (%v)", m["status"], tc.status, m)
			}
			if (m["killed"] == "1") != tc.killed {
				t.Errorf("killed=%q, want %v", m["killed"], tc.killed)
			}
			if tc.killed && (m["exitsig"] != "9" || code != 137 || m["limit"] != "time") {
				t.Errorf("killed run: exitsig %q limit %q exit status %d", m["exitsig"], m["limit"], code)
			}
			if tc.status == "TO" && m["message"] != "Time limit exceeded" {
				t.Errorf("message %q", m["message"])
			}
			within(t, "time", seconds(t, m, "time"), tc.cpuLo, tc.cpuHi)
			if peak, _ := strconv.Atoi(m["pids-peak"]); peak != tc.pidsPeak {
				t.Errorf("pids-peak %d, want %d", peak, tc.pidsPeak)
			}
			user, _ := strconv.ParseFloat(m["time-user"], 64)
			sys, _ := strconv.ParseFloat(m["time-system"], 64)
			cpu := seconds(t, m, "time")
			if split := time.Duration((user + sys) * float64(time.Second)); split < cpu-2*time.Millisecond || split > cpu+2*time.Millisecond {
				t.Errorf("time-user %v + time-system %v != time %v", user, sys, cpu)
			}
		})
	}
}

func TestJudgeWallTime(t *testing.T) {
	r := testutil.NewRunner(t)
	m, code, _ := judgeRun(t, r, []string{"/bin/sleeper"}, map[string]string{"wall-time": "0.5"}, nil)
	if m["status"] != "TO" || m["killed"] != "1" || m["limit"] != "wall-time" || code != 137 {
		t.Errorf("sleeper past its wall time: %v, exit %d", m, code)
	}
	if m["message"] != "Time limit exceeded (wall clock)" {
		t.Errorf("message %q", m["message"])
	}
	within(t, "time-wall", seconds(t, m, "time-wall"), judgeLimit, judgeLimit+killSlack)
	// A sleeper's CPU time is its start-up: a few ms, more on a busy host;
	// one that spun until the kill would show about 500 ms.
	within(t, "time", seconds(t, m, "time"), 0, timeSlack)

	m, code, _ = judgeRun(t, r, []string{"/bin/sleeper", "200"}, map[string]string{"wall-time": "2"}, nil)
	if _, bad := m["status"]; bad || code != 0 {
		t.Errorf("sleeper within its wall time: %v, exit %d", m, code)
	}
	within(t, "time-wall", seconds(t, m, "time-wall"), 200*time.Millisecond, 200*time.Millisecond+timeSlack)
}

func TestJudgeMemory(t *testing.T) {
	r := testutil.NewRunner(t)
	limit := int64(64 << 20)
	withLimit := func(s *specs.Spec) { s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit} }

	m, code, _ := judgeRun(t, r, []string{"/bin/memhog", "200"}, map[string]string{"time": "5"}, withLimit)
	if m["status"] != "ML" || m["cg-oom-killed"] != "1" || m["limit"] != "memory" || code != 137 {
		t.Errorf("memory hog: %v, exit %d", m, code)
	}
	peak, _ := strconv.ParseInt(m["mem-peak"], 10, 64)
	if peak < limit-(1<<20) || peak > limit+oomOvershoot {
		t.Errorf("mem-peak %d, want about the limit %d", peak, limit)
	}
	if cg, _ := strconv.ParseInt(m["cg-mem"], 10, 64); cg != peak/1024 {
		t.Errorf("cg-mem %d KiB, mem-peak %d bytes", cg, peak)
	}

	m, code, _ = judgeRun(t, r, []string{"/bin/memhog", "20"}, map[string]string{"time": "5"}, withLimit)
	if _, bad := m["status"]; bad || code != 0 || m["cg-oom-killed"] != "" {
		t.Errorf("20 MiB under a 64 MiB limit: %v, exit %d", m, code)
	}
	peak, _ = strconv.ParseInt(m["mem-peak"], 10, 64)
	rss, _ := strconv.ParseInt(m["max-rss"], 10, 64)
	if peak < 20<<20 || peak > 30<<20 || rss < 20<<10 {
		t.Errorf("mem-peak %d bytes, max-rss %d KiB: want about 20 MiB", peak, rss)
	}
}

func TestJudgeForkBomb(t *testing.T) {
	r := testutil.NewRunner(t)
	pids := int64(50)
	// Long enough for the bomb to reach the limit where processes start
	// slowly: under software emulation it reached 44 of 50 in 1 s.
	wall := strconv.FormatFloat(testutil.Slack(time.Second).Seconds(), 'f', 1, 64)
	m, _, _ := judgeRun(t, r, []string{"/bin/forkbomb"}, map[string]string{"wall-time": wall}, func(s *specs.Spec) {
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: &pids}
	})
	if m["status"] != "TO" || m["limit"] != "wall-time" {
		t.Errorf("fork bomb: %v", m)
	}
	if peak, _ := strconv.ParseInt(m["pids-peak"], 10, 64); peak != pids {
		t.Errorf("pids-peak %d, want the limit %d", peak, pids)
	}
}

func TestJudgeOutputLimit(t *testing.T) {
	r := testutil.NewRunner(t)
	m, code, stdout := judgeRun(t, r, []string{"/bin/flood"}, map[string]string{"output-limit": "1m", "time": "5"}, nil)
	if m["status"] != "OL" || m["limit"] != "output" || m["killed"] != "1" || code != 137 {
		t.Errorf("output flood: %v, exit %d", m, code)
	}
	if len(stdout) != 1<<20 {
		t.Errorf("forwarded %d bytes, want exactly the 1 MiB limit", len(stdout))
	}
	if n, _ := strconv.ParseInt(m["output-bytes"], 10, 64); n < 1<<20 {
		t.Errorf("output-bytes %d", n)
	}
}

func TestJudgeEndings(t *testing.T) {
	r := testutil.NewRunner(t)
	fsize := specs.POSIXRlimit{Type: "RLIMIT_FSIZE", Hard: 100000, Soft: 100000}
	for _, tc := range []struct {
		name, status, message string
		args                  []string
		exitcode, exitsig     string
		edit                  func(*specs.Spec)
	}{
		{"exit code", "RE", "Exited with error status 3", []string{"/bin/crash", "exit:3"}, "3", "", nil},
		{"success", "", "", []string{"/bin/crash", "exit:0"}, "0", "", nil},
		{"segfault", "SG", "Caught fatal signal 11", []string{"/bin/crash", "segv"}, "", "11", nil},
		{"abort", "SG", "Caught fatal signal 6", []string{"/bin/crash", "abort"}, "", "6", nil},
		{"stack overflow", "SG", "Caught fatal signal 11", []string{"/bin/crash", "stack"}, "", "11", nil},
		{"file size limit", "SG", "Caught fatal signal 25", []string{"/bin/crash", "fsize", "/out/big"}, "", "25",
			func(s *specs.Spec) { s.Process.Rlimits = append(s.Process.Rlimits, fsize) }},
		{"missing program", "XX", `execve("/bin/nope"): no such file or directory`, []string{"/bin/nope"}, "127", "", nil},
		// As a seccomp kill, but the kernel logged nothing: the report
		// must not wait on the kernel log for a record that never comes.
		{"SIGSYS raised", "SG", "Caught fatal signal 31", []string{"/bin/crash", "sigsys"}, "", "31", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := r.For(t)
			began := time.Now()
			m, _, _ := judgeRun(t, r, tc.args, map[string]string{"time": "5"}, tc.edit)
			if took := time.Since(began); took > testutil.Slack(10*time.Second) {
				t.Errorf("the run took %v", took)
			}
			if m["status"] != tc.status || m["message"] != tc.message || m["exitcode"] != tc.exitcode || m["exitsig"] != tc.exitsig {
				t.Errorf("report %v, want status %q message %q exitcode %q exitsig %q", m, tc.status, tc.message, tc.exitcode, tc.exitsig)
			}
			if m["killed"] != "" {
				t.Errorf("killed=%s for a program that ended by itself", m["killed"])
			}
		})
	}
}

func TestJudgeAbortIsNotPID1(t *testing.T) {
	// abort() raises SIGABRT at itself: as PID 1 the signal would be
	// ignored and the program would go on. It must die as on any host.
	r := testutil.NewRunner(t)
	m, code, out := judgeRun(t, r, []string{"/bin/sh", "-c", "echo pid=$$ ppid=$PPID; exec /bin/crash abort"}, map[string]string{"time": "5"}, nil)
	if m["exitsig"] != "6" || code != 128+6 {
		t.Errorf("abort: %v, exit %d", m, code)
	}
	if strings.Contains(out, "pid=1 ") || !strings.Contains(out, "ppid=1") {
		t.Errorf("the program should be a child of PID 1, not PID 1: %q", out)
	}
}

func TestJudgeDaemonDoesNotOutlive(t *testing.T) {
	r := testutil.NewRunner(t)
	bundle, out := testutil.JudgeBundle(t, []string{"/bin/daemon", "/out/alive"}, map[string]string{"time": "5"}, nil)
	metaPath := filepath.Join(t.TempDir(), "meta")
	id := r.ID("daemon")
	r.MustRun("run", "--bundle", bundle, "--meta", metaPath, id)
	if m := testutil.ParseMeta(t, metaPath); m["exitcode"] != "0" || m["status"] != "" {
		t.Errorf("report %v", m)
	}
	time.Sleep(500 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(out, "alive")); err == nil {
		t.Error("the daemonized grandchild outlived the run")
	}
	assertNothingLeft(t, r, id, bundle)
}

func TestJudgeProgramCannotKillSupervision(t *testing.T) {
	r := testutil.NewRunner(t)
	m, code, out := judgeRun(t, r, []string{"/bin/killparent"}, map[string]string{"time": "5"}, nil)
	if !strings.Contains(out, "still alive") || code != 0 || m["exitcode"] != "0" {
		t.Errorf("killparent: report %v, exit %d, output %q", m, code, out)
	}
}

// TestJudgeDetachedStartLater: the wall clock of a created container
// starts when it is started, not at create, however long the orchestrator
// waits in between.
func TestJudgeDetachedStartLater(t *testing.T) {
	r := testutil.NewRunner(t)
	id, _, metaPath := createDetached(t, r, "later", "/bin/true", map[string]string{"wall-time": "0.5"})
	time.Sleep(1200 * time.Millisecond) // over twice the wall limit
	r.MustRun("start", id)
	r.WaitStatus(id, specs.StateStopped, 10*time.Second)
	var rep struct {
		Status string `json:"status"`
		Killed bool   `json:"killed"`
	}
	readReport(t, metaPath, &rep)
	if rep.Status != "OK" || rep.Killed {
		t.Errorf("a run started 1.2 s after create, under a 0.5 s wall limit: report %+v, want OK", rep)
	}
	r.MustRun("delete", id)
}

// createDetached creates a judged container running prog under limits,
// from bundle, with a JSON report at metaPath.
func createDetached(t *testing.T, r *testutil.Runner, name, prog string, limits map[string]string) (id, bundle, metaPath string) {
	t.Helper()
	metaPath = filepath.Join(t.TempDir(), "meta.json")
	ann := map[string]string{"meta": metaPath, "meta-format": "json"}
	for k, v := range limits {
		ann[k] = v
	}
	bundle, _ = testutil.JudgeBundle(t, []string{prog}, ann, nil)
	id = r.ID(name)
	createWithOutput(t, r, bundle, id)
	return id, bundle, metaPath
}

// readReport waits for the detached supervisor's JSON report and decodes it.
func readReport(t *testing.T, metaPath string, rep any) {
	t.Helper()
	testutil.Eventually(t, 30*time.Second, "the report", func() bool {
		_, err := os.Stat(metaPath)
		return err == nil
	})
	if err := json.Unmarshal([]byte(readFile(t, metaPath)), rep); err != nil {
		t.Fatalf("meta is not JSON: %v", err)
	}
}

func TestJudgeDetached(t *testing.T) {
	// create and start return at once; only the detached supervisor is
	// left to enforce the limit and write the report.
	r := testutil.NewRunner(t)
	id, bundle, metaPath := createDetached(t, r, "detached", "/bin/spin", map[string]string{"time": "0.5"})
	began := time.Now()
	r.MustRun("start", id)
	if time.Since(began) > testutil.Slack(300*time.Millisecond) {
		t.Fatalf("start took %v: it should not wait for the program", time.Since(began))
	}
	// The program spins until its 0.5 s CPU limit: stopped is only wrong
	// before that much time has passed (a state call can be slow).
	if s := r.State(id); s.Status != specs.StateRunning && (s.Status != specs.StateStopped || time.Since(began) < 500*time.Millisecond) {
		t.Fatalf("status %q %v after start", s.Status, time.Since(began))
	}
	r.WaitStatus(id, specs.StateStopped, 10*time.Second)

	var rep struct {
		Status string  `json:"status"`
		Killed bool    `json:"killed"`
		Limit  string  `json:"limit"`
		Time   float64 `json:"time"`
		TimeUs int64   `json:"time-us"`
	}
	readReport(t, metaPath, &rep)
	if rep.Status != "TO" || !rep.Killed || rep.Limit != "time" {
		t.Errorf("report %+v", rep)
	}
	within(t, "time", time.Duration(rep.TimeUs)*time.Microsecond, judgeLimit, judgeLimit+killSlack)

	// state carries the same report once the container has stopped.
	res := r.MustRun("state", id)
	var st struct {
		Judge *struct {
			Status string `json:"status"`
			TimeUs int64  `json:"time-us"`
		} `json:"judge"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &st); err != nil || st.Judge == nil {
		t.Fatalf("state has no judge result: %v\n%s", err, res.Stdout)
	}
	if st.Judge.Status != "TO" || st.Judge.TimeUs != rep.TimeUs {
		t.Errorf("state judge %+v, meta %+v", st.Judge, rep)
	}
	r.MustRun("delete", id)
	assertNothingLeft(t, r, id, bundle)
	if left := processesMatching("supervise", id); len(left) > 0 {
		t.Errorf("supervisor still running: %v", left)
	}
}

func TestJudgeBadSettings(t *testing.T) {
	r := testutil.NewRunner(t)
	noProc := func(s *specs.Spec) {
		var mounts []specs.Mount
		for _, m := range s.Mounts {
			if m.Destination != "/proc" {
				mounts = append(mounts, m)
			}
		}
		s.Mounts = mounts
	}
	sharedPID := func(s *specs.Spec) {
		var ns []specs.LinuxNamespace
		for _, n := range s.Linux.Namespaces {
			if n.Type != specs.PIDNamespace {
				ns = append(ns, n)
			}
		}
		s.Linux.Namespaces = ns
	}
	for _, tc := range []struct {
		name string
		ann  map[string]string
		edit func(*specs.Spec)
		want string
	}{
		{"time not a number", map[string]string{"time": "fast"}, nil, "io.github.mini-isolate.time"},
		{"negative time", map[string]string{"time": "-1"}, nil, "io.github.mini-isolate.time"},
		{"zero wall time", map[string]string{"wall-time": "0"}, nil, "io.github.mini-isolate.wall-time"},
		{"absurd time", map[string]string{"time": "1e9"}, nil, "io.github.mini-isolate.time"},
		{"bad output limit", map[string]string{"output-limit": "lots"}, nil, "io.github.mini-isolate.output-limit"},
		{"relative meta", map[string]string{"meta": "meta.txt"}, nil, "io.github.mini-isolate.meta"},
		{"bad meta format", map[string]string{"meta-format": "xml"}, nil, "io.github.mini-isolate.meta-format"},
		{"judge off with limits", map[string]string{"judge": "false", "time": "1"}, nil, "io.github.mini-isolate.judge"},
		{"no /proc", map[string]string{"time": "1"}, noProc, "/proc"},
		{"shared pid namespace", map[string]string{"time": "1"}, sharedPID, "pid namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := r.For(t)
			bundle, _ := testutil.JudgeBundle(t, []string{"/bin/spin"}, tc.ann, tc.edit)
			id := r.ID("badjudge")
			res := r.Run("create", "--bundle", bundle, id)
			msg := strings.TrimSpace(res.Stderr)
			if res.Code == 0 || !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("exit %d, stderr %q; want one line naming %q", res.Code, msg, tc.want)
			}
			if entries, _ := os.ReadDir(r.Root); len(entries) > 0 {
				t.Errorf("state left behind: %v", entries)
			}
		})
	}
}

func TestJudgeFailureReport(t *testing.T) {
	// A judged container that cannot even be created still gets an XX report.
	r := testutil.NewRunner(t)
	metaPath := filepath.Join(t.TempDir(), "meta")
	bundle, _ := testutil.JudgeBundle(t, []string{"/bin/spin"}, map[string]string{"time": "1", "meta": metaPath}, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: "/no/such/source", Options: []string{"bind"}})
	})
	res := r.Run("create", "--bundle", bundle, r.ID("xx"))
	if res.Code == 0 {
		t.Fatal("create succeeded with a missing bind source")
	}
	m := testutil.ParseMeta(t, metaPath)
	if m["status"] != "XX" || !strings.Contains(m["message"], "no such file or directory") {
		t.Errorf("report %v", m)
	}
}

// processesMatching lists host processes whose command line contains all
// of the words.
func processesMatching(words ...string) []string {
	var found []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cmd := strings.ReplaceAll(string(data), "\x00", " ")
		all := true
		for _, w := range words {
			all = all && strings.Contains(cmd, w)
		}
		if all {
			found = append(found, e.Name()+": "+cmd)
		}
	}
	return found
}

// TestJudgeTerminate: SIGTERM or SIGINT to a command waiting on a run, a
// judged run's or isolate's, ends it at once with an XX report, and leaves
// nothing behind. The judge init would ignore the signal itself.
func TestJudgeTerminate(t *testing.T) {
	r := testutil.NewRunner(t)
	e := newIsoEnv(t)
	copyProg(t, e.init(t, 40), "sleeper")
	judged := func(ms string) func(string) *exec.Cmd {
		return func(metaPath string) *exec.Cmd {
			bundle, _ := testutil.JudgeBundle(t, []string{"/bin/sleeper", ms}, map[string]string{"wall-time": "120"}, nil)
			return r.Command(t.Context(), "run", "--bundle", bundle, "--meta", metaPath, r.ID("term"))
		}
	}
	for _, tc := range []struct {
		name, ms string // ms tells the test's sleeper from any other
		sig      syscall.Signal
		cmd      func(metaPath string) *exec.Cmd
	}{
		{"run SIGTERM", "60001", syscall.SIGTERM, judged("60001")},
		{"run SIGINT", "60002", syscall.SIGINT, judged("60002")},
		{"isolate SIGTERM", "60003", syscall.SIGTERM, func(metaPath string) *exec.Cmd {
			return e.r.Command(t.Context(), "isolate", "-b", "40", "-M", metaPath, "-w", "120", "--run", "--", "./sleeper", "60003")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			metaPath := filepath.Join(t.TempDir(), "meta")
			cmd := tc.cmd(metaPath)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			testutil.Eventually(t, testutil.Slack(10*time.Second), "the program to run", func() bool {
				return sleeperRunning(tc.ms)
			})
			sent := time.Now()
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			// A command that waited for the program would take its 60 s;
			// the bound leaves room for teardown on a loaded machine.
			if took := time.Since(sent); took > testutil.Slack(time.Second) {
				t.Errorf("the command ended %v after the signal", took)
			}
			if m := testutil.ParseMeta(t, metaPath); m["status"] != "XX" {
				t.Errorf("report %v, want XX", m)
			}
			if sleeperRunning(tc.ms) {
				t.Error("the program outlived the command")
			}
		})
	}
}

// sleeperRunning tells whether a sleeper with argument ms runs: a process
// whose own command line is that, not one that names it.
func sleeperRunning(ms string) bool {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.HasSuffix(strings.SplitN(string(data), "\x00", 2)[0], "sleeper") && strings.Contains(string(data), "\x00"+ms+"\x00") {
			return true
		}
	}
	return false
}
