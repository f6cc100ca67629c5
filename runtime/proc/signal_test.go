package proc

import (
	"errors"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// sleeper starts a child that runs until killed, and reaps it at the end.
func sleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("/bin/sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// reaped returns the pid of a child that has exited and been reaped.
func reaped(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("/bin/true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// killedBySignal waits for cmd and reports whether SIGKILL ended it.
func killedBySignal(t *testing.T, cmd *exec.Cmd) bool {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
		return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
	case <-time.After(200 * time.Millisecond):
		return false
	}
}

// TestSignalListed: real children, listings that change between the
// first read and the one after the pidfds are open.
func TestSignalListed(t *testing.T) {
	errList := errors.New("cgroup gone")
	for _, tc := range []struct {
		name string
		// first and again build the two listings from the child's pid.
		first, again func(pid int) []int
		againErr     error
		wantN        int
		wantKilled   bool
		wantErr      error
	}{
		{"listed both times", one, one, nil, 1, true, nil},
		{"gone from the second listing", one, none, nil, 0, false, nil},
		{"not in the first listing", none, one, nil, 0, false, nil},
		{"0 and negatives dropped", withBogus, withBogus, nil, 1, true, nil},
		{"listed twice, signalled once", twice, twice, nil, 1, true, nil},
		{"beyond one batch of pidfds", afterUnused, afterUnused, nil, 1, true, nil},
		{"second listing fails", one, one, errList, 0, false, errList},
	} {
		t.Run(tc.name, func(t *testing.T) {
			child := sleeper(t)
			pid := child.Process.Pid
			reads := 0
			list := func() ([]int, error) {
				reads++
				if reads == 1 {
					return tc.first(pid), nil
				}
				return tc.again(pid), tc.againErr
			}
			n, err := SignalListed(list, unix.SIGKILL)
			if n != tc.wantN || !errors.Is(err, tc.wantErr) {
				t.Errorf("SignalListed = %d, %v; want %d, %v", n, err, tc.wantN, tc.wantErr)
			}
			if got := killedBySignal(t, child); got != tc.wantKilled {
				t.Errorf("child killed: %v, want %v", got, tc.wantKilled)
			}
		})
	}
}

// TestSignalListedReaped: a listed pid whose process is gone by the time
// it is opened is skipped without an error.
func TestSignalListedReaped(t *testing.T) {
	gone := reaped(t)
	n, err := SignalListed(func() ([]int, error) { return []int{gone}, nil }, unix.SIGKILL)
	if n != 0 || err != nil {
		t.Errorf("SignalListed of a reaped pid = %d, %v", n, err)
	}
}

func one(pid int) []int       { return []int{pid} }
func none(int) []int          { return nil }
func twice(pid int) []int     { return []int{pid, pid} }
func withBogus(pid int) []int { return []int{0, -1, pid, 0} }

// afterUnused puts the pid after a full batch of pids no process has.
func afterUnused(pid int) []int {
	var pids []int
	for i := 0; i < maxOpen+10; i++ {
		pids = append(pids, 1<<30-i)
	}
	return append(pids, pid)
}
