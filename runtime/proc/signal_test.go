package proc

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// child is a process that runs until killed; Cleanup reaps it.
type child struct {
	pid  int
	cmd  *exec.Cmd
	done chan struct{} // closed once reaped
}

func sleeper(t *testing.T) *child {
	t.Helper()
	cmd := exec.Command("/bin/sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{pid: cmd.Process.Pid, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.done
	})
	return c
}

// killed reports whether SIGKILL ended the child within a moment.
func (c *child) killed() bool {
	select {
	case <-c.done:
		ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
		return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
	case <-time.After(200 * time.Millisecond):
		return false
	}
}

// otherThread returns the tid of one of this process's threads that is
// not its leader, held until the test ends: pidfd_open refuses it.
func otherThread(t *testing.T) int {
	t.Helper()
	for range 10 {
		tids, release := make(chan int), make(chan struct{})
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with it
			tids <- unix.Gettid()
			<-release
		}()
		tid := <-tids
		t.Cleanup(func() { close(release) })
		if tid != os.Getpid() {
			return tid
		}
	}
	t.Fatal("no thread besides the leader")
	return 0
}

// errAny matches any error.
var errAny = errors.New("any error")

// TestSignalListed: real children, listings that change between the
// first read and the one after the pidfds are open.
func TestSignalListed(t *testing.T) {
	errList := errors.New("cgroup gone")
	thread := otherThread(t)
	withThread := func(pid int) []int { return []int{thread, pid} }
	for _, tc := range []struct {
		name string
		// first and again build the two listings from the child's pid.
		first, again func(pid int) []int
		againErr     error
		wantListed   int
		wantKilled   bool
		wantErr      error // nil: none; errAny: some
	}{
		{"listed both times", one, one, nil, 1, true, nil},
		// Listed, so a caller goes on: it may have forked and exited.
		{"gone from the second listing", one, none, nil, 1, false, nil},
		{"not in the first listing", none, one, nil, 0, false, nil},
		{"0 and negatives dropped", withBogus, withBogus, nil, 1, true, nil},
		{"listed twice, counted once", twice, twice, nil, 1, true, nil},
		{"beyond one batch of pidfds", afterUnused, afterUnused, nil, maxOpen + 11, true, nil},
		// EINVAL, or ENOENT on newer kernels such as 6.18.
		{"one refused, the others signalled", withThread, withThread, nil, 2, true, errAny},
		{"second listing fails", one, one, errList, 1, false, errList},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := sleeper(t)
			reads := 0
			list := func() ([]int, error) {
				reads++
				if reads == 1 {
					return tc.first(c.pid), nil
				}
				return tc.again(c.pid), tc.againErr
			}
			listed, err := SignalListed(list, unix.SIGKILL)
			if listed != tc.wantListed || (err == nil) != (tc.wantErr == nil) || (tc.wantErr != errAny && !errors.Is(err, tc.wantErr)) {
				t.Errorf("SignalListed = %d, %v; want %d, %v", listed, err, tc.wantListed, tc.wantErr)
			}
			if got := c.killed(); got != tc.wantKilled {
				t.Errorf("child killed: %v, want %v", got, tc.wantKilled)
			}
		})
	}
}

// TestSignalListedReaped: a listed pid whose process is gone by the time
// it is opened is skipped without an error. The second listing names
// nothing, so a process that took the pid meanwhile is never signalled.
func TestSignalListedReaped(t *testing.T) {
	cmd := exec.Command("/bin/true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	reads := 0
	list := func() ([]int, error) {
		if reads++; reads == 1 {
			return []int{cmd.Process.Pid}, nil
		}
		return nil, nil
	}
	if listed, err := SignalListed(list, unix.SIGKILL); listed != 1 || err != nil {
		t.Errorf("SignalListed of a reaped pid = %d, %v", listed, err)
	}
}

// TestKillListed: rounds go on while the listing names anything, and end
// with the listing's error or, past the bound, ErrProcessesLeft.
func TestKillListed(t *testing.T) {
	errList := errors.New("cgroup gone")
	thread := otherThread(t)
	c := sleeper(t)
	// The child is listed until it has been reaped, as in a cgroup.
	untilReaped := func() ([]int, error) {
		select {
		case <-c.done:
			return nil, nil
		default:
			return []int{c.pid}, nil
		}
	}
	for _, tc := range []struct {
		name string
		list func() ([]int, error)
		want error
	}{
		{"emptied", untilReaped, nil},
		{"never emptied", func() ([]int, error) { return []int{thread}, nil }, ErrProcessesLeft},
		{"listing fails", func() ([]int, error) { return nil, errList }, errList},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := KillListed(tc.list, time.Millisecond); !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Errorf("KillListed = %v, want %v", err, tc.want)
			}
		})
	}
	if !c.killed() {
		t.Error("the listed child was not killed")
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
