package runtime

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
)

// idsMu serialises whollyRoot: the ids it changes are the process's.
var idsMu sync.Mutex

// whollyRoot runs f with the real user and group ids made the effective
// ones, when this process runs set-user-ID or set-group-ID (a setuid
// front end), and puts them back after, so that the caller can still
// signal this process. libcontainer starts the container's init by
// running this binary again: a set-ID execution of it refuses that role
// (internal/reexec), lest a user who may run the setuid binary make it an
// init of their own.
func whollyRoot(f func() error) (err error) {
	idsMu.Lock()
	defer idsMu.Unlock()
	ruid, euid, rgid, egid := syscall.Getuid(), syscall.Geteuid(), syscall.Getgid(), syscall.Getegid()
	if ruid == euid && rgid == egid {
		return f()
	}
	// Both calls change every thread of the process.
	if err := syscall.Setresgid(egid, egid, -1); err != nil {
		return fmt.Errorf("set real gid %d: %w", egid, err)
	}
	if err := syscall.Setresuid(euid, euid, -1); err != nil {
		_ = syscall.Setresgid(rgid, egid, -1)
		return fmt.Errorf("set real uid %d: %w", euid, err)
	}
	defer func() {
		uerr := syscall.Setresuid(ruid, euid, -1)
		gerr := syscall.Setresgid(rgid, egid, -1)
		if uerr != nil || gerr != nil {
			err = errors.Join(err, fmt.Errorf("put back the real ids %d:%d: %w", ruid, rgid, errors.Join(uerr, gerr)))
		}
	}()
	return f()
}
