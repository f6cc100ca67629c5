package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/internal/testutil"
	"github.com/mini-isolate/mini-isolate/runtime/proc"
)

// recvPty accepts one connection on the console socket and returns the pty
// master that arrives on it, checking the handshake containerd relies on:
// one message, a non-empty payload, exactly one fd.
func recvPty(t *testing.T, ln *net.UnixListener) *os.File {
	t.Helper()
	_ = ln.SetDeadline(time.Now().Add(10 * time.Second))
	conn, err := ln.AcceptUnix()
	if err != nil {
		t.Fatalf("accept on console socket: %v", err)
	}
	defer conn.Close()
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatalf("read console socket: %v", err)
	}
	if n == 0 {
		t.Error("console socket message has an empty payload")
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Fatalf("console socket: %d control messages (%v), want 1", len(msgs), err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		t.Fatalf("console socket: %d fds (%v), want 1", len(fds), err)
	}
	return os.NewFile(uintptr(fds[0]), string(buf[:n]))
}

func TestConsoleSocket(t *testing.T) {
	r := testutil.NewRunner(t)
	idTty1 := r.ID("tty1")
	idTty2 := r.ID("tty2")
	bundle := testutil.Bundle(t, []string{"sh", "-c", "test -t 0 && test -t 1 && echo tty-ok; tty; read line; echo got:$line"}, func(s *specs.Spec) {
		s.Process.Terminal = true
	})
	sock := filepath.Join(t.TempDir(), "console.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan *os.File, 1)
	go func() { got <- recvPty(t, ln) }()

	r.MustRun("create", "--bundle", bundle, "--console-socket", sock, idTty1)
	master := <-got
	defer master.Close()
	if _, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN); err != nil {
		t.Fatalf("received fd is not a pty master: %v", err)
	}
	r.MustRun("start", idTty1)
	if _, err := master.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	buf := make([]byte, 1024)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "got:hello") && time.Now().Before(deadline) {
		_ = master.SetReadDeadline(time.Now().Add(time.Second))
		n, _ := master.Read(buf)
		out.Write(buf[:n])
	}
	if !strings.Contains(out.String(), "tty-ok") {
		t.Errorf("stdin/stdout are not a terminal in the container: %q", out.String())
	}
	if !regexp.MustCompile(`/dev/(pts/\d+|console)`).MatchString(out.String()) {
		t.Errorf("tty(1) printed no terminal name: %q", out.String())
	}
	if !strings.Contains(out.String(), "got:hello") {
		t.Errorf("input through the pty did not reach the process: %q", out.String())
	}
	r.WaitStatus(idTty1, specs.StateStopped, 30*time.Second)
	r.MustRun("delete", idTty1)

	// A terminal without a socket cannot work detached; no state is left.
	res := r.Run("create", "--bundle", bundle, idTty2)
	if res.Code == 0 || !strings.Contains(res.Stderr, "console socket") {
		t.Errorf("create of a tty container without --console-socket: exit %d, %q", res.Code, res.Stderr)
	}
	if res := r.Run("state", idTty2); res.Code == 0 {
		t.Error("a failed create left a container behind")
	}
}

func TestExec(t *testing.T) {
	r := testutil.NewRunner(t)
	idEx := r.ID("ex")
	bundle := testutil.Bundle(t, []string{"sleep", "1000"}, func(s *specs.Spec) {
		s.Process.Env = append(s.Process.Env, "FROM_CONFIG=yes")
		// With an inheritable set, exec --cap adds ambient capabilities.
		s.Process.Capabilities.Inheritable = []string{"CAP_KILL"}
	})
	createWithOutput(t, r, bundle, idEx)
	r.MustRun("start", idEx)

	t.Run("attached", func(t *testing.T) {
		r := r.For(t)
		res := r.Run("exec", idEx, "sh", "-c", "echo hi $FROM_CONFIG $EXTRA; pwd; exit 5")
		if res.Code != 5 {
			t.Fatalf("exit %d, want 5\nstderr: %s", res.Code, res.Stderr)
		}
		if res.Stdout != "hi yes\n/\n" {
			t.Errorf("stdout %q", res.Stdout)
		}
		res = r.Run("exec", "--env", "EXTRA=x", "--cwd", "/tmp", idEx, "sh", "-c", "echo $EXTRA; pwd")
		if res.Stdout != "x\n/tmp\n" {
			t.Errorf("exec --env --cwd: stdout %q stderr %q", res.Stdout, res.Stderr)
		}
	})
	t.Run("values with commas", func(t *testing.T) {
		r := r.For(t)
		res := r.Run("exec", "--env", "LIST=a,b", "--env", "MORE=c,d", idEx, "sh", "-c", "echo $LIST $MORE")
		if res.Stdout != "a,b c,d\n" {
			t.Errorf("exec --env LIST=a,b: stdout %q stderr %q", res.Stdout, res.Stderr)
		}
	})
	t.Run("cap is ambient", func(t *testing.T) {
		r := r.For(t)
		res := r.Run("exec", "--cap", "CAP_KILL", idEx, "grep", "CapAmb", "/proc/self/status")
		if got := strings.Fields(res.Stdout); len(got) != 2 || got[1] != fmt.Sprintf("%016x", 1<<unix.CAP_KILL) {
			t.Errorf("exec --cap CAP_KILL: %q (stderr %q), want CAP_KILL ambient", res.Stdout, res.Stderr)
		}
	})
	t.Run("detached", func(t *testing.T) {
		r := r.For(t)
		pidFile := filepath.Join(t.TempDir(), "exec.pid")
		r.MustRun("exec", "--detach", "--pid-file", pidFile, idEx, "sleep", "999")
		text := readFile(t, pidFile)
		if !regexp.MustCompile(`^[0-9]+$`).MatchString(text) {
			t.Fatalf("pid file %q is not bare digits", text)
		}
		pid, _ := strconv.Atoi(text)
		if err := syscall.Kill(pid, 0); err != nil {
			t.Fatalf("detached exec process %d is not running: %v", pid, err)
		}
		found := false
		for _, p := range psPids(t, r, idEx) {
			found = found || p == pid
		}
		if !found {
			t.Errorf("exec process %d is not in the container's cgroup", pid)
		}
	})
	t.Run("process file", func(t *testing.T) {
		r := r.For(t)
		p := specs.Process{
			Args: []string{"sh", "-c", "echo $ONLY; id -u"},
			Env:  []string{"ONLY=from-file", "PATH=/bin"},
			Cwd:  "/",
			User: specs.User{UID: 65534, GID: 65534},
		}
		data, _ := json.Marshal(p)
		path := filepath.Join(t.TempDir(), "process.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		res := r.MustRun("exec", "--process", path, idEx)
		if res.Stdout != "from-file\n65534\n" {
			t.Errorf("stdout %q", res.Stdout)
		}
	})
	t.Run("missing executable", func(t *testing.T) {
		r := r.For(t)
		res := r.Run("exec", idEx, "/no/such/program")
		if res.Code != 255 {
			t.Errorf("exit %d, want 255", res.Code)
		}
		if !strings.Contains(res.Stderr, "no such file or directory") {
			t.Errorf("stderr %q lacks runc's \"no such file or directory\"", res.Stderr)
		}
		res = r.Run("exec", idEx, "nosuchprogram")
		if !strings.Contains(res.Stderr, "executable file not found in $PATH") {
			t.Errorf("stderr %q lacks runc's \"executable file not found in $PATH\"", res.Stderr)
		}
	})

	r.MustRun("kill", idEx, "KILL")
	r.WaitStatus(idEx, specs.StateStopped, 30*time.Second)
	res := r.Run("exec", idEx, "true")
	if res.Code == 0 || !strings.Contains(res.Stderr, "stopped") {
		t.Errorf("exec in a stopped container: exit %d, %q", res.Code, res.Stderr)
	}
}

func TestCreateMissingExecutable(t *testing.T) {
	r := testutil.NewRunner(t)
	idMissing := r.ID("missing")
	for _, tc := range []struct{ arg, want string }{
		{"/no/such/program", "no such file or directory"},
		{"nosuchprogram", "executable file not found in $PATH"},
	} {
		bundle := testutil.Bundle(t, []string{tc.arg}, nil)
		res := r.Run("create", "--bundle", bundle, idMissing)
		if res.Code == 0 || !strings.Contains(res.Stderr, tc.want) {
			t.Errorf("create with %s: exit %d, stderr %q, want %q", tc.arg, res.Code, res.Stderr, tc.want)
		}
		if res := r.Run("state", idMissing); res.Code == 0 {
			t.Errorf("create with %s left a container behind", tc.arg)
		}
		if dirs := testutil.CgroupDirs(idMissing); len(dirs) > 0 {
			t.Errorf("create with %s left cgroups: %v", tc.arg, dirs)
		}
	}
}

func TestPauseResume(t *testing.T) {
	r := testutil.NewRunner(t)
	idPr := r.ID("pr")
	bundle := testutil.Bundle(t, []string{"sh", "-c", "while true; do echo tick; sleep 0.01; done"}, nil)
	out := createWithOutput(t, r, bundle, idPr)
	r.MustRun("start", idPr)
	size := func() int { return len(readFile(t, out)) }
	testutil.Eventually(t, 30*time.Second, "output", func() bool { return size() > 0 })

	r.MustRun("pause", idPr)
	if s := r.State(idPr); s.Status != specs.ContainerState("paused") {
		t.Fatalf("after pause: status %q", s.Status)
	}
	frozen := size()
	time.Sleep(300 * time.Millisecond)
	if size() != frozen {
		t.Fatalf("a paused container kept writing: %d -> %d bytes", frozen, size())
	}
	if res := r.Run("exec", idPr, "true"); res.Code == 0 || !strings.Contains(res.Stderr, "paused") {
		t.Errorf("exec in a paused container: exit %d, %q", res.Code, res.Stderr)
	}

	r.MustRun("resume", idPr)
	if s := r.State(idPr); s.Status != specs.StateRunning {
		t.Fatalf("after resume: status %q", s.Status)
	}
	testutil.Eventually(t, 30*time.Second, "output after resume", func() bool { return size() > frozen })
	if res := r.Run("resume", idPr); res.Code == 0 {
		t.Error("resume of a running container succeeded")
	}

	// delete --force must also work on a paused container.
	r.MustRun("pause", idPr)
	r.MustRun("delete", "--force", idPr)
	if dirs := testutil.CgroupDirs(idPr); len(dirs) > 0 {
		t.Errorf("cgroups left after deleting a paused container: %v", dirs)
	}
}

// cgroupFile returns the first of files found in pid's cgroups, and its
// value: tests pass the v1 and the v2 name of one setting.
func cgroupFile(t *testing.T, pid int, files ...string) (name, value string) {
	t.Helper()
	for _, dir := range proc.CgroupDirs(pid) {
		for _, f := range files {
			if data, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
				return f, strings.TrimSpace(string(data))
			}
		}
	}
	t.Fatalf("no cgroup file %v for process %d", files, pid)
	return "", ""
}

func TestUpdate(t *testing.T) {
	r := testutil.NewRunner(t)
	idUp := r.ID("up")
	limit := int64(128 << 20)
	bundle := testutil.Bundle(t, []string{"sleep", "1000"}, func(s *specs.Spec) {
		pids, shares := int64(100), uint64(1024)
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit}
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: &pids}
		s.Linux.Resources.CPU = &specs.LinuxCPU{Shares: &shares}
	})
	createWithOutput(t, r, bundle, idUp)
	r.MustRun("start", idUp)
	pid := r.State(idUp).Pid
	memFiles := []string{"memory.limit_in_bytes", "memory.max"}
	weight := func(shares uint64) string {
		return strconv.FormatUint(cgroups.ConvertCPUSharesToCgroupV2Value(shares), 10)
	}
	// cpu.idle came with Linux 5.15: measured here, not assumed.
	hasIdle := false
	for _, d := range proc.CgroupDirs(pid) {
		if _, err := os.Stat(filepath.Join(d, "cpu.idle")); err == nil {
			hasIdle = true
		}
	}
	testutil.HostCase(t, "cpu.idle present: %v; the idle cases ran: %[1]v", hasIdle)
	for _, tc := range []struct {
		name  string
		args  []string // after "update"; "ID" is the container
		stdin string
		files []string
		want  map[string]string // by file name: the v1 and v2 values
	}{
		{"from config.json", nil, "", memFiles, map[string]string{"": strconv.FormatInt(limit, 10)}},
		{"flag after the id", []string{"ID", "--memory", "64m"}, "", memFiles, map[string]string{"": strconv.Itoa(64 << 20)}},
		// Docker sends explicit zeros for what it does not change.
		{"zeros leave memory alone", []string{"--resources", "-", "ID"},
			`{"memory":{"limit":0,"reservation":0,"kernel":0},"cpu":{"shares":512,"quota":0,"period":0},"blockIO":{"weight":0},"pids":{"limit":42}}`,
			memFiles, map[string]string{"": strconv.Itoa(64 << 20)}},
		{"pids from the same update", nil, "", []string{"pids.max"}, map[string]string{"": "42"}},
		{"shares, as weight on v2", nil, "", []string{"cpu.shares", "cpu.weight"}, map[string]string{"cpu.shares": "512", "cpu.weight": weight(512)}},
		{"pids 0 is 1, as at create", []string{"ID", "--pids-limit", "0"}, "", []string{"pids.max"}, map[string]string{"": "1"}},
		{"pids -1 is unlimited", []string{"--pids-limit=-1", "ID"}, "", []string{"pids.max"}, map[string]string{"": "max"}},
		{"idle on", []string{"ID", "--cpu-idle", "1"}, "", []string{"cpu.idle"}, map[string]string{"": "1"}},
		// The kernel refuses cpu.shares while idle; an update that does
		// not ask for shares must not write them.
		{"an unrelated update while idle", []string{"ID", "--pids-limit", "9"}, "", []string{"pids.max"}, map[string]string{"": "9"}},
		{"idle off again", []string{"ID", "--cpu-idle", "0"}, "", []string{"cpu.idle"}, map[string]string{"": "0"}},
		{"shares after idle", []string{"ID", "--cpu-share", "2048"}, "", []string{"cpu.shares", "cpu.weight"}, map[string]string{"cpu.shares": "2048", "cpu.weight": weight(2048)}},
		{"pids again", []string{"ID", "--pids-limit", "42"}, "", []string{"pids.max"}, map[string]string{"": "42"}},
		{"quota keeps the period", []string{"ID", "--cpu-period", "200000", "--cpu-quota", "50000"}, "", []string{"cpu.cfs_quota_us", "cpu.max"},
			map[string]string{"cpu.cfs_quota_us": "50000", "cpu.max": "50000 200000"}},
		{"quota alone", []string{"ID", "--cpu-quota", "80000"}, "", []string{"cpu.cfs_quota_us", "cpu.max"},
			map[string]string{"cpu.cfs_quota_us": "80000", "cpu.max": "80000 200000"}},
		{"period alone keeps the quota", []string{"ID", "--cpu-period", "160000"}, "", []string{"cpu.cfs_period_us", "cpu.max"},
			map[string]string{"cpu.cfs_period_us": "160000", "cpu.max": "80000 160000"}},
	} {
		if slices.Contains(tc.files, "cpu.idle") && !hasIdle {
			continue
		}
		if tc.args != nil {
			args := []string{"update"}
			for _, a := range tc.args {
				args = append(args, strings.ReplaceAll(a, "ID", idUp))
			}
			cmd := r.Command(t.Context(), args...)
			cmd.Stdin = strings.NewReader(tc.stdin)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: update %v: %v\n%s", tc.name, tc.args, err, out)
			}
		}
		f, got := cgroupFile(t, pid, tc.files...)
		want, ok := tc.want[f]
		if !ok {
			want = tc.want[""]
		}
		if got != want {
			t.Errorf("%s: %s is %q, want %q", tc.name, f, got, want)
		}
	}
	for _, bad := range [][]string{
		{"update", "--memory", "lots", idUp},
		{"update", "--pids-limit", "-7", idUp},
		{"update", idUp, "--no-such-flag"},
	} {
		if res := r.Run(bad...); res.Code == 0 {
			t.Errorf("%v succeeded", bad)
		}
	}
}

// TestUpdateDuplicateDevice updates a block device that config.json
// throttles twice: the new rate must be what the kernel holds.
func TestUpdateDuplicateDevice(t *testing.T) {
	major, minor := blockDevice(t)
	file := "io.max"
	if !cgroups.IsCgroup2UnifiedMode() {
		file = "blkio.throttle.read_bps_device"
	}
	r := testutil.NewRunner(t)
	id := r.ID("updev")
	dev := func(rate uint64) specs.LinuxThrottleDevice {
		return specs.LinuxThrottleDevice{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: major, Minor: minor}, Rate: rate}
	}
	bundle := testutil.Bundle(t, []string{"sleep", "1000"}, func(s *specs.Spec) {
		s.Linux.Resources.BlockIO = &specs.LinuxBlockIO{ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{dev(1 << 20), dev(2 << 20)}}
	})
	res := r.Run("create", "--bundle", bundle, id)
	if res.Code != 0 && strings.Contains(res.Stderr, file) {
		// Measured, not assumed: some hosts' kernels cannot throttle.
		t.Skipf("this host cannot throttle reads of %d:%d: %s", major, minor, strings.TrimSpace(res.Stderr))
	}
	if res.Code != 0 {
		t.Fatalf("create: %s", res.Stderr)
	}
	defer r.Run("delete", "--force", id)
	pid := r.State(id).Pid
	device := fmt.Sprintf("%d:%d", major, minor)
	rate := func() string {
		_, v := cgroupFile(t, pid, file)
		for _, l := range strings.Split(v, "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == device {
				return strings.TrimPrefix(f[1], "rbps=")
			}
		}
		return ""
	}
	if got := rate(); got != strconv.Itoa(2<<20) {
		t.Fatalf("%s of %s after create: %q, want the last entry's %d", file, device, got, 2<<20)
	}
	cmd := r.Command(t.Context(), "update", "-r", "-", id)
	cmd.Stdin = strings.NewReader(fmt.Sprintf(`{"blockIO":{"throttleReadBpsDevice":[{"major":%d,"minor":%d,"rate":%d}]}}`, major, minor, 3<<20))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("update: %v\n%s", err, out)
	}
	if got := rate(); got != strconv.Itoa(3<<20) {
		t.Errorf("%s of %s after the update: %q, want %d", file, device, got, 3<<20)
	}
}

// blockDevice finds a block device of this host.
func blockDevice(t *testing.T) (major, minor int64) {
	t.Helper()
	devs, _ := filepath.Glob("/sys/block/*/dev")
	for _, p := range devs {
		if strings.HasPrefix(filepath.Base(filepath.Dir(p)), "loop") {
			continue
		}
		if _, err := fmt.Sscanf(readFile(t, p), "%d:%d", &major, &minor); err == nil {
			return major, minor
		}
	}
	t.Skip("no block device on this host")
	return 0, 0
}

func TestPidFileRelative(t *testing.T) {
	r := testutil.NewRunner(t)
	idRel := r.ID("rel")
	bundle := testutil.Bundle(t, []string{"sleep", "1000"}, nil)
	dir := t.TempDir()
	cmd := exec.Command(r.Bin, "--root", r.Root, "create", "--bundle", bundle, "--pid-file", "rel.pid", idRel)
	cmd.Dir = dir
	// The container keeps create's stdio: no pipes, or Run would wait for it.
	if err := cmd.Run(); err != nil {
		t.Fatalf("create: %v", err)
	}
	// Relative to the caller's directory, not to the bundle.
	if got, want := readFile(t, filepath.Join(dir, "rel.pid")), strconv.Itoa(r.State(idRel).Pid); got != want {
		t.Errorf("pid file %q, state pid %s", got, want)
	}
}

func TestListPsEvents(t *testing.T) {
	r := testutil.NewRunner(t)
	id := r.ID("info")
	bundle := testutil.Bundle(t, []string{"sleep", "1000"}, nil)
	createWithOutput(t, r, bundle, id)

	var list []struct {
		ID     string `json:"id"`
		Pid    int    `json:"pid"`
		Status string `json:"status"`
		Bundle string `json:"bundle"`
	}
	if err := json.Unmarshal([]byte(r.MustRun("list", "--format", "json").Stdout), &list); err != nil {
		t.Fatalf("list --format json: %v", err)
	}
	if len(list) != 1 || list[0].ID != id || list[0].Status != "created" || list[0].Bundle != bundle || list[0].Pid == 0 {
		t.Errorf("list --format json: %+v", list)
	}
	if got := r.MustRun("list", "-q").Stdout; got != id+"\n" {
		t.Errorf("list -q: %q", got)
	}
	table := r.MustRun("list").Stdout
	if !strings.HasPrefix(table, "ID") || !strings.Contains(table, id) || !strings.Contains(table, "created") {
		t.Errorf("list table:\n%s", table)
	}
	// A --root that does not exist is a mistake, not an empty list.
	missing := filepath.Join(t.TempDir(), "no-such-root")
	if out, err := exec.Command(r.Bin, "--root", missing, "list").CombinedOutput(); err == nil || !strings.Contains(string(out), missing) {
		t.Errorf("list with a missing --root: %v %q", err, out)
	}

	r.MustRun("start", id)
	pid := r.State(id).Pid
	ps := r.MustRun("ps", id).Stdout
	lines := strings.Split(strings.TrimSpace(ps), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "PID") || !strings.Contains(lines[1], strconv.Itoa(pid)) || !strings.Contains(lines[1], "sleep 1000") {
		t.Errorf("ps table:\n%s", ps)
	}
	if got := r.MustRun("ps", id, "-o", "pid,comm").Stdout; !strings.Contains(got, strconv.Itoa(pid)) || !strings.Contains(got, "sleep") {
		t.Errorf("ps with ps(1) options:\n%s", got)
	}

	var ev struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Data struct {
			Pids struct {
				Current uint64 `json:"current"`
			} `json:"pids"`
			Memory struct {
				Usage struct {
					Usage uint64 `json:"usage"`
				} `json:"usage"`
			} `json:"memory"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.MustRun("events", "--stats", id).Stdout), &ev); err != nil {
		t.Fatalf("events --stats: %v", err)
	}
	if ev.Type != "stats" || ev.ID != id || ev.Data.Pids.Current != 1 || ev.Data.Memory.Usage.Usage == 0 {
		t.Errorf("events --stats: %+v", ev)
	}
	// events without --stats streams until the container stops.
	cmd := r.Command(t.Context(), "events", "--interval", "50ms", id)
	outPath := filepath.Join(t.TempDir(), "events")
	out, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "two stats events", func() bool {
		return strings.Count(readFile(t, outPath), `"type":"stats"`) >= 2
	})
	r.MustRun("kill", id, "KILL")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("events after the container stopped: %v", err)
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Error("events kept running after the container stopped")
	}
}

// TestUpdateJudged: on a judged container, update's memory and pids limits
// land on the run's cgroup, where they are enforced, and the container's
// own cgroup keeps them plus the headroom its init needs.
func TestUpdateJudged(t *testing.T) {
	r := testutil.NewRunner(t)
	id := r.ID("upj")
	limit, pids := int64(64<<20), int64(20)
	bundle, _ := testutil.JudgeBundle(t, []string{"/bin/sleeper"}, map[string]string{"wall-time": "60"}, func(s *specs.Spec) {
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit}
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: &pids}
	})
	createWithOutput(t, r, bundle, id)
	defer r.Run("delete", "--force", id)
	r.MustRun("start", id)
	var prog int
	// Forked is not enough: the child joins the run's cgroup before it
	// execs the program.
	testutil.Eventually(t, testutil.Slack(5*time.Second), "the program to start", func() bool {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%[1]d/children", r.State(id).Pid))
		prog, _ = strconv.Atoi(strings.TrimSpace(string(data)))
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", prog))
		return prog > 0 && strings.TrimSpace(string(comm)) == "sleeper"
	})
	// The run's value, and the container's (the run cgroup's parent).
	read := func(files ...string) (run, outer string) {
		f, run := cgroupFile(t, prog, files...)
		for _, d := range proc.CgroupDirs(prog) {
			if data, err := os.ReadFile(filepath.Join(filepath.Dir(d), f)); err == nil {
				return run, strings.TrimSpace(string(data))
			}
		}
		t.Fatalf("no %s above the run's cgroup", f)
		return "", ""
	}
	const headroom, pidsHeadroom = 64 << 20, 32
	for _, tc := range []struct {
		args       []string
		files      []string
		run, outer int64
	}{
		{nil, []string{"memory.limit_in_bytes", "memory.max"}, limit, limit + headroom},
		{nil, []string{"pids.max"}, pids, pids + pidsHeadroom},
		{[]string{"--memory", "50M"}, []string{"memory.limit_in_bytes", "memory.max"}, 50 << 20, 50<<20 + headroom},
		{[]string{"--memory", "300M"}, []string{"memory.limit_in_bytes", "memory.max"}, 300 << 20, 300<<20 + headroom},
		{[]string{"--pids-limit", "30"}, []string{"pids.max"}, 30, 30 + pidsHeadroom},
		{[]string{"--pids-limit", "10"}, []string{"pids.max"}, 10, 10 + pidsHeadroom},
		// 0 is a limit of one process, as at create and with runc.
		{[]string{"--pids-limit", "0"}, []string{"pids.max"}, 1, 1 + pidsHeadroom},
	} {
		if tc.args != nil {
			r.MustRun(append(append([]string{"update"}, tc.args...), id)...)
		}
		run, outer := read(tc.files...)
		if run != strconv.FormatInt(tc.run, 10) || outer != strconv.FormatInt(tc.outer, 10) {
			t.Errorf("after update %v: %s run %s, container %s; want %d and %d", tc.args, tc.files[0], run, outer, tc.run, tc.outer)
		}
	}
	if s := r.State(id); s.Status != specs.StateRunning {
		t.Errorf("status %s after the updates", s.Status)
	}
}
