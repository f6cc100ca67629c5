package supervise

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/runtime/judgeinit"
	"github.com/mini-isolate/mini-isolate/runtime/meta"
)

// pidsOnly is a run cgroup in the v1 pids hierarchy alone: enough for a
// joined child (it writes to its tasks file) and for the kill, with no
// accounting.
type pidsOnly struct{ d string }

func (p *pidsOnly) setLimits(int64, int64) error { return nil }
func (p *pidsOnly) joinFiles() ([]*os.File, error) {
	f, err := os.OpenFile(filepath.Join(p.d, "tasks"), os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	return []*os.File{f}, nil
}
func (p *pidsOnly) add(int) error               { return nil }
func (p *pidsOnly) cpu() (time.Duration, error) { return 0, nil }
func (p *pidsOnly) prefetch()                   {}
func (p *pidsOnly) preopen()                    {}
func (p *pidsOnly) final() (accounting, error)  { return accounting{}, nil }
func (p *pidsOnly) samplesPeaks() bool          { return false }
func (p *pidsOnly) sample()                     {}
func (p *pidsOnly) kill()                       { killAll(p.d) }
func (p *pidsOnly) remove() error               { return nil }
func (p *pidsOnly) release()                    {}
func (p *pidsOnly) dir() string                 { return p.d }

// TestJoinedRunKills: a joined child's Exec is read on demand, yet a run
// killed before the child joined its cgroup ends at once without killing
// the init, and the wall limit counts from the exec, whether the child
// was started in the init's memory or by fork (a FIFO stdin), and however
// late the caller waits.
func TestJoinedRunKills(t *testing.T) {
	const pids = "/sys/fs/cgroup/pids"
	var sfs unix.Statfs_t
	if os.Geteuid() != 0 || unix.Statfs(pids, &sfs) != nil || sfs.Type != unix.CGROUP_SUPER_MAGIC {
		t.Skip("needs root and a cgroup v1 pids hierarchy: joined runs serve v1 only")
	}
	const wall = 300 * time.Millisecond
	for _, tc := range []struct {
		name     string
		wall     time.Duration
		fifo     bool
		late     time.Duration // between the request and Wait
		canceled bool          // ctx cancelled before Wait
	}{
		{"cancelled before the child joins", 0, false, 0, true},
		{"wall limit, in the init's memory", wall, false, 0, false},
		{"wall limit, by fork", wall, true, 0, false},
		{"wall limit, waited for late", wall, false, 150 * time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := judgeinit.Run{Args: []string{"/bin/sleep", "5"}}
			if tc.fifo {
				run.Stdin = filepath.Join(t.TempDir(), "in")
				if err := unix.Mkfifo(run.Stdin, 0o600); err != nil {
					t.Fatal(err)
				}
				// A writer that comes at once and stays: the child execs.
				go func() {
					if f, err := os.OpenFile(run.Stdin, os.O_WRONLY, 0); err == nil {
						time.Sleep(10 * time.Second)
						f.Close()
					}
				}()
			}
			s := startJoined(t, run, policy.Limits{WallTime: policy.Duration(tc.wall)})
			time.Sleep(tc.late)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.canceled {
				cancel()
			}
			t0 := time.Now()
			res := s.Wait(ctx)
			took := time.Since(t0)
			if s.initKilled {
				t.Errorf("the init was killed (Wait took %v): the cgroup kill missed the child", took)
			}
			if tc.canceled {
				if took > killGrace/2 {
					t.Errorf("Wait took %v after a cancel", took)
				}
				return
			}
			if res.Status != meta.TimedOut || res.TimeWall < tc.wall || res.TimeWall > tc.wall+40*time.Millisecond {
				t.Errorf("status %s, wall time %v: want %s within 40 ms past %v", res.Status, res.TimeWall, meta.TimedOut, tc.wall)
			}
		})
	}
}

// startJoined starts run in a fresh judge init, the child joining a run
// cgroup of its own in the pids hierarchy, as Start does.
func startJoined(t *testing.T, run judgeinit.Run, lim policy.Limits) *Supervisor {
	t.Helper()
	conn, ct, err := judgeinit.NewPair()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/proc/self/exe", judgeinit.Arg, "3")
	cmd.ExtraFiles = []*os.File{ct}
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ct.Close()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); conn.Close() })
	dir, err := os.MkdirTemp("/sys/fs/cgroup/pids", "supervise-test-")
	if err != nil {
		t.Fatal(err)
	}
	cg := &pidsOnly{dir}
	t.Cleanup(func() {
		for i := 0; i < 100 && unix.Rmdir(dir) == unix.EBUSY; i++ {
			killAll(dir)
			time.Sleep(10 * time.Millisecond)
		}
	})
	if run.Join, err = cg.joinFiles(); err != nil {
		t.Fatal(err)
	}
	initPidfd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := &Supervisor{cfg: Config{Limits: lim, Run: run, CPUs: 1}, conn: conn, cg: cg, events: make(chan eventOrErr, 16),
		initPidfd: initPidfd, childPidfd: -1, joined: true, sentAt: judgeinit.Monotonic()}
	if err := conn.SendRun(&run); err != nil {
		t.Fatal(err)
	}
	closeAll(run.Join)
	s.cfg.Run.Join = nil
	go s.readEvents()
	t.Cleanup(func() { unix.Close(initPidfd) })
	return s
}
