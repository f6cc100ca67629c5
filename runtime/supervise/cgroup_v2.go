package supervise

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cgroupV2 is a run's cgroup on the unified hierarchy.
type cgroupV2 struct {
	path string
	// cpuFile stays open: the CPU watch rereads it often.
	cpuFile   *counterFile
	mem, pids *peakCounter
	held      heldFiles
}

// newV2 creates the run's cgroup below base. The init first moves to a
// sibling "init" group, because a cgroup that delegates controllers to
// children may not hold processes itself.
func (fs cgroupFS) newV2(base, name string, initPid int, memory, pids int64) (_ *cgroupV2, retErr error) {
	if base == "" {
		return nil, errors.New("run cgroup: the container has no cgroup v2 path")
	}
	if err := setupV2Parent(base, initPid); err != nil {
		return nil, err
	}
	c := &cgroupV2{path: filepath.Join(base, name), held: heldFiles{}}
	defer func() {
		if retErr != nil {
			_ = c.remove()
		}
	}()
	if err := fs.makeDir(c.path); err != nil {
		return nil, err
	}
	if err := c.setLimits(memory, pids); err != nil {
		return nil, err
	}
	f, err := openCounter(filepath.Join(c.path, "cpu.stat"))
	if err != nil {
		return nil, fmt.Errorf("run cgroup: %w", err)
	}
	c.cpuFile = f
	c.mem = newPeak(c.path, "memory.peak", "memory.current", "memory.max", "memory.events")
	c.pids = newPidsPeak(c.path)
	return c, nil
}

// setupV2Parent moves the init into base/init and enables the controllers
// a run needs for base's children.
func setupV2Parent(base string, initPid int) error {
	initDir := filepath.Join(base, "init")
	if err := os.Mkdir(initDir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("run cgroup: %w", err)
	}
	if initPid > 0 {
		if err := writeFile(filepath.Join(initDir, "cgroup.procs"), strconv.Itoa(initPid)); err != nil {
			return fmt.Errorf("run cgroup: move init: %w", err)
		}
	}
	avail, err := readFile(filepath.Join(base, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("run cgroup: %w", err)
	}
	var enable []string
	for _, ctrl := range []string{"cpu", "memory", "pids"} {
		if bytes.Contains(append(append([]byte(" "), bytes.TrimSpace(avail)...), ' '), []byte(" "+ctrl+" ")) {
			enable = append(enable, "+"+ctrl)
		}
	}
	if len(enable) > 0 {
		if err := writeFile(filepath.Join(base, "cgroup.subtree_control"), strings.Join(enable, " ")); err != nil {
			return fmt.Errorf("run cgroup: enable controllers: %w", err)
		}
	}
	return nil
}

func (c *cgroupV2) setLimits(memory, pids int64) error {
	var list []setting
	if memory != 0 {
		list = append(list, setting{c.path, "memory.max", limitValue(memory, "max")})
		// Swap off under a limit, and back to the default when one is
		// lifted. A kernel without swap accounting (swapaccount=0 on
		// 5.10, say) has no memory.swap.* files, and no swap to charge.
		if _, err := os.Stat(filepath.Join(c.path, "memory.swap.max")); err == nil {
			swap := "0"
			if memory < 0 {
				swap = "max"
			}
			list = append(list, setting{c.path, "memory.swap.max", swap})
		}
	}
	if pids != 0 {
		list = append(list, setting{c.path, "pids.max", limitValue(pids, "max")})
	}
	return writeSettings(list)
}

// joinFiles: with v2 the supervisor moves the child itself (add).
func (c *cgroupV2) joinFiles() ([]*os.File, error) { return nil, nil }

func (c *cgroupV2) preopen() { c.prefetch() }

func (c *cgroupV2) add(pid int) error {
	if err := writeFile(filepath.Join(c.path, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
		return fmt.Errorf("run cgroup: add %d: %w", pid, err)
	}
	return nil
}

func (c *cgroupV2) cpu() (time.Duration, error) { return readCPU(c.cpuFile, true) }

func (c *cgroupV2) prefetch() {
	c.held.hold(append(append([]string{filepath.Join(c.path, "memory.events")}, c.mem.finalPaths()...), c.pids.finalPaths()...)...)
}

func (c *cgroupV2) final() (accounting, error) {
	var a accounting
	// One read of cpu.stat for the total and its split.
	stat, err := c.cpuFile.read()
	if err != nil {
		return a, err
	}
	if a.CPU, err = usageV2(c.cpuFile, stat); err != nil {
		return a, err
	}
	u, _ := keyValue(stat, "user_usec")
	s, _ := keyValue(stat, "system_usec")
	a.User, a.System = time.Duration(u)*time.Microsecond, time.Duration(s)*time.Microsecond
	if ev, err := c.held.readFile(filepath.Join(c.path, "memory.events")); err == nil {
		a.OOMKills, _ = keyValue(ev, "oom_kill")
	}
	a.MemPeak, a.PidsPeak = c.mem.value(c.held), c.pids.value(c.held)
	a.MemSampled, a.PidsSampled = c.mem.missing, c.pids.missing
	return a, nil
}

func (c *cgroupV2) samplesPeaks() bool { return c.mem.missing || c.pids.missing }

func (c *cgroupV2) sample() {
	c.mem.sample()
	c.pids.sample()
}

// kill uses cgroup.kill where the kernel has it (5.14+), else goes one by
// one.
func (c *cgroupV2) kill() {
	if err := writeFile(filepath.Join(c.path, "cgroup.kill"), "1"); err == nil {
		return
	}
	killAll(c.path)
}

func (c *cgroupV2) release() {
	c.cpuFile.close()
	c.cpuFile = nil
	c.held.close()
}

func (c *cgroupV2) dir() string { return c.path }

func (c *cgroupV2) remove() error {
	c.release()
	return removeDirs(c.path)
}
