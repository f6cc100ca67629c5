package judgeinit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// startInit runs this test binary as the judge init, PID 1 of a new PID
// namespace (the C constructor takes over before the Go runtime starts).
func startInit(t *testing.T) (*Conn, *exec.Cmd) {
	t.Helper()
	return startInitIn(t, 0)
}

// startInitIn is startInit with more namespaces (CLONE_NEW* flags).
func startInitIn(t *testing.T, cloneflags uintptr) (*Conn, *exec.Cmd) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the init runs in a new PID namespace")
	}
	conn, ct, err := NewPair()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/proc/self/exe", Arg, "3")
	cmd.ExtraFiles = []*os.File{ct}
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID | cloneflags}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ct.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		conn.Close()
	})
	return conn, cmd
}

func recv(t *testing.T, c *Conn, want EventType) *Event {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	ev, err := c.Recv()
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	if want != eventAny && ev.Type != want {
		t.Fatalf("event %+v, want type %d", ev, want)
	}
	return ev
}

func TestRunProgram(t *testing.T) {
	conn, cmd := startInit(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	before := Monotonic()
	err := conn.SendRun(&Run{
		Args:    []string{"sh", "-c", "echo $GREETING; echo err >&2; exit 7"},
		Env:     []string{"GREETING=hello", "PATH=/usr/bin:/bin"},
		Stdout:  out,
		Stderr:  out + ".err",
		Rlimits: []Rlimit{{Resource: unix.RLIMIT_CORE, Soft: 0, Hard: 0}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ready := recv(t, conn, Ready)
	if ready.Pid <= 1 || ready.Pid == cmd.Process.Pid {
		t.Fatalf("ready from pid %d, want the child's host pid (init is %d)", ready.Pid, cmd.Process.Pid)
	}
	if err := conn.SendGo(); err != nil {
		t.Fatal(err)
	}
	ex := recv(t, conn, Exec)
	if ex.Mono < before || ex.Mono > Monotonic() {
		t.Errorf("exec time %v outside [%v, now]", ex.Mono, before)
	}
	exit := recv(t, conn, Exited)
	if !exit.Status.Exited() || exit.Status.ExitStatus() != 7 {
		t.Errorf("status %v, want exit 7", exit.Status)
	}
	if exit.Mono < ex.Mono {
		t.Errorf("exit at %v before exec at %v", exit.Mono, ex.Mono)
	}
	if exit.MaxRSSKB <= 0 {
		t.Errorf("max rss %d", exit.MaxRSSKB)
	}
	if data, _ := os.ReadFile(out); string(data) != "hello\n" {
		t.Errorf("stdout %q", data)
	}
	if data, _ := os.ReadFile(out + ".err"); string(data) != "err\n" {
		t.Errorf("stderr %q", data)
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("after a one-shot run the init should be gone: %v", err)
	}
	if err := cmd.Wait(); err == nil || cmd.ProcessState.ExitCode() != 7 {
		t.Errorf("init exit %v, want the program's status 7", err)
	}
}

func TestFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		run   Run
		stage int
		errno syscall.Errno
	}{
		{"missing program", Run{Args: []string{"/no/such/program"}}, StageExec, unix.ENOENT},
		{"program not in PATH", Run{Args: []string{"nosuchprogram"}, Env: []string{"PATH=/bin"}}, StageExec, unix.ENOENT},
		{"missing stdin", Run{Args: []string{"true"}, Stdin: "/no/such/input"}, StageStdin, unix.ENOENT},
		{"bad cwd", Run{Args: []string{"true"}, Cwd: "/no/such/dir"}, StageChdir, unix.ENOENT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, _ := startInit(t)
			if err := conn.SendRun(&tc.run); err != nil {
				t.Fatal(err)
			}
			recv(t, conn, Ready)
			if err := conn.SendGo(); err != nil {
				t.Fatal(err)
			}
			ev, err := conn.Recv()
			for err == nil && ev.Type == Exec {
				ev, err = conn.Recv()
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type != Failed || ev.Stage != tc.stage || ev.Errno != tc.errno {
				t.Fatalf("event %+v (%s), want stage %d errno %v", ev, ev.StartError().Error(), tc.stage, tc.errno)
			}
			exit := recv(t, conn, Exited)
			if exit.Status.ExitStatus() != 127 {
				t.Errorf("status %v, want 127", exit.Status)
			}
		})
	}
}

// TestSymlinkRedirects: a symlink at an input path is refused, never
// followed; one at an output path, which an earlier run may have left, is
// replaced by the program's own file, and its target is not touched.
func TestSymlinkRedirects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		run   func(link string) *Run
		fails bool
	}{
		{"stdin", func(link string) *Run { return &Run{Args: []string{"true"}, Stdin: link} }, true},
		{"stdout", func(link string) *Run { return &Run{Args: []string{"true"}, Stdout: link} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, _ := startInit(t)
			dir := t.TempDir()
			target := filepath.Join(dir, "target")
			link := filepath.Join(dir, "link")
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			if err := conn.SendRun(tc.run(link)); err != nil {
				t.Fatal(err)
			}
			recv(t, conn, Ready)
			_ = conn.SendGo()
			if tc.fails {
				if ev := recv(t, conn, Failed); ev.Stage != StageStdin || ev.Errno != unix.ELOOP {
					t.Errorf("event %+v, want stdin ELOOP", ev)
				}
			} else {
				recv(t, conn, Exec)
				if fi, err := os.Lstat(link); err != nil || !fi.Mode().IsRegular() {
					t.Errorf("the output path after the run: %v %v, want a regular file", fi, err)
				}
			}
			if _, err := os.Lstat(target); !os.IsNotExist(err) {
				t.Error("the redirection followed the symlink")
			}
		})
	}
}

func TestPersistentRunsAndOrphans(t *testing.T) {
	conn, _ := startInit(t)
	dir := t.TempDir()
	marker := filepath.Join(dir, "orphan")
	for i, script := range []string{
		// A background child that would write the marker later; the
		// init must kill it when the program exits.
		"(sleep 0.3; touch %s) & exit 0",
		// A grandchild, the init's child already while the program runs.
		"( (sleep 0.3; touch %s) & ); sleep 0.05; exit 1",
		// Nothing left behind (%s unused): the init sees no child.
		": %s; exit 2",
		"(sleep 0.3; touch %s) & exit 3",
		// A stopped one: wait4 counts it, and SIGKILL ends it.
		"(sleep 0.3; touch %s) & kill -STOP $!; exit 4",
	} {
		err := conn.SendRun(&Run{
			Args:    []string{"sh", "-c", fmt.Sprintf(script, marker)},
			Env:     []string{"PATH=/usr/bin:/bin"},
			Persist: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		recv(t, conn, Ready)
		_ = conn.SendGo()
		recv(t, conn, Exec)
		exit := recv(t, conn, Exited)
		if exit.Status.ExitStatus() != i {
			t.Errorf("run %d: status %v", i, exit.Status)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Error("a background child outlived its run")
	}
	if err := conn.SendQuit(); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("after quit: %v", err)
	}
}

func TestRefusesOutsidePIDNamespace(t *testing.T) {
	_, ct, err := NewPair()
	if err != nil {
		t.Fatal(err)
	}
	defer ct.Close()
	cmd := exec.Command("/proc/self/exe", Arg, "3")
	cmd.ExtraFiles = []*os.File{ct}
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 126 || !strings.Contains(string(out), "PID 1") {
		t.Errorf("judge init outside a PID namespace: %v %q", err, out)
	}
}

func TestEncodeLimits(t *testing.T) {
	if _, _, err := (&Run{}).encode(-1); err == nil {
		t.Error("a run without args was accepted")
	}
	if _, _, err := (&Run{Args: []string{"a\x00b"}}).encode(-1); err == nil {
		t.Error("a NUL byte in an argument was accepted")
	}
	if _, _, err := (&Run{Args: []string{"x"}, Rlimits: make([]Rlimit, maxRlimits+1)}).encode(-1); err == nil {
		t.Error("too many rlimits were accepted")
	}
	if _, _, err := (&Run{Args: []string{strings.Repeat("x", maxMsg)}}).encode(-1); err == nil {
		t.Error("an oversized request was accepted")
	}
}

// startListening starts an init serving connections on a listening
// socket, as a box's does, and returns the socket's path.
func startListening(t *testing.T) (string, *exec.Cmd) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the init runs in a new PID namespace")
	}
	path := filepath.Join(t.TempDir(), "box.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v", fi.Mode(), err)
	}
	cmd := exec.Command("/proc/self/exe", Arg, "-l", "3")
	cmd.ExtraFiles = []*os.File{ln}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ln.Close()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return path, cmd
}

// A connection whose runs ask for it stays open for the next run; another
// supervisor connecting meanwhile is served, and the idle one hung up on,
// without a request sent on it ever being lost unnoticed.
func TestListenModeKeptConnection(t *testing.T) {
	path, _ := startListening(t)
	kept, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer kept.Close()
	for i := range 2 {
		evs := runToEnd(t, kept, &Run{Args: []string{"/bin/true"}, Persist: true})
		if ex := evs[len(evs)-1]; ex.Status.ExitStatus() != 0 {
			t.Fatalf("run %d on the kept connection: %v", i, ex.Status)
		}
	}
	if !kept.Idle() {
		t.Fatal("the kept connection is not idle after its runs")
	}

	other, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	evs := runToEnd(t, other, &Run{Args: []string{"/bin/sh", "-c", "exit 3"}})
	if ex := evs[len(evs)-1]; ex.Status.ExitStatus() != 3 {
		t.Fatalf("the other supervisor's run: %v", ex.Status)
	}
	deadline := time.Now().Add(5 * time.Second)
	for kept.Idle() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if kept.Idle() {
		t.Fatal("the idle connection is still open after another was served")
	}
	if err := kept.SendRun(&Run{Args: []string{"/bin/true"}, Persist: true}); !NotSent(err) {
		t.Errorf("a run sent on the closed connection: %v, want one NotSent recognises", err)
	}
}

func TestListenModeAndExtraFiles(t *testing.T) {
	path, cmd := startListening(t)
	dir := t.TempDir()
	for i := 0; i < 3; i++ {
		conn, err := Dial(path)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "out")
		stdout, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		extraR, extraW, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		_, _ = extraW.WriteString("from fd 3\n")
		extraW.Close()
		err = conn.SendRun(&Run{
			Args:         []string{"/bin/sh", "-c", "/bin/cat <&3; echo run " + string(rune('0'+i))},
			Env:          []string{"PATH=/no/path"},
			Files:        [3]*os.File{nil, stdout, nil},
			ExtraFiles:   []*os.File{extraR},
			NoPathSearch: true,
		})
		stdout.Close()
		extraR.Close()
		if err != nil {
			t.Fatal(err)
		}
		recv(t, conn, Ready)
		_ = conn.SendGo()
		recv(t, conn, Exec)
		if ev := recv(t, conn, Exited); ev.Status.ExitStatus() != 0 {
			t.Errorf("run %d: %v", i, ev.Status)
		}
		conn.Close()
		if data, _ := os.ReadFile(out); string(data) != "from fd 3\nrun "+string(rune('0'+i))+"\n" {
			t.Errorf("run %d wrote %q", i, data)
		}
	}

	// Without PATH search a bare name is not found, even with PATH set.
	conn, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.SendRun(&Run{Args: []string{"sh"}, Env: []string{"PATH=/bin"}, NoPathSearch: true}); err != nil {
		t.Fatal(err)
	}
	recv(t, conn, Ready)
	_ = conn.SendGo()
	ev, err := conn.Recv()
	for err == nil && ev.Type == Exec {
		ev, err = conn.Recv()
	}
	if err != nil || ev.Type != Failed || ev.Errno != unix.ENOENT {
		t.Errorf("bare name without PATH search: %+v %v", ev, err)
	}
	recv(t, conn, Exited)
	conn.Close()
	// Each run has its connection; a new one can end the box's init.
	if conn, err = Dial(path); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SendQuit(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("init after quit: %v", err)
	}
}

func TestSupervisorGoneEndsTheRun(t *testing.T) {
	conn, cmd := startInit(t)
	if err := conn.SendRun(&Run{Args: []string{"sleep", "100"}, Env: []string{"PATH=/usr/bin:/bin"}}); err != nil {
		t.Fatal(err)
	}
	recv(t, conn, Ready)
	_ = conn.SendGo()
	recv(t, conn, Exec)
	// Without a supervisor no limit holds: the init must end the run.
	conn.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		if cmd.ProcessState.ExitCode() != 128+9 {
			t.Errorf("init exit %d, want the killed program's 137", cmd.ProcessState.ExitCode())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the program outlived its supervisor")
	}
}

// runToEnd sends a run, lets it go and returns the events up to Exited.
func runToEnd(t *testing.T, c *Conn, r *Run) []*Event {
	t.Helper()
	if err := c.SendRun(r); err != nil {
		t.Fatal(err)
	}
	recv(t, c, Ready)
	if err := c.SendGo(); err != nil {
		t.Fatal(err)
	}
	var evs []*Event
	for {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		ev, err := c.Recv()
		if err != nil {
			t.Fatalf("recv: %v", err)
		}
		evs = append(evs, ev)
		if ev.Type == Exited {
			return evs
		}
	}
}

// sharedTempDir is a directory every user can write, for programs that run
// under another uid.
func sharedTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "judgeinit-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRunAsUser(t *testing.T) {
	const uid, gid = 65123, 65124
	dir := sharedTempDir(t)
	private := filepath.Join(dir, "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	user := &User{UID: uid, GID: gid, Groups: []uint32{65125, 65126}, Bounding: 1 << unix.CAP_NET_BIND_SERVICE}
	script := `id -u; id -G; grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status`
	for _, tc := range []struct {
		name, stdout string
		want         string // stdout, or the failure
	}{
		{"identity and capabilities", filepath.Join(dir, "out"), "65123\n65124 65125 65126\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000400\nCapAmb:\t0000000000000000\n"},
		// Redirections open as the user: root's private directory is shut.
		{"redirection as the user", filepath.Join(private, "out"), "open stdout \"" + filepath.Join(private, "out") + "\": permission denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, _ := startInit(t)
			evs := runToEnd(t, conn, &Run{Args: []string{"sh", "-c", script}, Env: []string{"PATH=/usr/bin:/bin"}, Stdout: tc.stdout, User: user})
			if evs[0].Type == Failed {
				if got := evs[0].StartError().Error(); got != tc.want {
					t.Fatalf("failure %q, want %q", got, tc.want)
				}
				return
			}
			data, err := os.ReadFile(tc.stdout)
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != tc.want {
				t.Errorf("program saw\n%s\nwant\n%s", data, tc.want)
			}
			var st unix.Stat_t
			if err := unix.Stat(tc.stdout, &st); err != nil || st.Uid != uid {
				t.Errorf("stdout owned by %d (%v), want %d", st.Uid, err, uid)
			}
		})
	}
}

func TestCleanIPC(t *testing.T) {
	// A new IPC namespace: the janitor must not see the host's objects,
	// though it only removes its own user's anyway.
	conn, _ := startInitIn(t, syscall.CLONE_NEWIPC)
	dir := sharedTempDir(t)
	tag := filepath.Base(dir)
	mine, others := "/dev/shm/"+tag+"-left", "/dev/shm/"+tag+"-root"
	if err := os.WriteFile(others, []byte("x"), 0o644); err != nil {
		t.Skipf("no writable /dev/shm: %v", err)
	}
	t.Cleanup(func() { os.Remove(others); os.Remove(mine) })
	user := &User{UID: 65127, GID: 65127}
	count := "cat /proc/sysvipc/shm /proc/sysvipc/msg /proc/sysvipc/sem | wc -l"
	out := filepath.Join(dir, "out")
	runs := []struct {
		script, want string
	}{
		// Three objects and a file, counted with the three header lines.
		{"ipcmk -M 4096 >/dev/null && ipcmk -Q >/dev/null && ipcmk -S 1 >/dev/null && echo x > " + mine + " && " + count, "6\n"},
		{count, "3\n"},
	}
	for i, r := range runs {
		evs := runToEnd(t, conn, &Run{Args: []string{"sh", "-c", r.script}, Env: []string{"PATH=/usr/bin:/bin"},
			Stdout: out, User: user, CleanIPC: true, Persist: true})
		if ex := evs[len(evs)-1]; ex.Status.ExitStatus() != 0 {
			t.Fatalf("run %d: %v", i, ex.Status)
		}
		if data, _ := os.ReadFile(out); string(data) != r.want {
			t.Errorf("run %d: %q IPC lines, want %q", i, data, r.want)
		}
	}
	if _, err := os.Stat(mine); !os.IsNotExist(err) {
		t.Errorf("the user's /dev/shm file survived into the next run: %v", err)
	}
	if _, err := os.Stat(others); err != nil {
		t.Errorf("another user's /dev/shm file was removed: %v", err)
	}
}

// A request the init cannot serve is answered with a failure naming it,
// before the init hangs up: the supervisor must not have to guess.
func TestProtocolErrorsReported(t *testing.T) {
	for _, tc := range []struct {
		name   string
		send   func(*Conn) error
		detail string
		errno  syscall.Errno
	}{
		{"malformed run request", func(c *Conn) error {
			_, err := c.c.Write(frame(msgRun, []byte{1, 2, 3}))
			return err
		}, "receive the run request", unix.EBADMSG},
		{"not the go-ahead", func(c *Conn) error {
			if err := c.SendRun(&Run{Args: []string{"true"}}); err != nil {
				return err
			}
			if _, err := c.Recv(); err != nil { // Ready
				return err
			}
			_, err := c.c.Write(frame(msgQuit, nil))
			return err
		}, "expected the go-ahead", unix.EPROTO},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, _ := startInit(t)
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			if err := tc.send(conn); err != nil {
				t.Fatal(err)
			}
			ev := recv(t, conn, Failed)
			if ev.Detail != tc.detail || ev.Errno != tc.errno {
				t.Fatalf("failure %q, want %q with %v", ev.StartError().Error(), tc.detail, tc.errno)
			}
		})
	}
}

// TestJoinAtOnce: a child given cgroup files with the request joins them
// itself and starts without Ready and Go, and its Exec, stamped with its
// host pid and when the init started it, goes to the socket read on
// demand (RecvQuiet). Started in the init's memory, nothing else comes
// before Exited; started by fork (its stdin is a FIFO, whose open
// blocks), the init says Forked first, with the child's pidfd, and the
// Exec comes as any message.
func TestJoinAtOnce(t *testing.T) {
	pids := "/sys/fs/cgroup/pids"
	var sfs unix.Statfs_t
	if err := unix.Statfs(pids, &sfs); err != nil || sfs.Type != unix.CGROUP_SUPER_MAGIC {
		t.Skip("no cgroup v1 pids hierarchy here: Join serves v1 only")
	}
	for _, tc := range []struct {
		name  string
		fifo  bool
		extra int // files given as fds 3, 4, ...: received fds move
		want  []EventType
	}{
		{"in the init's memory", false, 0, []EventType{Exited}},
		{"in the init's memory, with fds 3 and up given", false, 8, []EventType{Exited}},
		{"by fork", true, 0, []EventType{Forked, Exec, Exited}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, _ := startInit(t)
			dir := t.TempDir()
			// The program prints its host pid (the host's /proc is mounted
			// here) and its cgroups.
			run := &Run{Args: []string{"/bin/sh", "-c", "read pid rest < /proc/self/stat; echo $pid; cat /proc/self/cgroup"},
				Stdout: filepath.Join(dir, "out")}
			for range tc.extra {
				f, err := os.Open(os.DevNull)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				run.ExtraFiles = append(run.ExtraFiles, f)
			}
			if tc.fifo {
				run.Stdin = filepath.Join(dir, "in")
				if err := unix.Mkfifo(run.Stdin, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cg := joinCgroup(t, pids, run)
			before := Monotonic()
			if err := conn.SendRun(run); err != nil {
				t.Fatal(err)
			}
			closeAllFiles(run.Join)
			var types []EventType
			var forked, ex *Event
			for ev := recv(t, conn, eventAny); ; ev = recv(t, conn, eventAny) {
				types = append(types, ev.Type)
				if ev.Type == Forked {
					forked = ev
					defer unix.Close(ev.Pidfd)
					// The child waits in open(2) on its stdin: let it go.
					if w, err := os.OpenFile(run.Stdin, os.O_WRONLY, 0); err == nil {
						w.Close()
					}
				}
				if ev.Type == Exec {
					ex = ev
				}
				if ev.Type == Exited {
					if !ev.Status.Exited() || ev.Status.ExitStatus() != 0 {
						t.Errorf("status %v", ev.Status)
					}
					break
				}
			}
			if !slices.Equal(types, tc.want) {
				t.Errorf("events %v, want %v", types, tc.want)
			}
			if ex == nil {
				var err error
				if ex, err = conn.RecvQuiet(); err != nil || ex == nil {
					t.Fatalf("the child's Exec: %v, %v", ex, err)
				}
			}
			if again, err := conn.RecvQuiet(); again != nil || err != nil {
				t.Errorf("a second message: %+v, %v", again, err)
			}
			data, _ := os.ReadFile(run.Stdout)
			printed, cgroups, _ := strings.Cut(string(data), "\n")
			if strconv.Itoa(ex.Pid) != printed {
				t.Errorf("Exec from pid %d, the program is %s", ex.Pid, printed)
			}
			if ex.Start < before || ex.Mono < ex.Start {
				t.Errorf("request sent at %v, child started at %v, exec'd at %v: out of order", before, ex.Start, ex.Mono)
			}
			if forked != nil && (forked.Start != ex.Start || forked.Pidfd < 0) {
				t.Errorf("Forked %+v: want the Exec's start, %v, and a pidfd", forked, ex.Start)
			}
			if want := ":pids:/" + filepath.Base(cg) + "\n"; !strings.Contains(cgroups, want) {
				t.Errorf("the program's cgroups:\n%s\nwant a line ending %q", cgroups, want)
			}
		})
	}
}

// joinCgroup makes a cgroup under hierarchy for the run to join, removed
// when the test ends, and returns its path.
func joinCgroup(t *testing.T, hierarchy string, run *Run) string {
	t.Helper()
	cg, err := os.MkdirTemp(hierarchy, "judgeinit-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Rmdir(cg) })
	tasks, err := os.OpenFile(filepath.Join(cg, "tasks"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	run.Join = []*os.File{tasks}
	return cg
}

func closeAllFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// eventAny makes recv accept any event.
const eventAny EventType = -1

// TestFIFORedirectStartsOverByFork: a child started in the init's memory
// that meets a FIFO at a redirection is started again by fork, so that
// the init, not held still by the child's blocking open, ends the run when
// its supervisor goes away.
func TestFIFORedirectStartsOverByFork(t *testing.T) {
	conn, cmd := startInit(t)
	fifo := filepath.Join(t.TempDir(), "in")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := conn.SendRun(&Run{Args: []string{"/bin/cat"}, Stdin: fifo}); err != nil {
		t.Fatal(err)
	}
	first := recv(t, conn, Ready)
	_ = conn.SendGo()
	second := recv(t, conn, Ready) // the same run, by fork
	if second.Pid == first.Pid {
		t.Fatalf("the second Ready is from the same child %d", first.Pid)
	}
	_ = conn.SendGo()
	// The child now waits in open(2) for a writer that never comes.
	time.Sleep(100 * time.Millisecond)
	conn.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the init did not end a run blocked on a FIFO once its supervisor left")
	}
}
