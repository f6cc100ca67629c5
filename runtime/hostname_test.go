package runtime

import (
	"fmt"
	"os"
	"os/exec"
	goruntime "runtime"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/runtime/proc"
)

// hostnameIn reads the host name in process pid's UTS namespace.
func hostnameIn(t *testing.T, pid int) string {
	t.Helper()
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/uts", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	got := make(chan string, 1)
	go func() {
		goruntime.LockOSThread() // never unlocked: the thread exits
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWUTS); err != nil {
			got <- "setns: " + err.Error()
			return
		}
		var u unix.Utsname
		_ = unix.Uname(&u)
		got <- unix.ByteSliceToString(u.Nodename[:])
	}()
	return <-got
}

// TestSetHostname: the name lands in the target's UTS namespace, the
// caller's stays as it was, and a pid that is not the process started
// then is refused.
func TestSetHostname(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: a UTS namespace of its own")
	}
	before, _ := os.Hostname()
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUTS}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pid := cmd.Process.Pid
	start, err := proc.StartTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ { // the thread goes back each time
		if err := SetHostname(pid, start, "box-7"); err != nil {
			t.Fatal(err)
		}
	}
	if got := hostnameIn(t, pid); got != "box-7" {
		t.Errorf("host name in the namespace %q, want box-7", got)
	}
	if after, _ := os.Hostname(); after != before {
		t.Errorf("the caller's host name changed from %q to %q", before, after)
	}
	if err := SetHostname(pid, start+1, "other"); err == nil {
		t.Error("a start time that does not match was accepted")
	}
}
