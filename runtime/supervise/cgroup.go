package supervise

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/runtime/proc"
)

// runCgroup is the cgroup of one run, below the container's. It holds the
// program and nothing else (the init and libcontainer's setup stay above
// it), so its counters are the program's alone, from zero. cgroupV1 and
// cgroupV2 implement it; tests use a fake.
type runCgroup interface {
	// setLimits sets the run's memory (bytes) and pids limits; 0 leaves
	// one alone, and a negative one lifts it.
	setLimits(memory, pids int64) error
	// joinFiles opens, with v1, the files the child writes "0" to in
	// order to join the run's cgroup itself; with v2 it returns nothing
	// and the supervisor uses add.
	joinFiles() ([]*os.File, error)
	// add moves a process into the run's cgroup.
	add(pid int) error
	// cpu is the CPU time used so far by every process of the run.
	cpu() (time.Duration, error)
	// prefetch opens the control files final reads, while the program
	// starts; final works without it.
	prefetch()
	// preopen opens ahead of time, for a spare, what a run will use:
	// the files its child joins through and those final reads.
	preopen()
	// final is what the cgroup says once the run is over.
	final() (accounting, error)
	// samplesPeaks says whether the kernel lacks a peak counter, which
	// the supervisor must then sample while the program runs; sample
	// records the current values.
	samplesPeaks() bool
	sample()
	// kill SIGKILLs every process of the run.
	kill()
	// remove deletes the run's cgroup once its processes are gone.
	remove() error
	// release closes what it holds open, and leaves the cgroup.
	release()
	// dir is one of its directories.
	dir() string
}

// accounting is what the run's cgroup says once the run is over.
type accounting struct {
	CPU, User, System time.Duration
	MemPeak           int64
	OOMKills          int64
	PidsPeak          int64
	// MemSampled: the kernel keeps no memory peak, and MemPeak is the
	// highest of the supervisor's samples (or the limit, when hit).
	// PidsSampled is the same for PidsPeak.
	MemSampled, PidsSampled bool
}

// cgroupFS makes cgroup directories; on cgroupfs the kernel fills a new
// one with its control files. Tests on fake trees give one that writes
// those files.
type cgroupFS struct {
	mkdir func(dir string) error
	// made, when set, is called after each directory made: background
	// work yields there (RunCgroups.Yield).
	made func()
}

var kernelFS = cgroupFS{mkdir: func(dir string) error { return os.Mkdir(dir, 0o755) }}

// newRunCgroup creates the run's cgroup named name under the container's
// cgroups (libcontainer's paths: controller to directory, "" for v2).
func (fs cgroupFS) newRunCgroup(paths map[string]string, name string, v2 bool, initPid int, memory, pids int64) (runCgroup, error) {
	if v2 {
		return fs.newV2(paths[""], name, initPid, memory, pids)
	}
	return fs.newV1(paths, name, memory, pids)
}

// makeDir creates one run directory. A run killed with its supervisor can
// leave its cgroup: start from zero, never from its counters. (Made
// first and cleared only when it exists: a stat before each mkdir cost a
// run three path walks on cgroupfs.)
func (fs cgroupFS) makeDir(d string) error {
	err := fs.mkdir(d)
	if errors.Is(err, os.ErrExist) {
		if err = clearStale(d); err == nil {
			err = fs.mkdir(d)
		}
	}
	if err != nil {
		return fmt.Errorf("run cgroup: %w", err)
	}
	if fs.made != nil {
		fs.made()
	}
	return nil
}

// limitValue is what a control file takes for a limit: the number, or
// unlimited (the file's own word) for a negative one.
func limitValue(v int64, unlimited string) string {
	if v < 0 {
		return unlimited
	}
	return strconv.FormatInt(v, 10)
}

// setting is one control file to write.
type setting struct{ dir, file, value string }

func writeSettings(list []setting) error {
	for _, s := range list {
		if err := writeFile(filepath.Join(s.dir, s.file), s.value); err != nil {
			return fmt.Errorf("run cgroup: set %s: %w", s.file, err)
		}
	}
	return nil
}

// peakCounter is one cgroup counter with a peak: its files, and the
// highest value sampled where the kernel keeps no peak (memory.peak
// before Linux 5.19, pids.peak before 6.1).
type peakCounter struct {
	dir                        string
	peak, current, limit, evts string // file names
	sampled                    int64
	missing                    bool // the kernel has no peak file
	// byOne: charges come one at a time (a fork each), so a refused
	// charge means the count stood at the limit. The kernel updates
	// pids.peak without a lock, and forks racing on several CPUs can
	// leave it short of the limit they reached, by one per CPU at most.
	byOne bool
}

func newPeak(dir, peak, current, limit, evts string) *peakCounter {
	p := &peakCounter{dir: dir, peak: peak, current: current, limit: limit, evts: evts}
	if _, err := os.Stat(filepath.Join(dir, peak)); err != nil {
		p.missing = true
	}
	return p
}

// newPidsPeak is the pids controller's counter.
func newPidsPeak(dir string) *peakCounter {
	p := newPeak(dir, "pids.peak", "pids.current", "pids.max", "pids.events")
	p.byOne = true
	return p
}

// finalPaths are the files value reads; the limit is read only when
// the events say it was hit.
func (p *peakCounter) finalPaths() []string {
	switch {
	case p.missing:
		return []string{filepath.Join(p.dir, p.current), filepath.Join(p.dir, p.evts), filepath.Join(p.dir, p.limit)}
	case p.byOne:
		return []string{filepath.Join(p.dir, p.peak), filepath.Join(p.dir, p.evts)}
	}
	return []string{filepath.Join(p.dir, p.peak)}
}

// value is the counter's peak: the kernel's, or else the highest sample
// or current value. When the kernel says the limit was hit and keeps no
// peak, it is the limit: the hit happened between samples, and a sample
// above the limit was a refused charge in flight. With a racy peak
// (byOne) it is raised to the limit. It reads through held where it
// holds a file.
func (p *peakCounter) value(held heldFiles) int64 {
	var v int64
	if p.missing {
		v = p.sampled
		if cur, err := held.readInt(filepath.Join(p.dir, p.current)); err == nil {
			v = max(v, cur)
		}
	} else {
		v, _ = held.readInt(filepath.Join(p.dir, p.peak))
		if !p.byOne {
			return v
		}
	}
	if ev, err := held.readFile(filepath.Join(p.dir, p.evts)); err == nil {
		if hits, _ := keyValue(ev, "max"); hits > 0 {
			lim, err := held.readInt(filepath.Join(p.dir, p.limit))
			switch {
			case err != nil || lim <= 0:
			case p.missing:
				// The limit was reached between samples; and a sample can
				// see a refused charge before the kernel takes it back
				// (pids.current at limit+1), which never stood.
				v = lim
			case lim-v <= int64(runtime.NumCPU()):
				// A racy peak misses at most one update per CPU racing; a
				// wider gap means another limit refused (an ancestor's,
				// such as systemd's TasksMax, whose refusals count here).
				v = max(v, lim)
			}
		}
	}
	return v
}

// heldFiles are control files kept open for the report. prefetch opens
// them while the program starts, so that the reads after its exit, on
// the report's critical path, open nothing: an open of a cgroupfs file
// costs about 10 µs on a virtual machine, and v1's report reads five.
type heldFiles map[string]*counterFile

// hold opens paths; one that cannot be opened is read by path later.
func (h heldFiles) hold(paths ...string) {
	for _, path := range paths {
		if h[path] != nil {
			continue
		}
		if f, err := openCounter(path); err == nil {
			h[path] = f
		}
	}
}

// readFile reads path whole, through its held file if there is one.
func (h heldFiles) readFile(path string) ([]byte, error) {
	if f := h[path]; f != nil {
		if data, err := f.read(); err == nil {
			return data, nil
		}
	}
	return readFile(path)
}

func (h heldFiles) readInt(path string) (int64, error) {
	data, err := h.readFile(path)
	if err != nil {
		return 0, err
	}
	return parseInt(data)
}

func (h heldFiles) close() {
	for path, f := range h {
		f.close()
		delete(h, path)
	}
}

func (p *peakCounter) sample() {
	if !p.missing {
		return
	}
	if cur, err := readInt(filepath.Join(p.dir, p.current)); err == nil {
		p.sampled = max(p.sampled, cur)
	}
}

// procsOf lists the processes in a cgroup directory.
func procsOf(dir string) ([]int, error) {
	data, err := readFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		// A v2 kernel can list 0 for a member that is exiting.
		if n, err := strconv.Atoi(f); err == nil && n > 0 {
			pids = append(pids, n)
		}
	}
	return pids, nil
}

// killAll SIGKILLs the processes of a cgroup one by one until none is
// left, through pidfds (proc.KillListed): a member's pid can be reused
// outside once the member is gone.
func killAll(dir string) {
	// No pause: the supervisor waits on it at a limit.
	_ = proc.KillListed(func() ([]int, error) { return procsOf(dir) }, 0)
}

// removeDirs deletes run directories once their processes are gone.
func removeDirs(dirs ...string) error {
	var errs []error
	for _, d := range dirs {
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
	_ = proc.KillListed(func() ([]int, error) { return procsOf(dir) }, time.Millisecond)
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

// readCPU reads a CPU counter from an open control file: v1's
// cpuacct.usage in nanoseconds, or v2's cpu.stat usage_usec.
func readCPU(f *counterFile, v2 bool) (time.Duration, error) {
	var buf [512]byte
	n, err := unix.Pread(f.fd, buf[:], 0)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", f.path, err)
	}
	if !v2 {
		ns, err := strconv.ParseInt(string(bytes.TrimSpace(buf[:n])), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", f.path, err)
		}
		return time.Duration(ns), nil
	}
	return usageV2(f, buf[:n])
}

// usageV2 is the total in a v2 cpu.stat read from f.
func usageV2(f *counterFile, stat []byte) (time.Duration, error) {
	us, ok := keyValue(stat, "usage_usec")
	if !ok {
		return 0, fmt.Errorf("read %s: no usage_usec", f.path)
	}
	return time.Duration(us) * time.Microsecond, nil
}

// counterFile is a control file kept open, because it is reread often.
type counterFile struct {
	fd   int
	path string
}

func openCounter(path string) (*counterFile, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &counterFile{fd: fd, path: path}, nil
}

// read rereads the file from its start; a file longer than the buffer
// is an error, for the caller to read by path.
func (f *counterFile) read() ([]byte, error) {
	// Most counters are one line, cpu.stat and memory.events a few: a
	// small buffer first, a page when it fills.
	for _, size := range []int{256, 4096} {
		buf := make([]byte, size)
		n, err := unix.Pread(f.fd, buf, 0)
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: f.path, Err: err}
		}
		if n < size {
			return buf[:n], nil
		}
	}
	return nil, &os.PathError{Op: "read", Path: f.path, Err: unix.EFBIG}
}

func (f *counterFile) close() {
	if f != nil && f.fd >= 0 {
		unix.Close(f.fd)
		f.fd = -1
	}
}

// Control files are read and written with bare system calls: an
// *os.File costs four more calls (poll registration, flags) and a
// finalizer, and a run touches a dozen of them on its critical path.

// writeFile writes value to a control file.
func writeFile(path, value string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte(value)); err != nil {
		return &os.PathError{Op: "write", Path: path, Err: err}
	}
	return nil
}

// maxControlFile bounds what readFile reads of one control file; the
// files read here hold a few lines.
const maxControlFile = 64 << 10

// readFile reads a small control file whole.
func readFile(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 512)
	for len(buf) < maxControlFile {
		if len(buf) == cap(buf) {
			buf = append(buf, make([]byte, cap(buf))...)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			break
		}
		buf = buf[:len(buf)+n]
	}
	return buf, nil
}

func readInt(path string) (int64, error) {
	data, err := readFile(path)
	if err != nil {
		return 0, err
	}
	return parseInt(data)
}

// parseInt parses a control file's number; "max" is -1.
func parseInt(data []byte) (int64, error) {
	s := strings.TrimSpace(string(data))
	if s == "max" {
		return -1, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

// keyValue finds "key N" in a flat-keyed cgroup file.
func keyValue(data []byte, key string) (int64, bool) {
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		k, v, ok := bytes.Cut(line, []byte{' '})
		if ok && string(k) == key {
			n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// SetRunLimits sets the memory (bytes) and pids limits of a running
// container's run cgroup named name (the default when ""), where they are
// enforced; 0 leaves one alone and a negative one lifts it. It does
// nothing when the container has no run in progress.
func SetRunLimits(paths map[string]string, name string, v2 bool, memory, pids int64) error {
	if name == "" {
		name = defaultRunCgroup
	}
	if v2 {
		d := filepath.Join(paths[""], name)
		if _, err := os.Stat(d); err != nil {
			return nil
		}
		return (&cgroupV2{path: d}).setLimits(memory, pids)
	}
	c := &cgroupV1{dirs: map[string]string{}}
	for _, ctrl := range v1Controllers {
		d := filepath.Join(paths[ctrl], name)
		if _, err := os.Stat(d); err != nil {
			return nil
		}
		c.dirs[ctrl] = d
	}
	return c.setLimits(memory, pids)
}
