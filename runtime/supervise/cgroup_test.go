package supervise

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// These tests run the cgroup code against fake cgroupfs trees: plain
// directories with the files the kernel would have. The project's VM runs
// a v1 hybrid, whose controllers cannot be bound to a v2 hierarchy, so the
// v2 path is tested this way only; the integration tests exercise v1 on
// the real kernel.

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fakeKernel is a cgroupFS whose new directories named run get the given
// control files, as cgroupfs would fill them.
func fakeKernel(t *testing.T, files map[string]string) cgroupFS {
	t.Helper()
	return cgroupFS{mkdir: func(dir string) error {
		if err := os.Mkdir(dir, 0o755); err != nil {
			return err
		}
		prefix := filepath.Base(filepath.Dir(dir)) + "/"
		for name, content := range files {
			if rest, ok := strings.CutPrefix(name, prefix); ok || !strings.Contains(name, "/") {
				if !ok {
					rest = name
				}
				if err := os.WriteFile(filepath.Join(dir, rest), []byte(content), 0o644); err != nil {
					return err
				}
			}
		}
		return nil
	}}
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

func TestRunCgroupV2(t *testing.T) {
	base := filepath.Join(t.TempDir(), "ct")
	writeFiles(t, base, map[string]string{
		"cgroup.controllers":     "cpuset cpu io memory hugetlb pids rdma misc\n",
		"cgroup.subtree_control": "",
		"cgroup.procs":           "",
		"init/cgroup.procs":      "",
	})
	// What the kernel puts in the run's directory when it is made.
	fs := fakeKernel(t, map[string]string{
		"cpu.stat":        "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 0\n",
		"memory.max":      "max\n",
		"memory.swap.max": "max\n",
		"memory.peak":     "4194304\n",
		"memory.events":   "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n",
		"pids.max":        "max\n",
		"pids.peak":       "7\n",
		"cgroup.procs":    "",
		"cgroup.kill":     "",
	})
	c, err := fs.newV2(base, "run", 4242, 64<<20, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(base, "init", "cgroup.procs")); got != "4242" {
		t.Errorf("init moved to init/: %q", got)
	}
	if got := read(t, filepath.Join(base, "cgroup.subtree_control")); got != "+cpu +memory +pids" {
		t.Errorf("subtree_control %q", got)
	}
	for file, want := range map[string]string{"memory.max": "67108864", "memory.swap.max": "0", "pids.max": "10"} {
		if got := read(t, filepath.Join(base, "run", file)); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	if err := c.add(99); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(base, "run", "cgroup.procs")); got != "99" {
		t.Errorf("cgroup.procs %q", got)
	}
	used, err := c.cpu()
	if err != nil || used != 1500*time.Microsecond {
		t.Errorf("cpu() = %v, %v", used, err)
	}
	a, err := c.final()
	if err != nil {
		t.Fatal(err)
	}
	want := accounting{CPU: 1500 * time.Microsecond, User: time.Millisecond, System: 500 * time.Microsecond, MemPeak: 4 << 20, OOMKills: 1, PidsPeak: 7}
	if a != want {
		t.Errorf("final() = %+v, want %+v", a, want)
	}
	// Held open by prefetch, the files are reread at the end, not cached.
	c.prefetch()
	if len(c.held) != 3 {
		t.Errorf("prefetch holds %d files, want memory.events, memory.peak and pids.peak", len(c.held))
	}
	writeFiles(t, filepath.Join(base, "run"), map[string]string{
		"cpu.stat":      "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n",
		"memory.peak":   "8388608\n",
		"memory.events": "max 3\noom 2\noom_kill 2\n",
		"pids.peak":     "9\n",
	})
	// Gone by name, still read through the held file.
	if err := os.Rename(filepath.Join(base, "run", "memory.peak"), filepath.Join(base, "run", "moved")); err != nil {
		t.Fatal(err)
	}
	if a, err := c.final(); err != nil || a != (accounting{CPU: 2500 * time.Microsecond, User: 2 * time.Millisecond, System: 500 * time.Microsecond, MemPeak: 8 << 20, OOMKills: 2, PidsPeak: 9}) {
		t.Errorf("final() after prefetch = %+v, %v", a, err)
	}
	c.release()
	if len(c.held) != 0 {
		t.Errorf("release left %d files open", len(c.held))
	}
	c.kill()
	if got := read(t, filepath.Join(base, "run", "cgroup.kill")); got != "1" {
		t.Errorf("kill wrote %q to cgroup.kill", got)
	}
}

// TestRunCgroupV2NoSwapAccounting: a kernel booted with swapaccount=0 has
// no memory.swap.* files; a memory limit must still apply.
func TestRunCgroupV2NoSwapAccounting(t *testing.T) {
	base := filepath.Join(t.TempDir(), "ct")
	writeFiles(t, base, map[string]string{"cgroup.controllers": "cpu memory pids\n", "cgroup.subtree_control": "", "init/cgroup.procs": ""})
	fs := fakeKernel(t, map[string]string{"cpu.stat": "usage_usec 0\n", "memory.max": "max\n", "pids.max": "max\n", "cgroup.procs": ""})
	if _, err := fs.newV2(base, "run", 0, 64<<20, 0); err != nil {
		t.Fatalf("memory limit without swap accounting: %v", err)
	}
	if got := read(t, filepath.Join(base, "run", "memory.max")); got != "67108864" {
		t.Errorf("memory.max = %q", got)
	}
	if _, err := os.Stat(filepath.Join(base, "run", "memory.swap.max")); err == nil {
		t.Error("memory.swap.max was created")
	}
}

// TestRunCgroupPeakWithoutPeakFiles: kernels before 5.19 keep no
// memory.peak, and before 6.1 no pids.peak: the peak is the highest sample
// or the current value, or the limit when the kernel says it was hit.
func TestRunCgroupPeakWithoutPeakFiles(t *testing.T) {
	for _, tc := range []struct {
		name              string
		files             map[string]string
		samples           []string // memory.current before each sample
		wantMem, wantPids int64
	}{
		{"sampled", map[string]string{"memory.current": "1000\n", "memory.events": "max 0\n", "pids.current": "2\n", "pids.events": "max 0\n"},
			[]string{"5000\n", "3000\n"}, 5000, 2},
		{"current above the samples", map[string]string{"memory.current": "9000\n", "memory.events": "max 0\n", "pids.current": "4\n", "pids.events": "max 0\n"},
			[]string{"5000\n"}, 9000, 4},
		{"limits hit", map[string]string{"memory.current": "0\n", "memory.events": "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n", "pids.current": "0\n", "pids.events": "max 3\n"},
			nil, 64 << 20, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := filepath.Join(t.TempDir(), "ct")
			writeFiles(t, base, map[string]string{"cgroup.controllers": "cpu memory pids\n", "cgroup.subtree_control": "", "init/cgroup.procs": ""})
			files := map[string]string{"cpu.stat": "usage_usec 0\n", "memory.max": "max\n", "pids.max": "max\n", "cgroup.procs": ""}
			for k, v := range tc.files {
				files[k] = v
			}
			c, err := fakeKernel(t, files).newV2(base, "run", 0, 64<<20, 10)
			if err != nil {
				t.Fatal(err)
			}
			if !c.samplesPeaks() {
				t.Fatal("no peak files, yet no sampling")
			}
			run := filepath.Join(base, "run")
			for _, v := range tc.samples {
				writeFiles(t, run, map[string]string{"memory.current": v})
				c.sample()
			}
			writeFiles(t, run, map[string]string{"memory.current": tc.files["memory.current"]})
			a, err := c.final()
			if err != nil {
				t.Fatal(err)
			}
			if a.MemPeak != tc.wantMem || a.PidsPeak != tc.wantPids {
				t.Errorf("peaks: memory %d, pids %d; want %d, %d", a.MemPeak, a.PidsPeak, tc.wantMem, tc.wantPids)
			}
		})
	}
}

// TestRunCgroupPidsPeakAtLimit: the kernel's pids.peak is updated without
// a lock, and two racing forks can leave it one short of the limit they
// reached. A refused fork (pids.events max) means the count stood at the
// limit, which is then the peak.
func TestRunCgroupPidsPeakAtLimit(t *testing.T) {
	for _, tc := range []struct {
		name      string
		peak, evt string // peak "": no pids.peak (before Linux 6.1)
		current   string
		limit     int64
		want      int64
	}{
		{"limit not hit", "7\n", "max 0\n", "1\n", 10, 7},
		{"hit, peak one short", "9\n", "max 2\n", "1\n", 10, 10},
		{"hit, peak exact", "10\n", "max 5\n", "1\n", 10, 10},
		{"no limit of its own", "9\n", "max 2\n", "1\n", 0, 9},
		// Far below its own limit: another limit refused the fork.
		{"an ancestor refused", "3\n", "max 1\n", "1\n", 1000, 3},
		{"no peak file, limit not hit", "", "max 0\n", "7\n", 10, 7},
		{"no peak file, hit between samples", "", "max 3\n", "2\n", 10, 10},
		// pids.current counts a refused fork until it is taken back.
		{"no peak file, sampled a refused fork", "", "max 1\n", "11\n", 10, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := filepath.Join(t.TempDir(), "ct")
			writeFiles(t, base, map[string]string{"cgroup.controllers": "cpu memory pids\n", "cgroup.subtree_control": "", "init/cgroup.procs": ""})
			files := map[string]string{
				"cpu.stat": "usage_usec 0\n", "memory.max": "max\n", "memory.peak": "0\n", "memory.events": "max 0\n",
				"pids.max": "max\n", "pids.current": tc.current, "pids.events": tc.evt, "cgroup.procs": "",
			}
			if tc.peak != "" {
				files["pids.peak"] = tc.peak
			}
			c, err := fakeKernel(t, files).newV2(base, "run", 0, 0, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			c.sample()
			c.prefetch()
			defer c.release()
			a, err := c.final()
			if err != nil {
				t.Fatal(err)
			}
			if a.PidsPeak != tc.want {
				t.Errorf("pids peak %d, want %d", a.PidsPeak, tc.want)
			}
		})
	}
}

func TestRunCgroupV1(t *testing.T) {
	root := t.TempDir()
	paths := map[string]string{}
	for _, ctrl := range []string{"cpuacct", "memory", "pids", "freezer"} {
		paths[ctrl] = filepath.Join(root, ctrl, "ct")
	}
	for _, ctrl := range []string{"cpuacct", "memory", "pids", "freezer"} {
		writeFiles(t, filepath.Join(root, ctrl, "ct"), map[string]string{"cgroup.procs": ""})
	}
	// Each hierarchy's kernel puts its own files in the run's directory.
	fs := fakeKernel(t, map[string]string{
		"cgroup.procs":                   "",
		"ct/cpuacct.usage":               "3000000\n",
		"ct/cpuacct.usage_user":          "2800000\n",
		"ct/cpuacct.usage_sys":           "400000\n",
		"ct/memory.limit_in_bytes":       "9223372036854771712\n",
		"ct/memory.memsw.limit_in_bytes": "9223372036854771712\n",
		"ct/memory.max_usage_in_bytes":   "1048576\n",
		"ct/memory.oom_control":          "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
		"ct/pids.max":                    "max\n",
		"ct/pids.peak":                   "3\n",
	})
	c, err := fs.newV1(paths, "run", 32<<20, 5)
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"memory/ct/run/memory.limit_in_bytes": "33554432", "memory/ct/run/memory.memsw.limit_in_bytes": "33554432",
		"pids/ct/run/pids.max": "5",
	} {
		if got := read(t, filepath.Join(root, file)); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "freezer", "ct", "run")); err == nil {
		t.Error("a run cgroup was made in a hierarchy that does not need one")
	}
	if err := c.add(77); err != nil {
		t.Fatal(err)
	}
	for _, ctrl := range v1Controllers {
		if got := read(t, filepath.Join(root, ctrl, "ct", "run", "cgroup.procs")); got != "77" {
			t.Errorf("%s cgroup.procs %q", ctrl, got)
		}
	}
	a, err := c.final()
	if err != nil {
		t.Fatal(err)
	}
	// The tick-sampled user/sys split is scaled to the precise total.
	if a.CPU != 3*time.Millisecond || a.User+a.System != a.CPU || a.User <= a.System {
		t.Errorf("cpu %v = user %v + system %v", a.CPU, a.User, a.System)
	}
	if a.MemPeak != 1<<20 || a.OOMKills != 0 || a.PidsPeak != 3 {
		t.Errorf("final() = %+v", a)
	}
	// Held open by prefetch, the files are reread at the end, not cached.
	c.prefetch()
	if len(c.held) != 5 {
		t.Errorf("prefetch holds %d files, want 5", len(c.held))
	}
	for file, content := range map[string]string{
		"cpuacct/ct/run/cpuacct.usage_user": "100\n", "cpuacct/ct/run/cpuacct.usage_sys": "300\n",
		"memory/ct/run/memory.max_usage_in_bytes": "2097152\n", "memory/ct/run/memory.oom_control": "oom_kill 1\n",
		"pids/ct/run/pids.peak": "4\n",
	} {
		writeFiles(t, root, map[string]string{file: content})
	}
	// Gone by name, still read through the held file.
	if err := os.Rename(filepath.Join(root, "pids/ct/run/pids.peak"), filepath.Join(root, "pids/ct/run/moved")); err != nil {
		t.Fatal(err)
	}
	a, err = c.final()
	if err != nil || a.User >= a.System || a.MemPeak != 2<<20 || a.OOMKills != 1 || a.PidsPeak != 4 {
		t.Errorf("final() after prefetch = %+v, %v", a, err)
	}
	c.release()
	if len(c.held) != 0 {
		t.Errorf("release left %d files open", len(c.held))
	}
	checkPreopen(t, c, root)
}

// checkPreopen: a spare's preopened tasks files are handed to the first
// run, which writes through them; later runs open their own; release
// closes those never handed over.
func checkPreopen(t *testing.T, c *cgroupV1, root string) {
	t.Helper()
	for _, ctrl := range v1Controllers {
		writeFiles(t, filepath.Join(root, ctrl, "ct", "run"), map[string]string{"tasks": ""})
	}
	c.preopen()
	// pids.peak was moved away above: four of the five final reads.
	if len(c.join) != len(v1Controllers) || len(c.held) != 4 {
		t.Fatalf("preopen: %d tasks files, %d held, want %d and 4", len(c.join), len(c.held), len(v1Controllers))
	}
	want := c.join
	files, err := c.joinFiles()
	if err != nil || len(files) != len(want) || files[0] != want[0] || c.join != nil {
		t.Fatalf("joinFiles after preopen: %v %v, want the preopened files", files, err)
	}
	for _, f := range files {
		if _, err := f.WriteString("0"); err != nil {
			t.Error(err)
		}
	}
	closeAll(files)
	if got := read(t, filepath.Join(root, "pids", "ct", "run", "tasks")); got != "0" {
		t.Errorf("pids tasks %q, want 0", got)
	}
	files, err = c.joinFiles()
	if err != nil || len(files) != len(v1Controllers) {
		t.Fatalf("joinFiles after the preopened were taken: %v %v", files, err)
	}
	closeAll(files)
	c.preopen()
	kept := c.join[0]
	c.release()
	if c.join != nil || kept.Close() == nil {
		t.Error("release left the preopened tasks files open")
	}
}

func TestRunCgroupMissingController(t *testing.T) {
	root := t.TempDir()
	_, err := kernelFS.newV1(map[string]string{"memory": root}, "run", 0, 0)
	if err == nil || !strings.Contains(err.Error(), "cpuacct") {
		t.Errorf("err = %v, want one naming the missing cpuacct cgroup", err)
	}
	if _, err := kernelFS.newV2("", "run", 0, 0, 0); err == nil {
		t.Error("v2 without a path succeeded")
	}
}

func TestKeyValue(t *testing.T) {
	data := []byte("usage_usec 12\nuser_usec 7\nsystem_usec 5\n")
	for key, want := range map[string]int64{"usage_usec": 12, "user_usec": 7, "system_usec": 5} {
		if got, ok := keyValue(data, key); !ok || got != want {
			t.Errorf("keyValue(%s) = %d, %v", key, got, ok)
		}
	}
	if _, ok := keyValue(data, "usage"); ok {
		t.Error("a key prefix matched")
	}
}

// TestTargetProcesses: a container's processes are those of its cgroup
// and of every cgroup below it, on v1 (the pids hierarchy) and on v2,
// without the 0 a v2 kernel before 6.18 can list for an exiting member.
func TestTargetProcesses(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"pids/ct/cgroup.procs":           "1234\n",
		"pids/ct/run-1/cgroup.procs":     "",
		"pids/ct/run-2/cgroup.procs":     "2001\n2002\n",
		"pids/ct/run-2/sub/cgroup.procs": "2003\n",
		"unified/ct/init/cgroup.procs":   "1234\n",
		"unified/ct/run-3/cgroup.procs":  "0\n3001\n",
		"unified/ct/cgroup.procs":        "",
	})
	for _, tc := range []struct {
		name   string
		target Target
		want   []int
	}{
		{"v1", Target{CgroupPaths: map[string]string{"pids": filepath.Join(root, "pids/ct")}}, []int{1234, 2001, 2002, 2003}},
		{"v2", Target{CgroupV2: true, CgroupPaths: map[string]string{"": filepath.Join(root, "unified/ct")}}, []int{1234, 3001}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.target.Processes()
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("processes %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := (&Target{CgroupPaths: map[string]string{}}).Processes(); err == nil {
		t.Error("a target without a pids cgroup listed processes")
	}
}

// TestMakeDir: a run directory is made whether or not a stale one of the
// same name is in the way, which is removed and made again; a file there
// is an error.
func TestMakeDir(t *testing.T) {
	tests := []struct {
		name       string
		before     func(t *testing.T, d string)
		wantMkdirs int
		wantErr    bool
	}{
		{name: "absent", before: func(*testing.T, string) {}, wantMkdirs: 1},
		{name: "stale", before: func(t *testing.T, d string) {
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
		}, wantMkdirs: 2},
		{name: "a file", before: func(t *testing.T, d string) {
			if err := os.WriteFile(d, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, wantMkdirs: 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := filepath.Join(t.TempDir(), "run")
			tt.before(t, d)
			mkdirs := 0
			fs := cgroupFS{mkdir: func(dir string) error {
				mkdirs++
				return kernelFS.mkdir(dir)
			}}
			err := fs.makeDir(d)
			if (err != nil) != tt.wantErr || mkdirs != tt.wantMkdirs {
				t.Fatalf("makeDir: %v after %d mkdirs, want an error: %v, %d mkdirs", err, mkdirs, tt.wantErr, tt.wantMkdirs)
			}
			if st, serr := os.Stat(d); !tt.wantErr && (serr != nil || !st.IsDir()) {
				t.Errorf("after makeDir: %v, want a directory", serr)
			}
		})
	}
}

// A spare made with one run's limits and taken for a run with others
// ends with the control files a cgroup made for the new limits has.
func TestSpareLimitsChange(t *testing.T) {
	for _, tc := range []struct {
		name      string
		set, want runLimits
		writes    bool
	}{
		{"the same limits", runLimits{64 << 20, 1}, runLimits{64 << 20, 1}, false},
		{"none, as before", runLimits{}, runLimits{}, false},
		{"a memory limit added", runLimits{0, 1}, runLimits{32 << 20, 1}, true},
		{"a memory limit lifted", runLimits{32 << 20, 1}, runLimits{0, 1}, true},
		{"a memory limit raised", runLimits{32 << 20, 1}, runLimits{64 << 20, 1}, true},
		{"a memory limit lowered", runLimits{64 << 20, 1}, runLimits{32 << 20, 1}, true},
		{"a pids limit added", runLimits{0, 0}, runLimits{0, 4}, true},
		{"a pids limit lifted", runLimits{0, 4}, runLimits{0, 0}, true},
		{"a pids limit changed", runLimits{0, 4}, runLimits{0, 1}, true},
		{"both changed", runLimits{32 << 20, 4}, runLimits{64 << 20, 1}, true},
		{"both lifted", runLimits{32 << 20, 4}, runLimits{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, n := tc.set.change(tc.want)
			if writes := m != 0 || n != 0; writes != tc.writes {
				t.Fatalf("change(%+v) from %+v = %d, %d: writes %v, want %v", tc.want, tc.set, m, n, writes, tc.writes)
			}
			checkSpareV2(t, tc.set, tc.want, m, n)
			checkSpareV1(t, tc.set, tc.want, m, n)
		})
	}
}

// freshAndSpare makes, with mk, a cgroup named fresh with want and one
// named spare with set, and writes m and n to the spare.
func freshAndSpare(t *testing.T, mk func(name string, l runLimits) (runCgroup, error), set, want runLimits, m, n int64) {
	t.Helper()
	fresh, err := mk("fresh", want)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fresh.release)
	spare, err := mk("spare", set)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(spare.release)
	if err := spare.setLimits(m, n); err != nil {
		t.Fatal(err)
	}
}

// checkSpareV2 makes a v2 spare with set, writes m and n to it, and
// compares it with a v2 cgroup made with want.
func checkSpareV2(t *testing.T, set, want runLimits, m, n int64) {
	t.Helper()
	base := filepath.Join(t.TempDir(), "ct")
	writeFiles(t, base, map[string]string{"cgroup.controllers": "cpu memory pids\n", "cgroup.subtree_control": "", "cgroup.procs": "", "init/cgroup.procs": ""})
	fs := fakeKernel(t, map[string]string{
		"cpu.stat": "usage_usec 0\n", "memory.max": "max\n", "memory.swap.max": "max\n",
		"pids.max": "max\n", "cgroup.procs": "",
	})
	freshAndSpare(t, func(name string, l runLimits) (runCgroup, error) {
		return fs.newV2(base, name, 0, l.memory, l.pids)
	}, set, want, m, n)
	for _, f := range []string{"memory.max", "memory.swap.max", "pids.max"} {
		if got, want := read(t, filepath.Join(base, "spare", f)), read(t, filepath.Join(base, "fresh", f)); got != want {
			t.Errorf("v2 %s = %q, want %q as in a new cgroup", f, got, want)
		}
	}
}

// checkSpareV1 is checkSpareV2 on a v1 tree.
func checkSpareV1(t *testing.T, set, want runLimits, m, n int64) {
	t.Helper()
	root, paths, fs := fakeV1Tree(t)
	freshAndSpare(t, func(name string, l runLimits) (runCgroup, error) {
		return fs.newV1(paths, name, l.memory, l.pids)
	}, set, want, m, n)
	for _, f := range []string{"memory/ct/%s/memory.limit_in_bytes", "memory/ct/%s/memory.memsw.limit_in_bytes", "pids/ct/%s/pids.max"} {
		got, want := read(t, filepath.Join(root, fmt.Sprintf(f, "spare"))), read(t, filepath.Join(root, fmt.Sprintf(f, "fresh")))
		// A new v1 cgroup says unlimited with the largest page multiple;
		// a lifted limit was written -1, which the kernel reads back so.
		if want == "9223372036854771712" && got == "-1" {
			continue
		}
		if got != want {
			t.Errorf("v1 %s = %q, want %q as in a new cgroup", fmt.Sprintf(f, "spare"), got, want)
		}
	}
}
