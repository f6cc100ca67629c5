package hostfile

import (
	"fmt"
	goruntime "runtime"

	"golang.org/x/sys/unix"
)

// WithUmask runs fn with umask mask on a thread of its own. The umask is
// the process's, shared by every goroutine: setting it around a bind or a
// mkdir would change the modes of what other goroutines create meanwhile
// (a box's root directory made 0600 by another box's 0177 has been seen),
// and two such calls at once can leave the wrong mask behind for good.
func WithUmask(mask int, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		goruntime.LockOSThread() // never unlocked: the thread dies with us
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			done <- fmt.Errorf("umask: unshare: %w", err)
			return
		}
		unix.Umask(mask)
		done <- fn()
	}()
	return <-done
}
