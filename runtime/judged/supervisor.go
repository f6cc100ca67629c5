package judged

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/runtime/judgeinit"
	"github.com/mini-isolate/mini-isolate/runtime/meta"
	"github.com/mini-isolate/mini-isolate/runtime/supervise"
)

// Config is the supervisor's configuration of a judged container.
func (s *State) Config(t supervise.Target) supervise.Config {
	return supervise.Config{Target: t, Limits: s.Limits, Run: s.Run, CPUs: s.CPUs}
}

// Foreground supervises a judged run from this process; stdout and stderr
// receive what the program writes when the supervisor captures it.
func Foreground(s *Setup, t supervise.Target, stdout, stderr io.Writer) (*supervise.Supervisor, error) {
	cfg := s.State.Config(t)
	if s.State.Capture() {
		cfg.Output = supervise.NewCapture(int64(s.State.Limits.Output),
			supervise.Stream{Dst: stdout, Src: s.OutR}, supervise.Stream{Dst: stderr, Src: s.ErrR})
		s.OutR, s.ErrR = nil, nil
	}
	return supervise.Start(s.Conn, cfg)
}

// Extra files of the detached supervisor process, in this order.
const (
	supFdSocket = 3 + iota
	supFdReady
	supFdOutR
	supFdErrR
	supFdOutDst
	supFdErrDst
)

// Spawn starts the detached supervisor, `mini-isolate ARGS...` (the
// runtime's global flags and `supervise ID`), as a process of its own in a
// session of its own, so that supervision goes on after create exits, and
// waits until it supervises. It returns its pid.
func Spawn(s *Setup, args []string, stdout, stderr *os.File) (int, error) {
	sock, err := s.Conn.File()
	if err != nil {
		return 0, err
	}
	defer sock.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer readyR.Close()
	files := []*os.File{sock, readyW}
	if s.State.Capture() {
		files = append(files, s.OutR, s.ErrR, stdout, stderr)
	}
	cmd := exec.Command("/proc/self/exe", args...)
	cmd.Args[0] = os.Args[0]
	cmd.ExtraFiles = files
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		readyW.Close()
		return 0, fmt.Errorf("start supervisor: %w", err)
	}
	readyW.Close()
	pid := cmd.Process.Pid
	// Not waited for: it outlives us and is reaped by whoever inherits it.
	_ = cmd.Process.Release()

	msg := make(chan string, 1)
	go func() {
		data, _ := io.ReadAll(io.LimitReader(readyR, 4096))
		msg <- strings.TrimSpace(string(data))
	}()
	select {
	case m := <-msg:
		if m != "ok" {
			if m == "" {
				m = "supervisor exited before it was ready"
			}
			return 0, fmt.Errorf("supervisor: %s", m)
		}
	case <-time.After(30 * time.Second):
		_ = unix.Kill(pid, unix.SIGKILL)
		return 0, errors.New("supervisor did not get ready within 30s")
	}
	return pid, nil
}

// Detached is the body of the detached supervisor that Spawn started: it
// takes the socket and streams Spawn passed, tells Spawn it supervises,
// and returns the report once the run is over. A setup error goes to Spawn
// instead.
func Detached(ctx context.Context, st *State, t supervise.Target, setupErr error) (*meta.Result, error) {
	ready := os.NewFile(supFdReady, "ready")
	fail := func(err error) (*meta.Result, error) {
		fmt.Fprintln(ready, err.Error())
		ready.Close()
		return nil, err
	}
	if setupErr != nil {
		return fail(setupErr)
	}
	cfg := st.Config(t)
	sockFile := os.NewFile(supFdSocket, "judge-socket")
	conn, err := judgeinit.FileConn(sockFile)
	sockFile.Close()
	if err != nil {
		return fail(err)
	}
	defer conn.Close()
	if st.Capture() {
		cfg.Output = supervise.NewCapture(int64(st.Limits.Output),
			supervise.Stream{Dst: os.NewFile(supFdOutDst, "stdout"), Src: os.NewFile(supFdOutR, "program-stdout")},
			supervise.Stream{Dst: os.NewFile(supFdErrDst, "stderr"), Src: os.NewFile(supFdErrR, "program-stderr")})
	}
	sup, err := supervise.Start(conn, cfg)
	if err != nil {
		return fail(err)
	}
	defer sup.Close()
	fmt.Fprintln(ready, "ok")
	ready.Close()
	return sup.Wait(ctx), nil
}

// WaitSupervisor gives a detached supervisor time to file its report
// before the container's cgroups and state go away.
func WaitSupervisor(st *State) {
	if st == nil || st.SupervisorPid <= 0 {
		return
	}
	pid := st.SupervisorPid
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	// The pid may have been reused since: only wait for our supervisor.
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if !strings.Contains(string(cmdline), "\x00supervise\x00") {
		return
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		n, err := unix.Poll(fds, int(time.Until(deadline).Milliseconds())+1)
		if n > 0 || (err != nil && !errors.Is(err, unix.EINTR)) {
			return
		}
	}
}
