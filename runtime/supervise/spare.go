package supervise

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// RunCgroups takes a run's cgroup off the run's path: it keeps spares
// made ahead of time for each container that ran a program, and removes
// used ones in the background. Making and removing the three v1 directories
// (or setting up v2's) costs a run a good part of a millisecond, spent
// while the caller waits. A long-lived supervisor, such as the manager,
// holds one; without one, each run makes and removes its own cgroup.
//
// A spare never held a process, so its counters start from zero as a new
// one's do. It is made with the limits of its container's last run, and
// taking it writes what the run's differ in. A spare lives in its
// container's cgroup and goes with it when the container is deleted.
type RunCgroups struct {
	// Yield, when set, is called before each step of the background
	// work (a directory made or removed, a spare's files opened) and
	// returns when the step may run, or after limit at most. Set it
	// before the first run. The manager holds the work back while it
	// serves a request: on its one Go processor, a request that came in
	// the middle would wait for all of it, about 0.4 ms of system calls.
	Yield func(limit time.Duration)

	// serial runs the work after one run at a time: a single waiter in
	// Yield, and no two top-ups of one container's spares at once.
	serial sync.Mutex
	mu     sync.Mutex
	spares map[string][]*spareCgroup // by container (cgroupKey)
	count  int                       // spares in all
	seq    uint64
	closed bool
	work   sync.WaitGroup
	fs     cgroupFS      // kernelFS, or a fake tree in tests
	held   time.Duration // maxHeld; tests set another
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

// maxHeld bounds how long Yield holds back the work after one run, all
// steps together: with boxes running in parallel the manager serves a
// request almost all the time, and the work must still go on.
const maxHeld = 3 * time.Millisecond

// spareDepth is how many spares a container keeps: a run that comes
// while the background work after the one before is held back (Yield)
// takes the second.
const spareDepth = 2

// maxSpareCgroups bounds the spares kept: a spare in a container that is
// gone holds its files open (about nine on v1: the CPU counter, the
// final reads and the tasks files) until it is taken or pushed out.
const maxSpareCgroups = 256

// NewRunCgroups returns an empty set of spares.
func NewRunCgroups() *RunCgroups {
	return &RunCgroups{spares: map[string][]*spareCgroup{}, fs: kernelFS, held: maxHeld}
}

// Close waits for the background work and removes the spares: a
// manager that exits when idle and starts again on demand would leave
// them in a long-lived box each time.
func (p *RunCgroups) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.work.Wait()
	p.mu.Lock()
	spares := p.spares
	p.spares, p.count = map[string][]*spareCgroup{}, 0
	p.mu.Unlock()
	for _, list := range spares {
		for _, sp := range list {
			_ = sp.cg.remove()
		}
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
		return kernelFS.newRunCgroup(cfg.CgroupPaths, cfg.RunCgroup, cfg.CgroupV2, cfg.InitPid, lim.memory, lim.pids)
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
	return p.fs.newRunCgroup(cfg.CgroupPaths, p.name(cfg.RunCgroup), cfg.CgroupV2, cfg.InitPid, lim.memory, lim.pids)
}

// name is a fresh run cgroup name: a spare made by an earlier manager
// may still be in the container under another.
func (p *RunCgroups) name(base string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	return fmt.Sprintf("%s-%d-%d", base, os.Getpid(), p.seq)
}

// take returns one of the container's spares, if it has one that still
// exists.
func (p *RunCgroups) take(t *Target) *spareCgroup {
	key := cgroupKey(t)
	p.mu.Lock()
	list := p.spares[key]
	var sp *spareCgroup
	if n := len(list); n > 0 {
		sp = list[n-1]
		p.spares[key] = list[:n-1]
		p.count--
	}
	if len(p.spares[key]) == 0 {
		delete(p.spares, key)
	}
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

// holdUntil is a step's Yield for work that may be held back until
// deadline.
func (p *RunCgroups) holdUntil(deadline time.Time) func() {
	return func() {
		if d := time.Until(deadline); p.Yield != nil && d > 0 {
			p.Yield(d)
		}
	}
}

// discard kills what is left in a used run cgroup and removes it. The
// init killed what the program left, but a survivor in the cgroup would
// block its removal and outlive the run.
func discard(cg runCgroup) {
	cg.kill()
	if err := cg.remove(); err != nil {
		logrus.Debugf("supervise: %v", err)
	}
}

// retire kills what is left in a used run cgroup, removes it and makes
// the container's next spares, with the same limits, in the background.
func (p *RunCgroups) retire(cfg *Config, used runCgroup) {
	t, base := cfg.Target, cfg.RunCgroup
	lim := limitsOf(cfg)
	p.work.Add(1)
	go func() {
		defer p.work.Done()
		p.serial.Lock()
		defer p.serial.Unlock()
		yield := p.holdUntil(time.Now().Add(p.held))
		yield()
		discard(used)
		p.prepare(&t, base, lim, yield)
	}()
}

// prepare tops the spares of t's container up to spareDepth, made with
// limits lim, unless the container is gone: its init pid could name
// another process by now. yield comes before each step.
func (p *RunCgroups) prepare(t *Target, base string, lim runLimits, yield func()) {
	key := cgroupKey(t)
	for {
		p.mu.Lock()
		full := p.closed || len(p.spares[key]) >= spareDepth
		p.mu.Unlock()
		if full || !t.Alive() || !p.makeSpare(t, key, base, lim, yield) {
			return
		}
	}
}

// makeSpare makes one spare for t's container and reports whether it
// was kept.
func (p *RunCgroups) makeSpare(t *Target, key, base string, lim runLimits, yield func()) bool {
	fs := p.fs
	fs.made = yield
	yield()
	cg, err := fs.newRunCgroup(t.CgroupPaths, p.name(base), t.CgroupV2, t.InitPid, lim.memory, lim.pids)
	if err != nil {
		logrus.Debugf("supervise: spare run cgroup: %v", err)
		return false
	}
	yield()
	cg.preopen()
	p.mu.Lock()
	if p.count >= maxSpareCgroups {
		p.dropGoneLocked()
	}
	keep := !p.closed && len(p.spares[key]) < spareDepth && p.count < maxSpareCgroups
	if keep {
		p.spares[key] = append(p.spares[key], &spareCgroup{cg: cg, dir: cg.dir(), set: lim})
		p.count++
	}
	p.mu.Unlock()
	if !keep {
		_ = cg.remove()
	}
	return keep
}

// dropGoneLocked forgets the spares whose containers are gone (deleting
// a container removes its spares with it), and, were all alive, removes
// spares until there is room for one; p.mu is held.
func (p *RunCgroups) dropGoneLocked() {
	for key, list := range p.spares {
		if _, err := os.Stat(list[0].dir); err != nil {
			for _, sp := range list {
				sp.cg.release()
			}
			p.count -= len(list)
			delete(p.spares, key)
		}
	}
	for key, list := range p.spares {
		if p.count < maxSpareCgroups {
			break
		}
		for _, sp := range list {
			_ = sp.cg.remove()
		}
		p.count -= len(list)
		delete(p.spares, key)
	}
}
