//go:build cgo && seccomp

package supervise

import "testing"

func TestSyscallName(t *testing.T) {
	for _, tc := range []struct {
		nr         int
		arch, want string
	}{
		{20, "x86", "getpid"},
		{39, "amd64", "getpid"},
		{39, "x32", "getpid"},
		{99999, "amd64", "syscall 99999"},
	} {
		if got := syscallName(tc.nr, tc.arch); got != tc.want {
			t.Errorf("syscallName(%d, %s) = %q, want %q", tc.nr, tc.arch, got, tc.want)
		}
	}
}
