package hostfile

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// ErrLocked is what Lock returns, without waiting, when another open file
// description holds the lock.
var ErrLocked = errors.New("locked by another process")

// Lock takes an exclusive flock on f: at once or ErrLocked, unless wait,
// when it waits for the holder to let go. A wait that a signal interrupts
// goes on: Go's handlers restart it, and a handler without SA_RESTART
// (a cgo library's) would end it with EINTR.
func Lock(f *os.File, wait bool) error {
	how := unix.LOCK_EX
	if !wait {
		how |= unix.LOCK_NB
	}
	for {
		err := unix.Flock(int(f.Fd()), how)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EWOULDBLOCK):
			return ErrLocked
		case !errors.Is(err, unix.EINTR):
			return &os.PathError{Op: "flock", Path: f.Name(), Err: err}
		}
	}
}
