package supervise

import (
	"os"
	"runtime"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fileState is what a program can change on an open file description it
// shares with the caller: status flags (O_NONBLOCK, O_APPEND, O_ASYNC),
// the SIGIO owner and signal, and a terminal's modes and size. Those
// changes outlive the program and land on the judge's own stdin or
// terminal; the supervisor puts them back after the run.
type fileState struct {
	fd     int
	flags  int
	owner  fOwnerEx
	sig    int
	tty    bool
	termio unix.Termios
	size   unix.Winsize
}

// saveFiles records the state of the files handed to the program; nil
// entries, repeats (one file as stdin, stdout and stderr: one open file
// description) and files it cannot read are skipped.
func saveFiles(files []*os.File) []fileState {
	var out []fileState
	for i, f := range files {
		if f == nil || slices.Contains(files[:i], f) {
			continue
		}
		// Fd would switch a Go-polled file to blocking mode, itself a
		// change of the very flags saved here; SyscallConn does not.
		rc, err := f.SyscallConn()
		if err != nil {
			continue
		}
		_ = rc.Control(func(fd uintptr) {
			st, ok := readFileState(int(fd))
			if ok {
				out = append(out, st)
			}
		})
	}
	return out
}

func readFileState(fd int) (fileState, bool) {
	st := fileState{fd: -1}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return st, false
	}
	// A duplicate: restoring later must not depend on the caller keeping
	// its *os.File open, and must not touch an fd number it reused.
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return st, false
	}
	st.fd, st.flags = dup, flags
	_ = getOwnerEx(dup, &st.owner)
	st.sig, _ = unix.FcntlInt(uintptr(dup), unix.F_GETSIG, 0)
	if t, err := unix.IoctlGetTermios(dup, unix.TCGETS); err == nil {
		st.tty, st.termio = true, *t
		if w, err := unix.IoctlGetWinsize(dup, unix.TIOCGWINSZ); err == nil {
			st.size = *w
		}
	}
	return st, true
}

// restoreFiles puts the recorded state back and closes the duplicates.
func restoreFiles(list []fileState) {
	for _, st := range list {
		// Only the flags F_SETFL can change; the access mode stays.
		const settable = unix.O_APPEND | unix.O_ASYNC | unix.O_DIRECT | unix.O_NOATIME | unix.O_NONBLOCK
		if cur, err := unix.FcntlInt(uintptr(st.fd), unix.F_GETFL, 0); err == nil && cur&settable != st.flags&settable {
			_, _ = unix.FcntlInt(uintptr(st.fd), unix.F_SETFL, st.flags&settable)
		}
		_ = setOwnerEx(st.fd, &st.owner)
		_, _ = unix.FcntlInt(uintptr(st.fd), unix.F_SETSIG, st.sig)
		if st.tty {
			restoreTerminal(&st)
		}
		unix.Close(st.fd)
	}
}

// restoreTerminal puts back a terminal's modes and size, when they
// changed. A process in a background group of the terminal's session (a
// judge run as a background job) that sets them is stopped by SIGTTOU,
// unless it blocks the signal: this thread blocks it meanwhile.
func restoreTerminal(st *fileState) {
	t, err := unix.IoctlGetTermios(st.fd, unix.TCGETS)
	modes := err == nil && *t != st.termio
	w, err := unix.IoctlGetWinsize(st.fd, unix.TIOCGWINSZ)
	size := err == nil && *w != st.size
	if !modes && !size {
		return
	}
	// Unrestored is better than stopped, if it cannot be blocked.
	_ = withoutSIGTTOU(func() {
		if modes {
			_ = unix.IoctlSetTermios(st.fd, unix.TCSETS, &st.termio)
		}
		if size {
			_ = unix.IoctlSetWinsize(st.fd, unix.TIOCSWINSZ, &st.size)
		}
	})
}

// withoutSIGTTOU runs fn on a thread that blocks SIGTTOU meanwhile, so
// that fn may set a terminal's attributes from a background group. It
// does not run fn when the signal cannot be blocked.
func withoutSIGTTOU(fn func()) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var ttou, old unix.Sigset_t
	ttou.Val[(unix.SIGTTOU-1)/64] |= 1 << ((uint(unix.SIGTTOU) - 1) % 64)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &ttou, &old); err != nil {
		return err
	}
	defer func() { _ = unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil) }()
	fn()
	return nil
}

// fOwnerEx is struct f_owner_ex.
type fOwnerEx struct {
	Type int32
	Pid  int32
}

func getOwnerEx(fd int, o *fOwnerEx) error {
	return fcntlOwner(fd, unix.F_GETOWN_EX, o)
}

func setOwnerEx(fd int, o *fOwnerEx) error {
	return fcntlOwner(fd, unix.F_SETOWN_EX, o)
}

func fcntlOwner(fd, cmd int, o *fOwnerEx) error {
	if _, _, e := unix.Syscall(unix.SYS_FCNTL, uintptr(fd), uintptr(cmd), uintptr(unsafe.Pointer(o))); e != 0 {
		return e
	}
	return nil
}
