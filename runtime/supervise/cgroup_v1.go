package supervise

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
)

// v1Controllers are the hierarchies a run needs its own group in.
var v1Controllers = []string{"cpuacct", "memory", "pids"}

// cgroupV1 is a run's cgroup on the v1 hierarchies: one directory in each
// of v1Controllers.
type cgroupV1 struct {
	dirs map[string]string // controller to the run's directory
	// cpuFile stays open: the CPU watch rereads it often.
	cpuFile *counterFile
	mem     *peakCounter // memory.max_usage_in_bytes, on every kernel
	pids    *peakCounter
	held    heldFiles
	// join are the tasks files preopen opened, for joinFiles.
	join []*os.File
}

func (fs cgroupFS) newV1(paths map[string]string, name string, memory, pids int64) (_ *cgroupV1, retErr error) {
	c := &cgroupV1{dirs: map[string]string{}, held: heldFiles{}}
	for _, ctrl := range v1Controllers {
		base := paths[ctrl]
		if base == "" {
			return nil, fmt.Errorf("run cgroup: the container has no %s cgroup", ctrl)
		}
		c.dirs[ctrl] = filepath.Join(base, name)
	}
	defer func() {
		if retErr != nil {
			_ = c.remove()
		}
	}()
	for _, ctrl := range v1Controllers {
		if err := fs.makeDir(c.dirs[ctrl]); err != nil {
			return nil, err
		}
	}
	if err := c.setLimits(memory, pids); err != nil {
		return nil, err
	}
	f, err := openCounter(filepath.Join(c.dirs["cpuacct"], "cpuacct.usage"))
	if err != nil {
		return nil, fmt.Errorf("run cgroup: %w", err)
	}
	c.cpuFile = f
	c.mem = newPeak(c.dirs["memory"], "memory.max_usage_in_bytes", "memory.usage_in_bytes", "memory.limit_in_bytes", "")
	c.pids = newPidsPeak(c.dirs["pids"])
	return c, nil
}

func (c *cgroupV1) setLimits(memory, pids int64) error {
	var list []setting
	if memory != 0 {
		m := c.dirs["memory"]
		v := limitValue(memory, "-1")
		// Lower memory+swap first when shrinking: the kernel refuses a
		// memory limit above it.
		if _, err := os.Stat(filepath.Join(m, "memory.memsw.limit_in_bytes")); err == nil {
			cur, _ := readInt(filepath.Join(m, "memory.limit_in_bytes"))
			sw := setting{m, "memory.memsw.limit_in_bytes", v}
			if cur >= 0 && memory > 0 && memory < cur {
				list = append(list, setting{m, "memory.limit_in_bytes", v}, sw)
			} else {
				list = append(list, sw, setting{m, "memory.limit_in_bytes", v})
			}
		} else {
			list = append(list, setting{m, "memory.limit_in_bytes", v})
		}
	}
	if pids != 0 {
		list = append(list, setting{c.dirs["pids"], "pids.max", limitValue(pids, "max")})
	}
	return writeSettings(list)
}

// joinFiles opens the tasks file of every hierarchy's run cgroup: a
// process that moves itself, one thread, skips the global lock and the
// RCU grace period (often several milliseconds) that moving another
// process costs.
func (c *cgroupV1) joinFiles() ([]*os.File, error) {
	if c.join != nil {
		files := c.join
		c.join = nil
		return files, nil
	}
	var files []*os.File
	for _, ctrl := range v1Controllers {
		path := filepath.Join(c.dirs[ctrl], "tasks")
		f, err := hostfile.Open(path, unix.O_WRONLY, 0)
		if err != nil {
			closeAll(files)
			return nil, fmt.Errorf("run cgroup: %w", err)
		}
		files = append(files, f)
	}
	return files, nil
}

func (c *cgroupV1) add(pid int) error {
	for _, ctrl := range v1Controllers {
		if err := writeFile(filepath.Join(c.dirs[ctrl], "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("run cgroup: add %d: %w", pid, err)
		}
	}
	return nil
}

func (c *cgroupV1) cpu() (time.Duration, error) { return readCPU(c.cpuFile, false) }

func (c *cgroupV1) finalPaths() []string {
	paths := []string{
		filepath.Join(c.dirs["cpuacct"], "cpuacct.usage_user"),
		filepath.Join(c.dirs["cpuacct"], "cpuacct.usage_sys"),
		filepath.Join(c.dirs["memory"], "memory.oom_control"),
	}
	return append(append(paths, c.mem.finalPaths()...), c.pids.finalPaths()...)
}

func (c *cgroupV1) prefetch() { c.held.hold(c.finalPaths()...) }

func (c *cgroupV1) preopen() {
	c.prefetch()
	if c.join == nil {
		c.join, _ = c.joinFiles() // else the run opens them
	}
}

func (c *cgroupV1) final() (accounting, error) {
	var a accounting
	var err error
	if a.CPU, err = c.cpu(); err != nil {
		return a, err
	}
	u, _ := c.held.readInt(filepath.Join(c.dirs["cpuacct"], "cpuacct.usage_user"))
	s, _ := c.held.readInt(filepath.Join(c.dirs["cpuacct"], "cpuacct.usage_sys"))
	a.User, a.System = splitCPU(a.CPU, u, s)
	if oc, err := c.held.readFile(filepath.Join(c.dirs["memory"], "memory.oom_control")); err == nil {
		a.OOMKills, _ = keyValue(oc, "oom_kill")
	}
	a.MemPeak, a.PidsPeak = c.mem.value(c.held), c.pids.value(c.held)
	a.PidsSampled = c.pids.missing
	return a, nil
}

// splitCPU divides the precise total in the proportion of v1's user and
// system counters, which the kernel samples at ticks and which therefore
// do not add up to the total. (v2 does this scaling itself.)
func splitCPU(total time.Duration, user, sys int64) (time.Duration, time.Duration) {
	if user+sys <= 0 {
		return total, 0
	}
	u := time.Duration(float64(total) * float64(user) / float64(user+sys))
	return u, total - u
}

func (c *cgroupV1) samplesPeaks() bool { return c.pids.missing }
func (c *cgroupV1) sample()            { c.pids.sample() }

// kill goes one by one: v1 has no cgroup.kill.
func (c *cgroupV1) kill() { killAll(c.dirs["pids"]) }

func (c *cgroupV1) release() {
	closeAll(c.join)
	c.join = nil
	c.cpuFile.close()
	c.cpuFile = nil
	c.held.close()
}

func (c *cgroupV1) dir() string { return c.dirs["pids"] }

func (c *cgroupV1) remove() error {
	c.release()
	var dirs []string
	for _, ctrl := range v1Controllers {
		if d, ok := c.dirs[ctrl]; ok {
			dirs = append(dirs, d)
		}
	}
	return removeDirs(dirs...)
}
