package supervise

import (
	"fmt"
	"os"
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
