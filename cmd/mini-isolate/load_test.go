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

// timedRun runs /bin/true once in box id, with its report in metaPath,
// and returns how long it took.
func timedRun(t *testing.T, e *isoEnv, id int, metaPath string) time.Duration {
	t.Helper()
	began := time.Now()
	res := e.iso("-b", strconv.Itoa(id), "-s", "-t", "1", "-M", metaPath, "--run", "--", "/bin/true")
	took := time.Since(began)
	if res.Code != 0 {
		report, _ := os.ReadFile(metaPath)
		t.Fatalf("box %d: exit %d %q, meta:\n%s", id, res.Code, res.Stderr, report)
	}
	return took
}

// timedRuns runs /bin/true n times in box id and returns each run's time.
func timedRuns(t *testing.T, e *isoEnv, id, n int) []time.Duration {
	t.Helper()
	metaPath := filepath.Join(t.TempDir(), "meta")
	times := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		times = append(times, timedRun(t, e, id, metaPath))
	}
	return times
}

// checkNoSlowdown fails if the boxes in used, which have served many runs,
// became slower than box fresh, initialised now. The boxes take turns run
// by run, so that load from elsewhere on the host hits them alike: what
// remains is growth with a box's history.
func checkNoSlowdown(t *testing.T, e *isoEnv, fresh int, used ...int) {
	t.Helper()
	e.init(t, fresh)
	timedRuns(t, e, fresh, 10) // warm up
	metaPath := filepath.Join(t.TempDir(), "meta")
	times := map[int][]time.Duration{}
	for i := 0; i < 60; i++ {
		for _, id := range append([]int{fresh}, used...) {
			times[id] = append(times[id], timedRun(t, e, id, metaPath))
		}
	}
	base := median(times[fresh])
	for _, id := range used {
		m := median(times[id])
		t.Logf("box %d: median run %v; fresh box %d, in turn with it: %v", id, m, fresh, base)
		if m > base*3/2+2*time.Millisecond {
			t.Errorf("box %d got slower with use: median run %v against %v in a fresh box", id, m, base)
		}
	}
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
	// Only logged: these two windows are seconds apart, and host load
	// can change between them. checkNoSlowdown is the check.
	t.Logf("1000 runs: median of the first 100 %v, of the last 100 %v", median(times[:100]), median(times[len(times)-100:]))
	checkNoSlowdown(t, e, 53, 50)
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
	}
	checkNoSlowdown(t, e, 53, 51, 52)
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
