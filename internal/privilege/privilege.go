// Package privilege tells whether exec raised this process's privileges
// above its caller's, which decides what the caller may ask of it.
package privilege

import "golang.org/x/sys/unix"

// atSecure is AT_SECURE from <elf.h>.
const atSecure = 23

// RaisedByExec says whether the kernel marked this execution secure: the
// file was set-user-ID or set-group-ID, or had file capabilities, and gave
// the caller ids or capabilities it did not have. An auxiliary vector that
// cannot be read counts as raised.
func RaisedByExec() bool {
	auxv, err := unix.Auxv()
	if err != nil {
		return true
	}
	for _, e := range auxv {
		if e[0] == atSecure {
			return e[1] != 0
		}
	}
	return false
}
