package judged

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
	"github.com/mini-isolate/mini-isolate/runtime/judgeinit"
	"github.com/mini-isolate/mini-isolate/runtime/meta"
	"github.com/mini-isolate/mini-isolate/runtime/proc"
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
	supFdLock
	supFdOutR
	supFdErrR
	supFdOutDst
	supFdErrDst
)

// Spawn starts the detached supervisor, `mini-isolate ARGS...` (the
// runtime's global flags and `supervise ID`), as a process of its own in a
// session of its own, so that supervision goes on after create exits, and
// waits until it supervises.
//
// The supervisor inherits a lock on the container's state directory,
// taken here before it exists, and holds it until it exits: delete waits
// on the lock, so even a supervisor whose create died before it was ready
// is waited for.
func Spawn(s *Setup, stateDir string, args []string, stdout, stderr *os.File) error {
	lock, err := lockDir(stateDir)
	switch {
	case errors.Is(err, hostfile.ErrLocked):
		return fmt.Errorf("start supervisor: state directory %s is locked: is a delete under way?", stateDir)
	case err != nil:
		// Only the wait in delete depends on the lock.
		logrus.Warnf("start supervisor: %v: delete will not wait for it", err)
	}
	defer lock.Close()
	sock, err := s.Conn.File()
	if err != nil {
		return fmt.Errorf("start supervisor: %w", err)
	}
	defer sock.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("start supervisor: %w", err)
	}
	defer readyR.Close()
	files := []*os.File{sock, readyW, lock}
	if s.State.Capture() {
		files = append(files, s.OutR, s.ErrR, stdout, stderr)
	}
	cmd := exec.Command("/proc/self/exe", args...)
	cmd.Args[0] = os.Args[0]
	cmd.ExtraFiles = files
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		readyW.Close()
		return fmt.Errorf("start supervisor: %w", err)
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
			return fmt.Errorf("supervisor: %s", m)
		}
	case <-time.After(30 * time.Second):
		_ = unix.Kill(pid, unix.SIGKILL)
		return errors.New("supervisor did not get ready within 30s")
	}
	return nil
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

// CloseInheritedOnExec marks the files Spawn passed close-on-exec, first
// thing in the supervisor: whatever it might start must not hold them, the
// state directory's lock least of all, which is held until exit.
func CloseInheritedOnExec() {
	for fd := supFdSocket; fd <= supFdErrDst; fd++ {
		unix.CloseOnExec(fd)
	}
}

// supervisorName holds the detached supervisor's pid and start time in
// the container's state directory.
const supervisorName = "supervisor"

// RecordSupervisor writes this process's pid and start time to the state
// directory, through the descriptor Spawn passed when there is one, for
// WaitSupervisor to kill a supervisor that outstays its wait.
func RecordSupervisor(stateDir string) error {
	start, err := proc.StartTime(os.Getpid())
	if err != nil {
		return fmt.Errorf("record supervisor: %w", err)
	}
	data := []byte(fmt.Sprintf("%d %d\n", os.Getpid(), start))
	var st unix.Stat_t
	if unix.Fstat(supFdLock, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		err = hostfile.WriteIn(supFdLock, supervisorName, data, 0o600)
	} else {
		err = hostfile.Write(filepath.Join(stateDir, supervisorName), data, 0o600)
	}
	if err != nil {
		return fmt.Errorf("record supervisor: %w", err)
	}
	return nil
}

// killSupervisor kills the supervisor RecordSupervisor recorded in
// stateDir, if it still runs, and waits up to a second for it to go.
func killSupervisor(stateDir string) error {
	data, err := os.ReadFile(filepath.Join(stateDir, supervisorName))
	if err != nil {
		return err
	}
	var pid int
	var start uint64
	if _, err := fmt.Sscan(string(data), &pid, &start); err != nil {
		return fmt.Errorf("%s: %w", supervisorName, err)
	}
	fd, err := proc.Open(pid, start)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil {
		return err
	}
	if !proc.Exited(fd, time.Second) {
		return fmt.Errorf("process %d: still there a second after SIGKILL", pid)
	}
	return nil
}

// WaitSupervisor gives a detached supervisor time, up to 5 s, to file its
// report before the container's cgroups and state go away: it waits until
// no supervisor holds the lock on stateDir. A supervisor still there then
// is killed: once the container is gone, its late report, or its kill of
// the run's cgroup, would land on a new container of the same id.
func WaitSupervisor(stateDir string) {
	f, err := openDir(stateDir)
	if err != nil {
		return
	}
	defer f.Close()
	wait, deadline := time.Millisecond, time.Now().Add(5*time.Second)
	for {
		if err := hostfile.Lock(f, false); !errors.Is(err, hostfile.ErrLocked) {
			return
		}
		if time.Now().After(deadline) {
			id := filepath.Base(stateDir)
			if err := killSupervisor(stateDir); err != nil {
				logrus.Warnf("%s: the supervisor has not finished after 5s, and could not be killed: %v; deleting anyway", id, err)
			} else {
				logrus.Warnf("%s: the supervisor had not finished after 5s: killed it", id)
			}
			return
		}
		time.Sleep(wait)
		wait = min(2*wait, 10*time.Millisecond)
	}
}

// lockDir opens a container's state directory and flocks it exclusively,
// without waiting.
func lockDir(dir string) (*os.File, error) {
	f, err := openDir(dir)
	if err != nil {
		return nil, err
	}
	if err := hostfile.Lock(f, false); err != nil {
		f.Close()
		if errors.Is(err, hostfile.ErrLocked) {
			err = fmt.Errorf("%s: %w", dir, err)
		}
		return nil, err
	}
	return f, nil
}

// openDir opens a container's state directory, to flock: an O_PATH
// descriptor cannot be locked.
func openDir(dir string) (*os.File, error) {
	return os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
}
