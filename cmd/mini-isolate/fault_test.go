package main_test

import (
	"fmt"
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

// Delays after which the fault tests SIGKILL a command: before, during and
// after the container's set-up.
var killDelays = []time.Duration{0, time.Millisecond, 3 * time.Millisecond, 8 * time.Millisecond,
	15 * time.Millisecond, 30 * time.Millisecond, 60 * time.Millisecond, 150 * time.Millisecond}

// killAfter starts cmd and SIGKILLs it after d (or lets it finish first).
func killAfter(t *testing.T, cmd *exec.Cmd, d time.Duration) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
	}
}

// startBlocked starts cmd and fails the test if it ends within d, while
// it should wait (for what is named by while); out is its output, for the
// message. It returns the channel cmd's end is sent on.
func startBlocked(t *testing.T, cmd *exec.Cmd, d time.Duration, while string, out fmt.Stringer) <-chan error {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("%s returned while %s (%v): %q", filepath.Base(cmd.Path), while, err, out.String())
	case <-time.After(d):
	}
	return done
}

// assertGone checks the host for anything left of container id: its
// state, cgroups, and processes whose command line holds token.
func assertGone(t *testing.T, r *testutil.Runner, id, token string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(r.Root, id)); !os.IsNotExist(err) {
		t.Errorf("%s: state directory left: %v", id, err)
	}
	if dirs := testutil.CgroupDirs(id); len(dirs) > 0 {
		t.Errorf("%s: cgroups left: %v", id, dirs)
	}
	testutil.Eventually(t, 30*time.Second, "the container's processes to be gone", func() bool {
		return len(processesMatching(token)) == 0
	})
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), token) {
		t.Errorf("%s: mounts left", id)
	}
}

// faultBundle is a judged bundle whose program's command line carries a
// token unique to the test, to find its processes.
func faultBundle(t *testing.T, ann map[string]string) (bundle, token string) {
	t.Helper()
	token = "fault" + strconv.FormatInt(time.Now().UnixNano(), 36)
	bundle, _ = testutil.JudgeBundle(t, []string{"/bin/sh", "-c", "exec /bin/spin " + token, token}, ann, nil)
	return bundle, token
}

func TestFaultKillCreate(t *testing.T) {
	r := testutil.NewRunner(t)
	for i, d := range killDelays {
		bundle, token := faultBundle(t, map[string]string{"time": "2"})
		id := r.ID("kc" + strconv.Itoa(i))
		cmd := r.Command(t.Context(), "create", "--bundle", bundle, id)
		killAfter(t, cmd, d)
		r.MustRun("delete", "--force", id)
		assertGone(t, r, id, token)
	}
}

// TestFaultKillCreateSpawningSupervisor: create dies after it has started
// the detached supervisor but before that supervisor is ready, so create
// never hears of it. delete must still wait for it, or the supervisor's
// report races the removal of the state directory. The supervisor is
// held stopped so that the order is certain.
func TestFaultKillCreateSpawningSupervisor(t *testing.T) {
	r := testutil.NewRunner(t)
	bundle, token := faultBundle(t, map[string]string{"time": "2"})
	var id string
	var sup int
	for try := 0; sup == 0; try++ {
		if try == 10 {
			t.Fatal("the supervisor was ready before it could be stopped, 10 times")
		}
		id = r.ID("kcsup" + strconv.Itoa(try))
		sup = stopSupervisorBeforeReady(t, r, bundle, id)
	}
	defer syscall.Kill(sup, syscall.SIGCONT)

	del := r.Command(t.Context(), "delete", "--force", id)
	var out strings.Builder
	del.Stdout, del.Stderr = &out, &out
	done := startBlocked(t, del, 500*time.Millisecond, "the supervisor was stopped", &out)
	_ = syscall.Kill(sup, syscall.SIGCONT)
	if err := <-done; err != nil {
		t.Fatalf("delete: %v: %s", err, out.String())
	}
	if left := processesMatching(" supervise ", id); len(left) > 0 {
		t.Errorf("supervisor left after delete: %v", left)
	}
	assertGone(t, r, id, token)
}

// TestFaultCreateFailsAfterSupervisor: a create that fails once its
// detached supervisor supervises (here, at the pid file) waits for that
// supervisor before it removes the container, and its report, naming the
// failure, is the last word in the meta file.
func TestFaultCreateFailsAfterSupervisor(t *testing.T) {
	r := testutil.NewRunner(t)
	metaPath := filepath.Join(t.TempDir(), "meta")
	bundle, token := faultBundle(t, map[string]string{"time": "2", "meta": metaPath})
	id := r.ID("kcpid")
	res := r.Run("create", "--bundle", bundle, "--pid-file", "/no/such/dir/pid", id)
	if res.Code == 0 || !strings.Contains(res.Stderr, "pid file: /no/such/dir") {
		t.Fatalf("create with an impossible pid file: exit %d: %s", res.Code, res.Stderr)
	}
	if left := processesMatching(" supervise ", id); len(left) > 0 {
		t.Errorf("supervisor left after create failed: %v", left)
	}
	assertGone(t, r, id, token)
	if m := testutil.ParseMeta(t, metaPath); m["status"] != "XX" || !strings.Contains(m["message"], "pid file: /no/such/dir") {
		t.Errorf("report %v, want XX naming the pid file", m)
	}
}

// TestFaultSupervisorOutstaysDelete: a detached supervisor that has not
// finished 5 s into delete (here, held stopped while it supervises) is
// killed before the container goes: once it has, the supervisor's late
// report and its kill of the run's cgroup would reach a new container of
// the same id, whose paths are the same.
func TestFaultSupervisorOutstaysDelete(t *testing.T) {
	r := testutil.NewRunner(t)
	bundle, token := faultBundle(t, map[string]string{"time": "2"})
	id := r.ID("outstay")
	r.MustRun("create", "--bundle", bundle, id)
	found := processesMatching(" supervise ", id)
	if len(found) != 1 {
		t.Fatalf("supervisors of %s: %v", id, found)
	}
	sup, _ := strconv.Atoi(strings.Split(found[0], ":")[0])
	if err := syscall.Kill(sup, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(sup, syscall.SIGCONT)
	res := r.Run("delete", "--force", id)
	if res.Code != 0 || !strings.Contains(res.Stderr, "killed it") {
		t.Errorf("delete with the supervisor stopped: exit %d: %s", res.Code, res.Stderr)
	}
	if left := processesMatching(" supervise ", id); len(left) > 0 {
		t.Errorf("supervisor left after delete: %v", left)
	}
	assertGone(t, r, id, token)
}

// stopSupervisorBeforeReady runs create, SIGSTOPs the supervisor it starts
// as soon as it has exec'd, and SIGKILLs create. It returns the stopped
// supervisor's pid if it had not yet closed its readiness pipe (fd 4),
// which create waits on; else it deletes the container and returns 0.
func stopSupervisorBeforeReady(t *testing.T, r *testutil.Runner, bundle, id string) int {
	t.Helper()
	create := r.Command(t.Context(), "create", "--bundle", bundle, id)
	if err := create.Start(); err != nil {
		t.Fatal(err)
	}
	sup := 0
	for deadline := time.Now().Add(30 * time.Second); sup == 0 && time.Now().Before(deadline); {
		for _, pid := range childrenOf(create.Process.Pid) {
			if cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.Contains(string(cmd), "\x00supervise\x00") {
				sup = pid
			}
		}
		time.Sleep(50 * time.Microsecond)
	}
	if sup == 0 {
		t.Fatal("no supervisor started within 30s")
	}
	_ = syscall.Kill(sup, syscall.SIGSTOP)
	_ = create.Process.Kill()
	_ = create.Wait()
	if link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/4", sup)); err == nil && strings.HasPrefix(link, "pipe:") {
		return sup
	}
	_ = syscall.Kill(sup, syscall.SIGCONT)
	r.MustRun("delete", "--force", id)
	return 0
}

// childrenOf lists a process's children, from /proc's children files
// (one per thread: each lists what that thread forked) where the kernel
// has them, else from every process's parent.
func childrenOf(pid int) []int {
	var pids []int
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, name := range files {
		data, _ := os.ReadFile(name)
		for _, f := range strings.Fields(string(data)) {
			n, _ := strconv.Atoi(f)
			pids = append(pids, n)
		}
	}
	if len(files) > 0 {
		return pids
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		// The parent is the second field after the command's closing ')'.
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 {
			if f := strings.Fields(string(stat[i+1:])); len(f) > 1 && f[1] == strconv.Itoa(pid) {
				pids = append(pids, n)
			}
		}
	}
	return pids
}

func TestFaultKillStart(t *testing.T) {
	r := testutil.NewRunner(t)
	for i, d := range killDelays {
		bundle, token := faultBundle(t, map[string]string{"time": "2"})
		id := r.ID("ks" + strconv.Itoa(i))
		createWithOutput(t, r, bundle, id)
		killAfter(t, r.Command(t.Context(), "start", id), d)
		r.MustRun("delete", "--force", id)
		assertGone(t, r, id, token)
		if left := processesMatching("supervise", id); len(left) > 0 {
			t.Errorf("supervisor left: %v", left)
		}
	}
}

func TestFaultKillRun(t *testing.T) {
	r := testutil.NewRunner(t)
	for i, d := range killDelays {
		bundle, token := faultBundle(t, map[string]string{"time": "2"})
		id := r.ID("kr" + strconv.Itoa(i))
		killAfter(t, r.Command(t.Context(), "run", "--bundle", bundle, id), d)
		r.MustRun("delete", "--force", id)
		assertGone(t, r, id, token)
	}
}

// startSpinner starts a judged spinner under a 30 s limit, with a meta
// file, and waits until it spins.
func startSpinner(t *testing.T, r *testutil.Runner, name string) (id, token, metaPath string) {
	t.Helper()
	metaPath = filepath.Join(t.TempDir(), "meta")
	bundle, token := faultBundle(t, map[string]string{"time": "30", "meta": metaPath})
	id = r.ID(name)
	createWithOutput(t, r, bundle, id)
	r.MustRun("start", id)
	testutil.Eventually(t, 30*time.Second, "the program", func() bool { return len(processesMatching("spin", token)) > 0 })
	return id, token, metaPath
}

func TestFaultKillSupervisor(t *testing.T) {
	r := testutil.NewRunner(t)
	id, token, _ := startSpinner(t, r, "ksup")
	sups := processesMatching("supervise", id)
	if len(sups) != 1 {
		t.Fatalf("supervisors: %v", sups)
	}
	pid, _ := strconv.Atoi(strings.SplitN(sups[0], ":", 2)[0])
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// No supervisor, no limits: the init must end the run at once.
	testutil.Eventually(t, 30*time.Second, "the program to die with its supervisor", func() bool {
		return len(processesMatching("spin", token)) == 0
	})
	r.WaitStatus(id, specs.StateStopped, 30*time.Second)
	r.MustRun("delete", "--force", id)
	assertGone(t, r, id, token)
}

func TestFaultKillInit(t *testing.T) {
	r := testutil.NewRunner(t)
	id, token, metaPath := startSpinner(t, r, "kinit")
	if err := syscall.Kill(r.State(id).Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r.WaitStatus(id, specs.StateStopped, 30*time.Second)
	testutil.Eventually(t, 30*time.Second, "the report", func() bool { _, err := os.Stat(metaPath); return err == nil })
	if m := testutil.ParseMeta(t, metaPath); m["status"] != "XX" || !strings.Contains(m["message"], "judge init died") {
		t.Errorf("report after the init was killed: %v", m)
	}
	r.MustRun("delete", id)
	assertGone(t, r, id, token)
}

func TestFaultIsolateRunKilled(t *testing.T) {
	e := newIsoEnv(t)
	boxDir := e.init(t, 30)
	copyProg(t, boxDir, "spin")
	copyProg(t, boxDir, "burn")
	for _, d := range []time.Duration{5 * time.Millisecond, 50 * time.Millisecond, 200 * time.Millisecond} {
		killAfter(t, e.r.Command(t.Context(), "isolate", "-b", "30", "-t", "10", "--run", "--", "./spin"), d)
		// The program ends with its supervisor; the lock goes with it.
		testutil.Eventually(t, 30*time.Second, "the spinner to die", func() bool {
			return len(processesMatching("./spin")) == 0
		})
		// The next run starts from fresh counters.
		res, m := e.run(t, 30, []string{"--extended-meta"}, "./burn", "50")
		if res.Code != 0 {
			t.Fatalf("run after a killed run: %s", res.Stderr)
		}
		within(t, "time after a killed run", seconds(t, m, "time"), 50*time.Millisecond, 50*time.Millisecond+timeSlack)
	}
}

func TestFaultIsolateInitKilled(t *testing.T) {
	e := newIsoEnv(t)
	for _, d := range killDelays {
		killAfter(t, e.r.Command(t.Context(), "isolate", "-b", "31", "--init"), d)
		e.init(t, 31)
		if res, _ := e.run(t, 31, nil, "/bin/true"); res.Code != 0 {
			t.Fatalf("run after a killed --init (%v): %s", d, res.Stderr)
		}
	}
	if res := e.iso("-b", "31", "--cleanup"); res.Code != 0 {
		t.Fatal(res.Stderr)
	}
	assertGone(t, e.r, "box-31", filepath.Join(e.boxRoot, "31"))
	if _, err := os.Stat(filepath.Join(e.boxRoot, "31")); !os.IsNotExist(err) {
		t.Errorf("box directory left: %v", err)
	}
}

func TestFaultSameIDAtOnce(t *testing.T) {
	r := testutil.NewRunner(t)
	bundle, token := faultBundle(t, map[string]string{"time": "2"})
	id := r.ID("twice")
	var cmds []*exec.Cmd
	for i := 0; i < 4; i++ {
		cmd := r.Command(t.Context(), "create", "--bundle", bundle, id)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	ok := 0
	for _, c := range cmds {
		if c.Wait() == nil {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("%d of 4 concurrent creates of one id succeeded, want exactly 1", ok)
	}
	r.MustRun("delete", "--force", id)
	assertGone(t, r, id, token)
}

func TestFaultDiskFull(t *testing.T) {
	r := testutil.NewRunner(t)
	full := t.TempDir()
	if err := syscall.Mount("tmpfs", full, "tmpfs", 0, "size=256k"); err != nil {
		t.Fatalf("mount a small tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(full, syscall.MNT_DETACH) })
	fill := func() {
		f, err := os.Create(filepath.Join(full, "filler"))
		if err != nil {
			return
		}
		buf := make([]byte, 4096)
		for {
			if _, err := f.Write(buf); err != nil {
				break
			}
		}
		f.Close()
	}
	fill()

	// State on a full disk: create fails with one line and leaves nothing.
	rFull := *r
	rFull.Root = filepath.Join(full, "state")
	bundle, token := faultBundle(t, map[string]string{"time": "2"})
	id := r.ID("full")
	res := rFull.Run("create", "--bundle", bundle, id)
	if res.Code == 0 {
		t.Fatal("create succeeded with its state on a full disk")
	}
	if strings.Count(strings.TrimSpace(res.Stderr), "\n") > 0 || !strings.Contains(res.Stderr, "no space") {
		t.Errorf("error %q, want one line about space", res.Stderr)
	}
	rFull.Run("delete", "--force", id)
	assertGone(t, &rFull, id, token)

	// The report on a full disk: the run still ends, says why on stderr
	// and leaves nothing behind.
	metaPath := filepath.Join(full, "meta")
	bundle, token = faultBundle(t, map[string]string{"time": "0.2", "meta": metaPath})
	id = r.ID("fullmeta")
	res = r.Run("run", "--bundle", bundle, id)
	if res.Code != 137 || !strings.Contains(res.Stderr, "no space") {
		t.Errorf("run with its report on a full disk: exit %d stderr %q", res.Code, res.Stderr)
	}
	assertGone(t, r, id, token)

	// isolate boxes on a full disk: --init fails cleanly, and works once
	// there is room again.
	e := newIsoEnv(t)
	conf := readFile(t, e.conf)
	conf = strings.Replace(conf, "box_root = "+e.boxRoot, "box_root = "+filepath.Join(full, "boxes"), 1)
	if err := os.WriteFile(e.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := e.iso("-b", "40", "--init"); res.Code != 2 {
		t.Errorf("--init on a full disk: exit %d %q", res.Code, res.Stderr)
	}
	if err := os.Remove(filepath.Join(full, "filler")); err != nil {
		t.Fatal(err)
	}
	e.boxRoot = filepath.Join(full, "boxes")
	e.init(t, 40)
	if res, _ := e.run(t, 40, nil, "/bin/true"); res.Code != 0 {
		t.Errorf("run after the disk was freed: %s", res.Stderr)
	}
}
