//go:build !cgo || !seccomp

package supervise

import "strconv"

// syscallName gives the number: without libseccomp there is no table.
func syscallName(nr int, _ string) string {
	return "syscall " + strconv.Itoa(nr)
}
