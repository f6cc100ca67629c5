package supervise

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mini-isolate/mini-isolate/runtime/proc"
)

// fakeV1Tree is a container "ct" in fake v1 hierarchies under root, and
// the fake kernel that fills the run directories made in it.
func fakeV1Tree(t *testing.T) (root string, paths map[string]string, fs cgroupFS) {
	t.Helper()
	root = t.TempDir()
	paths = map[string]string{}
	for _, ctrl := range v1Controllers {
		paths[ctrl] = filepath.Join(root, ctrl, "ct")
		writeFiles(t, paths[ctrl], map[string]string{"cgroup.procs": ""})
	}
	fs = fakeKernel(t, map[string]string{
		"cgroup.procs": "", "tasks": "", "ct/cpuacct.usage": "0\n",
		"ct/memory.limit_in_bytes":       "9223372036854771712\n",
		"ct/memory.memsw.limit_in_bytes": "9223372036854771712\n",
		"ct/pids.max":                    "max\n",
	})
	return root, paths, fs
}

// fakeV1Container is fakeV1Tree's container, with this process standing
// for its init.
func fakeV1Container(t *testing.T) (*Config, cgroupFS) {
	t.Helper()
	_, paths, fs := fakeV1Tree(t)
	start, err := proc.StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	return &Config{Target: Target{InitPid: os.Getpid(), InitStart: start, CgroupPaths: paths}, RunCgroup: "run"}, fs
}

// runDirs counts the run directories under a container's cgroups.
func runDirs(t *testing.T, cfg *Config) int {
	t.Helper()
	n := 0
	for _, ctrl := range v1Controllers {
		m, err := filepath.Glob(filepath.Join(cfg.CgroupPaths[ctrl], "run-*"))
		if err != nil {
			t.Fatal(err)
		}
		n += len(m)
	}
	return n
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// The work after a run waits for Yield before each step: the used
// cgroup is removed and each directory made only once Yield returns.
// It leaves the container two spares, which runs then take: a run that
// comes while the work after the one before is held back takes the
// second.
func TestRunCgroupsYield(t *testing.T) {
	cfg, fs := fakeV1Container(t)
	p := NewRunCgroups()
	p.fs, p.held = fs, time.Hour
	steps := make(chan chan struct{})
	p.Yield = func(limit time.Duration) {
		if limit <= 0 || limit > p.held {
			t.Errorf("Yield(%v), want within (0, %v]", limit, p.held)
		}
		ch := make(chan struct{})
		steps <- ch
		<-ch
	}
	used := &fakeCgroup{}
	p.retire(cfg, used)
	done := make(chan struct{})
	go func() {
		p.work.Wait()
		close(done)
	}()
	// The run directories there are at each Yield: the removal, then
	// for each spare a step before it, one after each directory, and
	// one before its files are opened.
	want := []int{0, 0, 1, 2, 3, 3, 3, 4, 5, 6, 6}
	var got []int
	for {
		var step chan struct{}
		select {
		case step = <-steps:
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("the background work stalled after %d steps", len(got))
		}
		if step == nil {
			break
		}
		if removed := used.removed; removed != (len(got) > 0) || used.killed != removed {
			t.Fatalf("step %d: the used cgroup removed: %v, killed first: %v", len(got)+1, removed, used.killed)
		}
		got = append(got, runDirs(t, cfg))
		close(step)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("run directories at each Yield %v, want %v", got, want)
	}
	seen := map[string]bool{}
	for i := 0; i < 2; i++ {
		sp := p.take(&cfg.Target)
		if sp == nil {
			t.Fatalf("take %d: no spare", i+1)
		}
		if seen[sp.dir] {
			t.Fatalf("take %d: spare %s again", i+1, sp.dir)
		}
		seen[sp.dir] = true
		sp.cg.release() // a fake tree's directories hold files: no rmdir
	}
	if sp := p.take(&cfg.Target); sp != nil {
		t.Errorf("a spare %s beyond the two made", sp.dir)
	}
	if p.count != 0 {
		t.Errorf("%d spares counted after all were taken", p.count)
	}
}

// Held back for good, the work goes on once it was held for its budget,
// and makes the spares all the same.
func TestRunCgroupsHeldBudget(t *testing.T) {
	cfg, fs := fakeV1Container(t)
	p := NewRunCgroups()
	p.fs, p.held = fs, 50*time.Millisecond
	var limits []time.Duration
	p.Yield = func(limit time.Duration) {
		limits = append(limits, limit)
		time.Sleep(limit) // as for a request that never ends
	}
	t0 := time.Now()
	p.retire(cfg, &fakeCgroup{})
	p.work.Wait()
	if d := time.Since(t0); d < p.held {
		t.Errorf("done after %v, held less than the budget %v", d, p.held)
	}
	if len(limits) == 0 || len(limits) > 3 || limits[0] > p.held {
		t.Errorf("Yield limits %v, want a few, the first at most %v", limits, p.held)
	}
	if got := runDirs(t, cfg) / len(v1Controllers); got != 2 {
		t.Errorf("%d spares, want 2", got)
	}
}

// Without Yield the work runs at once; a container that is gone gets no
// spare; Close releases the spares' files, and none is left to take.
func TestRunCgroupsGoneAndClose(t *testing.T) {
	for _, tc := range []struct {
		name   string
		gone   bool
		spares int
	}{
		{"alive", false, 2},
		{"init gone", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, fs := fakeV1Container(t)
			if tc.gone {
				cfg.InitStart++ // another process with the init's pid
			}
			p := NewRunCgroups()
			p.fs = fs
			before := openFDs(t)
			p.retire(cfg, &fakeCgroup{})
			p.work.Wait()
			if got := runDirs(t, cfg) / len(v1Controllers); got != tc.spares {
				t.Fatalf("%d spares, want %d", got, tc.spares)
			}
			if tc.spares > 0 && openFDs(t) <= before {
				t.Fatal("the spares hold no files open")
			}
			p.Close()
			if after := openFDs(t); after != before {
				t.Errorf("%d descriptors open after Close, want %d as before", after, before)
			}
			if sp := p.take(&cfg.Target); sp != nil || p.count != 0 {
				t.Errorf("after Close: spare %v taken, %d counted", sp, p.count)
			}
		})
	}
}

// At the bound, the spares of containers that are gone are forgotten;
// were all alive, one container's are removed to make room.
func TestDropGone(t *testing.T) {
	alive := t.TempDir()
	gone := filepath.Join(alive, "gone")
	for _, tc := range []struct {
		name         string
		alive, gone  int // containers with two spares each
		wantCount    int
		wantReleased int // spares of gone containers, forgotten
		wantRemoved  int // spares of live containers, removed
	}{
		{"some gone", 3, 2, 6, 4, 0},
		{"all alive, at the bound", maxSpareCgroups / 2, 0, maxSpareCgroups - 2, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewRunCgroups()
			var all []*fakeCgroup
			add := func(key, dir string) {
				for i := 0; i < 2; i++ {
					f := &fakeCgroup{}
					all = append(all, f)
					p.spares[key] = append(p.spares[key], &spareCgroup{cg: f, dir: dir})
					p.count++
				}
			}
			for i := 0; i < tc.alive; i++ {
				add(fmt.Sprint("alive", i), alive)
			}
			for i := 0; i < tc.gone; i++ {
				add(fmt.Sprint("gone", i), gone)
			}
			p.dropGoneLocked()
			released, removed, kept := 0, 0, 0
			for _, list := range p.spares {
				kept += len(list)
			}
			for _, f := range all {
				switch {
				case f.removed:
					removed++
				case f.released:
					released++
				}
			}
			if p.count != tc.wantCount || kept != tc.wantCount || released != tc.wantReleased || removed != tc.wantRemoved {
				t.Errorf("count %d, kept %d, released %d, removed %d; want %d, %d, %d, %d",
					p.count, kept, released, removed, tc.wantCount, tc.wantCount, tc.wantReleased, tc.wantRemoved)
			}
		})
	}
}
