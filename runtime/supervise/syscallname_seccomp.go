//go:build cgo && seccomp

package supervise

import (
	"strconv"

	libseccomp "github.com/seccomp/libseccomp-golang"
)

// syscallName names a syscall number of an architecture ("amd64", "x86",
// "x32") from libseccomp's tables.
func syscallName(nr int, arch string) string {
	a, err := libseccomp.GetArchFromString(arch)
	if err == nil {
		if name, err := libseccomp.ScmpSyscall(nr).GetNameByArch(a); err == nil {
			return name
		}
	}
	return "syscall " + strconv.Itoa(nr)
}
