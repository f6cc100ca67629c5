package supervise

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func openPty(t *testing.T) *os.File {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ttyState(t *testing.T, fd int) string {
	t.Helper()
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	w, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
	if err != nil {
		t.Fatal(err)
	}
	fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	sig, _ := unix.FcntlInt(uintptr(fd), unix.F_GETSIG, 0)
	return fmt.Sprintf("lflag %#o iflag %#o size %dx%d flags %#o sig %d", tio.Lflag, tio.Iflag, w.Row, w.Col, fl, sig)
}

// TestRestoreFiles changes a terminal the way a program can (raw mode,
// size, status flags, SIGIO signal) through another fd of the same open
// file description, then checks that restoring undoes all of it.
func TestRestoreFiles(t *testing.T) {
	tty := openPty(t)
	// As stdin, stdout and stderr: one open file description, saved once.
	saved := saveFiles([]*os.File{nil, tty, tty, tty})
	if len(saved) != 1 || !saved[0].tty {
		t.Fatalf("saved %+v, want one terminal", saved)
	}
	before := ttyState(t, int(tty.Fd()))

	prog, err := unix.Dup(int(tty.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(prog)
	tio, _ := unix.IoctlGetTermios(prog, unix.TCGETS)
	tio.Lflag &^= unix.ECHO | unix.ICANON | unix.ISIG
	tio.Iflag |= unix.IXOFF
	if err := unix.IoctlSetTermios(prog, unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(prog, unix.TIOCSWINSZ, &unix.Winsize{Row: 3, Col: 7}); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.FcntlInt(uintptr(prog), unix.F_SETFL, unix.O_NONBLOCK|unix.O_APPEND); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.FcntlInt(uintptr(prog), unix.F_SETSIG, int(unix.SIGUSR1)); err != nil {
		t.Fatal(err)
	}
	if changed := ttyState(t, int(tty.Fd())); changed == before {
		t.Fatalf("the changes did not take: %s", changed)
	}

	restoreFiles(saved)
	if after := ttyState(t, int(tty.Fd())); after != before {
		t.Errorf("after restoring: %s, want %s", after, before)
	}
	// The duplicate taken for restoring is closed.
	if _, err := unix.FcntlInt(uintptr(saved[0].fd), unix.F_GETFD, 0); err == nil && saved[0].fd != int(tty.Fd()) && saved[0].fd != prog {
		t.Errorf("fd %d is still open", saved[0].fd)
	}
}

// ttouStage tells the processes of TestRestoreFilesInBackground apart.
const ttouStage = "MINI_ISOLATE_TEST_TTOU"

// TestRestoreFilesInBackground: a judge run as a background job, whose
// terminal a program changed, puts it back without being stopped by
// SIGTTOU. A child, session leader of a pseudo-terminal and its
// foreground group, starts the judge in a group of its own (a background
// job); that saves the terminal, changes it as a program would, and
// restores it. The child reports whether it was stopped.
func TestRestoreFilesInBackground(t *testing.T) {
	switch os.Getenv(ttouStage) {
	case "leader":
		leadSession(t)
		return
	case "judge":
		backgroundRestore(t)
		return
	}
	tty := openPty(t)
	out, err := ttouStep("leader", tty, &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 3})
	if err != nil || !strings.Contains(out, "restored") {
		t.Fatalf("%v\n%s", err, out)
	}
}

// ttouStep runs stage of the test in a process of its own, with tty as
// its fd 3, and returns its output.
func ttouStep(stage string, tty *os.File, attr *syscall.SysProcAttr) (string, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestRestoreFilesInBackground$", "-test.v")
	cmd.Env = append(os.Environ(), ttouStage+"="+stage)
	cmd.ExtraFiles = []*os.File{tty}
	cmd.SysProcAttr = attr
	// A file, not a buffer: the process is reaped below without Wait,
	// which is what waits for a buffer's copying.
	out, err := os.CreateTemp("", "ttou-")
	if err != nil {
		return "", err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	var ws syscall.WaitStatus
	_, err = syscall.Wait4(cmd.Process.Pid, &ws, syscall.WUNTRACED, nil)
	switch {
	case err != nil:
	case ws.Stopped():
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		err = fmt.Errorf("%s: %v", stage, ws.StopSignal()) // "stopped (tty output)"
	case !ws.Exited() || ws.ExitStatus() != 0:
		err = fmt.Errorf("%s: %v", stage, ws)
	}
	data, _ := os.ReadFile(out.Name())
	return string(data), err
}

// leadSession is the session leader: it starts the judge in a background
// group, which is not orphaned (its parent is in the session, in another
// group), so a terminal change there raises SIGTTOU.
func leadSession(t *testing.T) {
	out, err := ttouStep("judge", os.NewFile(3, "tty"), &syscall.SysProcAttr{Setpgid: true})
	fmt.Print(out)
	if err != nil {
		t.Fatal(err)
	}
}

// backgroundRestore is the judge, in a background group of the terminal
// on fd 3.
func backgroundRestore(t *testing.T) {
	saved := saveFiles([]*os.File{os.NewFile(3, "tty")})
	before := ttyState(t, 3)
	// The program's change, with SIGTTOU blocked: the program is not in
	// the terminal's session.
	var err error
	if berr := withoutSIGTTOU(func() {
		var tio *unix.Termios
		if tio, err = unix.IoctlGetTermios(3, unix.TCGETS); err == nil {
			tio.Lflag &^= unix.ECHO | unix.ICANON
			err = unix.IoctlSetTermios(3, unix.TCSETS, tio)
		}
	}); berr != nil || err != nil {
		t.Fatal(berr, err)
	}
	if ttyState(t, 3) == before {
		t.Fatal("the change did not take")
	}
	restoreFiles(saved)
	if after := ttyState(t, 3); after != before {
		t.Fatalf("after restoring: %s, want %s", after, before)
	}
	fmt.Println("restored")
}
