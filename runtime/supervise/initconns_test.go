package supervise

import (
	"errors"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/runtime/proc"
)

// TestInitConnsPidfds: the pidfds kept for inits follow the real process,
// a sleep standing in for an init, through its life and its death, kept
// or not.
func TestInitConnsPidfds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		conns *InitConns
	}{
		{"kept", NewInitConns()},
		{"nil keeps nothing", nil},
		{"closed keeps nothing", func() *InitConns { p := NewInitConns(); p.Close(); return p }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("sleep", "60")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
			start, err := proc.StartTime(cmd.Process.Pid)
			if err != nil {
				t.Fatal(err)
			}
			target := &Target{InitPid: cmd.Process.Pid, InitStart: start}
			for i := 0; i < 2; i++ { // opened, then from what was kept
				fd, err := tc.conns.OpenInit(target)
				if err != nil {
					t.Fatalf("OpenInit %d: %v", i, err)
				}
				if err := unix.PidfdSendSignal(fd, 0, nil, 0); err != nil {
					t.Errorf("OpenInit %d gave fd %d, not a pidfd of the process: %v", i, fd, err)
				}
				unix.Close(fd)
				if !tc.conns.Alive(target) {
					t.Errorf("Alive %d: false for a live process", i)
				}
			}
			switch {
			case tc.conns == nil:
			case tc.conns.closed:
				if n := len(tc.conns.pidfds); n != 0 {
					t.Errorf("%d pidfds kept once closed, want 0", n)
				}
			default:
				if n := len(tc.conns.pidfds); n != 1 {
					t.Errorf("%d pidfds kept, want 1", n)
				}
				// The kept pidfd answers, not /proc: under an identity
				// whose start time /proc would refuse, it is still alive.
				fd, _ := tc.conns.OpenInit(target)
				planted := &Target{InitPid: target.InitPid, InitStart: start + 1}
				tc.conns.pidfds[initID{planted.InitPid, planted.InitStart}] = fd
				if !tc.conns.Alive(planted) {
					t.Error("Alive did not answer from the kept pidfd")
				}
			}
			if _, err := tc.conns.OpenInit(&Target{InitPid: cmd.Process.Pid, InitStart: start + 2}); err == nil {
				t.Error("OpenInit accepted a start time that is not the process's")
			}
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			fd, err := tc.conns.OpenInit(target)
			if err == nil {
				unix.Close(fd)
				t.Fatal("OpenInit: no error once the process was reaped")
			}
			if tc.conns != nil && !tc.conns.closed && !errors.Is(err, errInitGone) {
				t.Errorf("OpenInit of a kept pidfd whose process is gone: %v, want errInitGone", err)
			}
			if tc.conns != nil && len(tc.conns.pidfds) > 1 {
				t.Errorf("%d pidfds still kept for a process gone", len(tc.conns.pidfds))
			}
			if tc.conns.Alive(target) {
				t.Error("Alive: true once the process was reaped")
			}
		})
	}
}
