package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mini-isolate/mini-isolate/internal/testutil"
)

// hostUsage is what a long series of runs must not make grow.
type hostUsage struct {
	initFDs   int   // open fds of the box's judge init
	initRSS   int64 // its resident memory, KiB
	mounts    int   // mounts in the host namespace
	cgroups   int   // cgroup directories below the boxes' parent
	processes int   // processes on the host
}

func countDir(path string) int {
	entries, err := os.ReadDir(path)
	if err != nil {
		return -1
	}
	return len(entries)
}

func measure(t *testing.T, e *isoEnv, box string, cgParent string) hostUsage {
	t.Helper()
	var u hostUsage
	pid := e.r.State(box).Pid
	u.initFDs = countDir(fmt.Sprintf("/proc/%d/fd", pid))
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			u.initRSS, _ = strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
		}
	}
	// Only mounts of ours count: other test packages may mount at the
	// same time.
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	u.mounts = strings.Count(string(mounts), e.boxRoot) + strings.Count(string(mounts), cgParent)
	for _, root := range []string{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup"} {
		_ = filepath.WalkDir(filepath.Join(root, cgParent), func(_ string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				u.cgroups++
			}
			return nil
		})
	}
	u.processes = countDir("/proc")
	return u
}

// timedRuns runs /bin/true n times in box id and returns each run's time.
func timedRuns(t *testing.T, e *isoEnv, id, n int) []time.Duration {
	t.Helper()
	times := make([]time.Duration, 0, n)
	metaPath := filepath.Join(t.TempDir(), "meta")
	for i := 0; i < n; i++ {
		began := time.Now()
		res := e.iso("-b", strconv.Itoa(id), "-s", "-t", "1", "-M", metaPath, "--run", "--", "/bin/true")
		times = append(times, time.Since(began))
		if res.Code != 0 {
			report, _ := os.ReadFile(metaPath)
			t.Fatalf("run %d: exit %d %q, meta:\n%s", i, res.Code, res.Stderr, report)
		}
	}
	return times
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func compareUsage(t *testing.T, before, after hostUsage) {
	t.Helper()
	if after.initFDs > before.initFDs {
		t.Errorf("the init's open fds grew from %d to %d", before.initFDs, after.initFDs)
	}
	if after.initRSS > before.initRSS+256 {
		t.Errorf("the init's memory grew from %d to %d KiB", before.initRSS, after.initRSS)
	}
	if after.mounts != before.mounts {
		t.Errorf("host mounts went from %d to %d", before.mounts, after.mounts)
	}
	if after.cgroups > before.cgroups {
		t.Errorf("cgroups went from %d to %d", before.cgroups, after.cgroups)
	}
	// Other tests' processes may come and go; a leak of one per run would not.
	if after.processes > before.processes+20 {
		t.Errorf("host processes went from %d to %d", before.processes, after.processes)
	}
}

func TestLoadThousandRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the load test takes half a minute")
	}
	e := newIsoEnv(t)
	e.init(t, 50)
	cgParent := "mini-isolate-test-" + e.r.ID("cg")
	timedRuns(t, e, 50, 20) // warm up
	before := measure(t, e, "box-50", cgParent)
	times := timedRuns(t, e, 50, 1000)
	after := measure(t, e, "box-50", cgParent)
	compareUsage(t, before, after)
	first, last := median(times[:100]), median(times[len(times)-100:])
	t.Logf("1000 runs: median of the first 100 %v, of the last 100 %v", first, last)
	if last > first*3/2+2*time.Millisecond {
		t.Errorf("runs slowed down from %v to %v", first, last)
	}
}

func TestLoadParallelBoxes(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the load test takes a while")
	}
	e := newIsoEnv(t)
	e.init(t, 51)
	e.init(t, 52)
	cgParent := "mini-isolate-test-" + e.r.ID("cg")
	timedRuns(t, e, 51, 10)
	timedRuns(t, e, 52, 10)
	before := [2]hostUsage{measure(t, e, "box-51", cgParent), measure(t, e, "box-52", cgParent)}
	var wg sync.WaitGroup
	results := make([][]time.Duration, 2)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = timedRuns(t, e, 51+i, 200)
		}()
	}
	wg.Wait()
	for i := 0; i < 2; i++ {
		compareUsage(t, before[i], measure(t, e, "box-"+strconv.Itoa(51+i), cgParent))
		first, last := median(results[i][:40]), median(results[i][len(results[i])-40:])
		if last > first*3/2+2*time.Millisecond {
			t.Errorf("box %d slowed down from %v to %v", 51+i, first, last)
		}
	}
}

func TestLoadColdRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the load test takes a while")
	}
	// Judged containers made and deleted one after another leave nothing.
	r := testutil.NewRunner(t)
	bundle, _ := testutil.JudgeBundle(t, []string{"/bin/burn", "1"}, map[string]string{"time": "1"}, nil)
	countState := func() int { return countDir(r.Root) }
	mounts := func() int { m, _ := os.ReadFile("/proc/self/mountinfo"); return strings.Count(string(m), bundle) }
	before, beforeState := mounts(), countState()
	for i := 0; i < 100; i++ {
		id := r.ID("cold" + strconv.Itoa(i))
		if res := r.Run("run", "--bundle", bundle, "--meta", filepath.Join(t.TempDir(), "m"), id); res.Code != 0 {
			t.Fatalf("run %d: %s", i, res.Stderr)
		}
		if dirs := testutil.CgroupDirs(id); len(dirs) > 0 {
			t.Fatalf("run %d left cgroups: %v", i, dirs)
		}
	}
	if after := mounts(); after != before {
		t.Errorf("host mounts went from %d to %d", before, after)
	}
	if after := countState(); after != beforeState {
		t.Errorf("state entries went from %d to %d", beforeState, after)
	}
}
