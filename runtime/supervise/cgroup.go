package supervise

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// runCgroup is the cgroup of one run, below the container's. It holds the
// program and nothing else (the init and libcontainer's setup stay above
// it), so its counters are the program's alone, from zero.
type runCgroup struct {
	v2 bool
	// dirs maps a v1 controller to the run's directory in its hierarchy;
	// with v2, "" maps to the one directory.
	dirs map[string]string
	// cpuFile stays open: the CPU watch rereads it often.
	cpuFile *os.File
	// peaks are the counters whose peak the kernel may not keep
	// (memory.peak before Linux 5.19, pids.peak before 6.1): where it does
	// not, the supervisor samples the current value.
	peaks []*peakCounter
}

// peakCounter is one cgroup counter with a peak: its files, and the
// highest value sampled where the kernel keeps no peak.
type peakCounter struct {
	dir                        string
	peak, current, limit, evts string // file names
	sampled                    int64
	missing                    bool // the kernel has no peak file
}

// value is the counter's peak: the kernel's, or else the highest sample
// or current value, raised to the limit when the kernel says the limit
// was hit (an OOM kill or a refused fork happens at the limit, between
// samples).
func (p *peakCounter) value() int64 {
	if !p.missing {
		v, _ := readInt(filepath.Join(p.dir, p.peak))
		return v
	}
	v := p.sampled
	if cur, err := readInt(filepath.Join(p.dir, p.current)); err == nil {
		v = max(v, cur)
	}
	if ev, err := os.ReadFile(filepath.Join(p.dir, p.evts)); err == nil {
		if hits, _ := keyValue(ev, "max"); hits > 0 {
			if lim, err := readInt(filepath.Join(p.dir, p.limit)); err == nil && lim > 0 {
				v = max(v, lim)
			}
		}
	}
	return v
}

func (p *peakCounter) sample() {
	if cur, err := readInt(filepath.Join(p.dir, p.current)); err == nil {
		p.sampled = max(p.sampled, cur)
	}
}

// runLimits are applied to the run's cgroup.
type runLimits struct {
	Memory int64 // bytes; 0 leaves the container's limit
	Pids   int64 // 0 leaves the container's limit
}

// mkdirCgroup creates a cgroup; on cgroupfs the kernel fills the new
// directory with its control files. Tests on fake trees replace it with
// one that writes those files.
var mkdirCgroup = func(dir string) error { return os.Mkdir(dir, 0o755) }

// v1Controllers are the hierarchies a run needs its own group in.
var v1Controllers = []string{"cpuacct", "memory", "pids"}

// newRunCgroup creates the run's cgroup named name under the container's
// cgroups (libcontainer's paths: controller to directory, "" for v2). With
// v2, the init first moves to a sibling "init" group, because a cgroup that
// delegates controllers to children may not hold processes itself.
func newRunCgroup(paths map[string]string, name string, v2 bool, initPid int, lim runLimits) (_ *runCgroup, retErr error) {
	c := &runCgroup{v2: v2, dirs: map[string]string{}}
	defer func() {
		if retErr != nil {
			_ = c.remove()
		}
	}()
	if v2 {
		base := paths[""]
		if base == "" {
			return nil, errors.New("run cgroup: the container has no cgroup v2 path")
		}
		if err := setupV2Parent(base, initPid); err != nil {
			return nil, err
		}
		c.dirs[""] = filepath.Join(base, name)
	} else {
		for _, ctrl := range v1Controllers {
			base := paths[ctrl]
			if base == "" {
				return nil, fmt.Errorf("run cgroup: the container has no %s cgroup", ctrl)
			}
			c.dirs[ctrl] = filepath.Join(base, name)
		}
	}
	for _, d := range c.dirs {
		// A run killed with its supervisor can leave its cgroup: start
		// from zero, never from its counters.
		if _, err := os.Stat(d); err == nil {
			if err := clearStale(d); err != nil {
				return nil, fmt.Errorf("run cgroup: %w", err)
			}
		}
		if err := mkdirCgroup(d); err != nil {
			return nil, fmt.Errorf("run cgroup: %w", err)
		}
	}
	if err := c.setLimits(lim); err != nil {
		return nil, err
	}
	f, err := os.Open(c.cpuPath())
	if err != nil {
		return nil, fmt.Errorf("run cgroup: %w", err)
	}
	c.cpuFile = f
	c.findPeaks()
	return c, nil
}

// findPeaks notes the peak counters and whether the kernel keeps them.
func (c *runCgroup) findPeaks() {
	if c.v2 {
		d := c.dirs[""]
		c.peaks = []*peakCounter{
			{dir: d, peak: "memory.peak", current: "memory.current", limit: "memory.max", evts: "memory.events"},
			{dir: d, peak: "pids.peak", current: "pids.current", limit: "pids.max", evts: "pids.events"},
		}
	} else {
		// v1 has memory.max_usage_in_bytes on every kernel.
		c.peaks = []*peakCounter{
			{dir: c.dirs["memory"], peak: "memory.max_usage_in_bytes"},
			{dir: c.dirs["pids"], peak: "pids.peak", current: "pids.current", limit: "pids.max", evts: "pids.events"},
		}
	}
	for _, p := range c.peaks {
		if _, err := os.Stat(filepath.Join(p.dir, p.peak)); err != nil {
			p.missing = true
		}
	}
}

// samplesPeaks says whether the kernel lacks a peak counter, which the
// supervisor must then sample while the program runs.
func (c *runCgroup) samplesPeaks() bool {
	for _, p := range c.peaks {
		if p.missing {
			return true
		}
	}
	return false
}

// sample records the current value of every counter the kernel keeps no
// peak of.
func (c *runCgroup) sample() {
	for _, p := range c.peaks {
		if p.missing {
			p.sample()
		}
	}
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
	avail, err := os.ReadFile(filepath.Join(base, "cgroup.controllers"))
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

func (c *runCgroup) setLimits(lim runLimits) error {
	type setting struct{ dir, file, value string }
	var list []setting
	if c.v2 {
		d := c.dirs[""]
		if lim.Memory > 0 {
			list = append(list, setting{d, "memory.max", strconv.FormatInt(lim.Memory, 10)})
			// Swap off. A kernel without swap accounting (swapaccount=0)
			// has no memory.swap.* files, and no swap to charge.
			if _, err := os.Stat(filepath.Join(d, "memory.swap.max")); err == nil {
				list = append(list, setting{d, "memory.swap.max", "0"})
			}
		}
		if lim.Pids > 0 {
			list = append(list, setting{d, "pids.max", strconv.FormatInt(lim.Pids, 10)})
		}
	} else {
		if lim.Memory > 0 {
			m := c.dirs["memory"]
			v := strconv.FormatInt(lim.Memory, 10)
			list = append(list, setting{m, "memory.limit_in_bytes", v})
			// Swap off: memory+swap may not exceed memory alone.
			if _, err := os.Stat(filepath.Join(m, "memory.memsw.limit_in_bytes")); err == nil {
				list = append(list, setting{m, "memory.memsw.limit_in_bytes", v})
			}
		}
		if lim.Pids > 0 {
			list = append(list, setting{c.dirs["pids"], "pids.max", strconv.FormatInt(lim.Pids, 10)})
		}
	}
	for _, s := range list {
		if err := writeFile(filepath.Join(s.dir, s.file), s.value); err != nil {
			return fmt.Errorf("run cgroup: set %s: %w", s.file, err)
		}
	}
	return nil
}

func (c *runCgroup) cpuPath() string {
	if c.v2 {
		return filepath.Join(c.dirs[""], "cpu.stat")
	}
	return filepath.Join(c.dirs["cpuacct"], "cpuacct.usage")
}

// add moves a process into the run's cgroup, in every hierarchy.
func (c *runCgroup) add(pid int) error {
	for _, d := range c.dirs {
		if err := writeFile(filepath.Join(d, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("run cgroup: add %d: %w", pid, err)
		}
	}
	return nil
}

// joinFiles opens, with v1, the tasks file of every hierarchy's run
// cgroup, for the child to write "0" to: a process that moves itself, one
// thread, skips the global lock and the RCU grace period (often several
// milliseconds) that moving another process costs. With v2 it returns
// nothing and the supervisor uses add.
func (c *runCgroup) joinFiles() ([]*os.File, error) {
	if c.v2 {
		return nil, nil
	}
	var files []*os.File
	for _, ctrl := range v1Controllers {
		f, err := os.OpenFile(filepath.Join(c.dirs[ctrl], "tasks"), os.O_WRONLY, 0)
		if err != nil {
			closeAll(files)
			return nil, fmt.Errorf("run cgroup: %w", err)
		}
		files = append(files, f)
	}
	return files, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// cpu is the CPU time used so far by every process of the run.
func (c *runCgroup) cpu() (time.Duration, error) {
	var buf [512]byte
	n, err := c.cpuFile.ReadAt(buf[:], 0)
	if n == 0 && err != nil {
		return 0, fmt.Errorf("read %s: %w", c.cpuFile.Name(), err)
	}
	if !c.v2 {
		ns, err := strconv.ParseInt(string(bytes.TrimSpace(buf[:n])), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", c.cpuFile.Name(), err)
		}
		return time.Duration(ns), nil
	}
	us, ok := keyValue(buf[:n], "usage_usec")
	if !ok {
		return 0, fmt.Errorf("read %s: no usage_usec", c.cpuFile.Name())
	}
	return time.Duration(us) * time.Microsecond, nil
}

// accounting is what the run's cgroup says once the run is over.
type accounting struct {
	CPU, User, System time.Duration
	MemPeak           int64
	OOMKills          int64
	PidsPeak          int64
	// MemSampled: the kernel keeps no memory peak, and MemPeak is the
	// highest of the supervisor's samples (or the limit, when hit).
	MemSampled bool
}

func (c *runCgroup) final() (accounting, error) {
	var a accounting
	var err error
	if a.CPU, err = c.cpu(); err != nil {
		return a, err
	}
	if c.v2 {
		d := c.dirs[""]
		stat, err := os.ReadFile(filepath.Join(d, "cpu.stat"))
		if err != nil {
			return a, err
		}
		u, _ := keyValue(stat, "user_usec")
		s, _ := keyValue(stat, "system_usec")
		a.User, a.System = time.Duration(u)*time.Microsecond, time.Duration(s)*time.Microsecond
		if ev, err := os.ReadFile(filepath.Join(d, "memory.events")); err == nil {
			a.OOMKills, _ = keyValue(ev, "oom_kill")
		}
	} else {
		u, _ := readInt(filepath.Join(c.dirs["cpuacct"], "cpuacct.usage_user"))
		s, _ := readInt(filepath.Join(c.dirs["cpuacct"], "cpuacct.usage_sys"))
		a.User, a.System = splitCPU(a.CPU, u, s)
		if oc, err := os.ReadFile(filepath.Join(c.dirs["memory"], "memory.oom_control")); err == nil {
			a.OOMKills, _ = keyValue(oc, "oom_kill")
		}
	}
	a.MemPeak, a.PidsPeak = c.peaks[0].value(), c.peaks[1].value()
	a.MemSampled = c.peaks[0].missing
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

// pids lists the processes in the run's cgroup.
func (c *runCgroup) pids() ([]int, error) {
	d := c.dirs[""]
	if !c.v2 {
		d = c.dirs["pids"]
	}
	data, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids, nil
}

// kill SIGKILLs every process in the run's cgroup: at once through
// cgroup.kill where the kernel has it, else one by one until none is left.
func (c *runCgroup) kill() {
	if c.v2 {
		if err := writeFile(filepath.Join(c.dirs[""], "cgroup.kill"), "1"); err == nil {
			return
		}
	}
	for i := 0; i < 100; i++ {
		pids, err := c.pids()
		if err != nil || len(pids) == 0 {
			return
		}
		for _, p := range pids {
			_ = unix.Kill(p, unix.SIGKILL)
		}
	}
}

// remove deletes the run's cgroup once its processes are gone.
func (c *runCgroup) remove() error {
	if c.cpuFile != nil {
		c.cpuFile.Close()
		c.cpuFile = nil
	}
	var errs []error
	for _, d := range c.dirs {
		var err error
		for i := 0; i < 50; i++ {
			if err = unix.Rmdir(d); err == nil || errors.Is(err, unix.ENOENT) {
				err = nil
				break
			}
			if !errors.Is(err, unix.EBUSY) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

// clearStale kills what is left in a cgroup directory and removes it.
func clearStale(dir string) error {
	for i := 0; i < 100; i++ {
		data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil {
			break
		}
		pids := strings.Fields(string(data))
		if len(pids) == 0 {
			break
		}
		for _, p := range pids {
			if n, err := strconv.Atoi(p); err == nil {
				_ = unix.Kill(n, unix.SIGKILL)
			}
		}
		time.Sleep(time.Millisecond)
	}
	for i := 0; i < 100; i++ {
		err := unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			return err
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("%s stays busy", dir)
}

func writeFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func readInt(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(data))
	if s == "max" {
		return -1, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

// keyValue finds "key N" in a flat-keyed cgroup file.
func keyValue(data []byte, key string) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
