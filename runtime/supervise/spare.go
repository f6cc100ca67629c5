package supervise

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"
)

// RunCgroups takes a run's cgroup off the run's path: it keeps one made
// ahead of time for each container that ran a program, and removes used
// ones in the background. Making and removing the three v1 directories
// (or setting up v2's) costs a run a good part of a millisecond, spent
// while the caller waits. A long-lived supervisor, such as the manager,
// holds one; without one, each run makes and removes its own cgroup.
//
// A spare never held a process, so its counters start from zero as a new
// one's do. It is made with the limits of its container's last run, and
// taking it writes what the run's differ in. A spare lives in its
// container's cgroup and goes with it when the container is deleted.
type RunCgroups struct {
	mu     sync.Mutex
	spares map[string]*spareCgroup // by container (cgroupKey)
	seq    uint64
	closed bool
	work   sync.WaitGroup
}

// spareCgroup is a run cgroup made ahead of time, a directory of it
// that tells whether it still exists, and the limits it was made with:
// those of the container's last run, which the next one most likely
// shares.
type spareCgroup struct {
	cg  runCgroup
	dir string
	set runLimits
}

// runLimits are a run cgroup's memory (bytes) and pids limits, as
// Config.Limits gives them: 0 for none.
type runLimits struct{ memory, pids int64 }

// limitsOf is the run cgroup's share of cfg.Limits.
func limitsOf(cfg *Config) runLimits {
	return runLimits{int64(cfg.Limits.Memory), cfg.Limits.Processes}
}

// change is what setLimits must write to a cgroup made with set for it
// to hold want: 0 where they agree, and a negative value to lift a limit
// want does not have.
func (set runLimits) change(want runLimits) (memory, pids int64) {
	diff := func(have, want int64) int64 {
		switch {
		case have == want:
			return 0
		case want == 0:
			return -1
		}
		return want
	}
	return diff(set.memory, want.memory), diff(set.pids, want.pids)
}

// maxSpareCgroups bounds the spares kept: a spare in a container that is
// gone holds its files open (about nine on v1: the CPU counter, the
// final reads and the tasks files) until it is taken or pushed out.
const maxSpareCgroups = 256

// NewRunCgroups returns an empty set of spares.
func NewRunCgroups() *RunCgroups {
	return &RunCgroups{spares: map[string]*spareCgroup{}}
}

// Close waits for the background work and removes the spares: a
// manager that exits when idle and starts again on demand would leave
// one in a long-lived box each time.
func (p *RunCgroups) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.work.Wait()
	p.mu.Lock()
	spares := p.spares
	p.spares = map[string]*spareCgroup{}
	p.mu.Unlock()
	for _, sp := range spares {
		_ = sp.cg.remove()
	}
}

// cgroupKey names a container's cgroups.
func cgroupKey(t *Target) string {
	if t.CgroupV2 {
		return "2:" + t.CgroupPaths[""]
	}
	var b strings.Builder
	b.WriteString("1")
	for _, ctrl := range v1Controllers {
		b.WriteString(":" + t.CgroupPaths[ctrl])
	}
	return b.String()
}

// runCgroupFor returns the cgroup for a run in cfg's container: a spare
// when p has one, else a new one.
func (p *RunCgroups) runCgroupFor(cfg *Config) (runCgroup, error) {
	lim := limitsOf(cfg)
	if p == nil {
		return newRunCgroup(cfg.CgroupPaths, cfg.RunCgroup, cfg.CgroupV2, cfg.InitPid, lim.memory, lim.pids)
	}
	if sp := p.take(&cfg.Target); sp != nil {
		if m, n := sp.set.change(lim); m != 0 || n != 0 {
			if err := sp.cg.setLimits(m, n); err != nil {
				_ = sp.cg.remove()
				return nil, err
			}
		}
		return sp.cg, nil
	}
	return newRunCgroup(cfg.CgroupPaths, p.name(cfg.RunCgroup), cfg.CgroupV2, cfg.InitPid, lim.memory, lim.pids)
}

// name is a fresh run cgroup name: a spare made by an earlier manager
// may still be in the container under another.
func (p *RunCgroups) name(base string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	return fmt.Sprintf("%s-%d-%d", base, os.Getpid(), p.seq)
}

// take returns the container's spare, if it has one that still exists.
func (p *RunCgroups) take(t *Target) *spareCgroup {
	p.mu.Lock()
	key := cgroupKey(t)
	sp := p.spares[key]
	delete(p.spares, key)
	p.mu.Unlock()
	if sp == nil {
		return nil
	}
	if _, err := os.Stat(sp.dir); err != nil {
		sp.cg.release() // its container is gone, and the spare with it
		return nil
	}
	return sp
}

// retire removes a used run cgroup and makes the container's next spare,
// with the same limits, in the background.
func (p *RunCgroups) retire(cfg *Config, used runCgroup) {
	t, base := cfg.Target, cfg.RunCgroup
	lim := limitsOf(cfg)
	p.work.Add(1)
	go func() {
		defer p.work.Done()
		if err := used.remove(); err != nil {
			logrus.Debugf("supervise: %v", err)
		}
		p.prepare(&t, base, lim)
	}()
}

// prepare makes a spare with limits lim for t's container unless it has
// one, or the container is gone: its init pid could name another process
// by now.
func (p *RunCgroups) prepare(t *Target, base string, lim runLimits) {
	key := cgroupKey(t)
	p.mu.Lock()
	skip := p.closed || p.spares[key] != nil
	p.mu.Unlock()
	if skip || !t.Alive() {
		return
	}
	cg, err := newRunCgroup(t.CgroupPaths, p.name(base), t.CgroupV2, t.InitPid, lim.memory, lim.pids)
	if err != nil {
		logrus.Debugf("supervise: spare run cgroup: %v", err)
		return
	}
	cg.preopen()
	p.mu.Lock()
	if len(p.spares) >= maxSpareCgroups {
		p.dropGoneLocked()
	}
	keep := !p.closed && p.spares[key] == nil && len(p.spares) < maxSpareCgroups
	if keep {
		p.spares[key] = &spareCgroup{cg: cg, dir: cg.dir(), set: lim}
	}
	p.mu.Unlock()
	if !keep {
		_ = cg.remove()
	}
}

// dropGoneLocked forgets the spares whose containers are gone (deleting
// a container removes its spare with it), and, were all alive, one of
// them, which it removes; p.mu is held.
func (p *RunCgroups) dropGoneLocked() {
	for key, sp := range p.spares {
		if _, err := os.Stat(sp.dir); err != nil {
			sp.cg.release()
			delete(p.spares, key)
		}
	}
	for key, sp := range p.spares {
		if len(p.spares) < maxSpareCgroups {
			break
		}
		_ = sp.cg.remove()
		delete(p.spares, key)
	}
}
