package main_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/box"
	"github.com/mini-isolate/mini-isolate/internal/testutil"
	"github.com/mini-isolate/mini-isolate/manager"
	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/runtime/supervise"
)

// managedEnv is an isolate environment whose configuration asks for spare
// boxes: the front end starts a manager on its first call.
type managedEnv struct {
	*isoEnv
	socket string
}

func newManagedEnv(t *testing.T, spares int) *managedEnv {
	t.Helper()
	e := newIsoEnv(t)
	appendConfig(t, e.conf, fmt.Sprintf("spare_boxes = %d\nmanager_idle = 600\n", spares))
	m := &managedEnv{isoEnv: e, socket: filepath.Join(filepath.Dir(e.conf), "locks", "manager.sock")}
	t.Cleanup(func() { m.stop(t) })
	return m
}

// stop ends the manager and checks that nothing it made is left: no
// container in the state root, no spare or retired box directory.
func (m *managedEnv) stop(t *testing.T) {
	for id := 0; id < 100; id++ {
		if _, err := os.Stat(filepath.Join(m.boxRoot, strconv.Itoa(id))); err == nil {
			m.iso("-b", strconv.Itoa(id), "--cleanup")
		}
	}
	m.shutdown(t)
	for _, d := range []string{".spares", ".trash"} {
		if left, _ := filepath.Glob(filepath.Join(m.boxRoot, d, "*")); len(left) > 0 {
			t.Errorf("left in %s: %v", d, left)
		}
	}
	if out := m.r.Run("list", "-q").Stdout; strings.TrimSpace(out) != "" {
		log, _ := os.ReadFile(filepath.Join(filepath.Dir(m.socket), "manager.log"))
		t.Errorf("containers left: %q; the managers' log:\n%s", out, log)
	}
}

// shutdown asks the manager, if one runs, to shut down, and waits until
// it has exited.
func (m *managedEnv) shutdown(t *testing.T) {
	t.Helper()
	pid := m.pid()
	if pid <= 0 {
		return
	}
	if c, err := manager.Dial(m.socket); err == nil {
		_, _ = c.Do(&manager.Request{Op: "shutdown"})
		c.Close()
	}
	testutil.Eventually(t, 30*time.Second, "the manager to exit", func() bool { return syscall.Kill(pid, 0) != nil })
}

// startSleeper initialises box id and starts the sleeper there through the
// front end, with wall-time limit wall, and returns once it runs.
func (m *managedEnv) startSleeper(t *testing.T, id int, wall string) *exec.Cmd {
	t.Helper()
	copyProg(t, m.init(t, id), "sleeper")
	cmd := m.r.Command(t.Context(), "isolate", "-b", strconv.Itoa(id), "-w", wall, "--run", "--", "./sleeper")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "the sleeper to start", func() bool { return pgrep("sleeper") > 0 })
	return cmd
}

// client initialises box id, which starts the manager, and connects to
// it; the connection closes when the test ends.
func (m *managedEnv) client(t *testing.T, id int) *manager.Client {
	t.Helper()
	m.init(t, id)
	c, err := manager.Dial(m.socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// pid finds the manager serving the socket, or 0.
func (m *managedEnv) pid() int {
	c, err := manager.Dial(m.socket)
	if err != nil {
		return 0
	}
	defer c.Close()
	pid, _ := c.ServerPID()
	return pid
}

// spares lists the containers of the spare directories waiting (a
// recycled one's directory has a suffix after a dot).
func (m *managedEnv) spares() []string {
	entries, _ := os.ReadDir(filepath.Join(m.boxRoot, ".spares"))
	var names []string
	for _, e := range entries {
		name, _, _ := strings.Cut(e.Name(), ".")
		names = append(names, name)
	}
	return names
}

// readySpare waits for a spare whose container is made, its box state
// written last (its directory is made first), and returns the container.
func (m *managedEnv) readySpare(t *testing.T) string {
	t.Helper()
	var ready string
	testutil.Eventually(t, testutil.Slack(60*time.Second), "a spare box's container", func() bool {
		dirs, _ := filepath.Glob(filepath.Join(m.boxRoot, ".spares", "*", ".mini-isolate", "container.json"))
		if len(dirs) == 0 {
			return false
		}
		ready, _, _ = strings.Cut(filepath.Base(filepath.Dir(filepath.Dir(dirs[0]))), ".")
		return true
	})
	return ready
}

func (m *managedEnv) waitSpares(t *testing.T, n int) {
	t.Helper()
	testutil.Eventually(t, testutil.Slack(60*time.Second), fmt.Sprintf("%d spare boxes", n), func() bool { return len(m.spares()) >= n })
}

func TestManagerServesIsolate(t *testing.T) {
	m := newManagedEnv(t, 2)
	m.init(t, 3) // starts the manager
	if m.pid() == 0 {
		t.Fatal("no manager after --init with spare_boxes set")
	}
	m.waitSpares(t, 2)
	m.iso("-b", "3", "--cleanup")
	spare := m.spares()[0]
	boxDir := m.init(t, 3)
	record, _ := os.ReadFile(filepath.Join(filepath.Dir(m.conf), "locks", "3"))
	if !strings.Contains(string(record), `"container":"sbx-`) {
		t.Errorf("box 3 was not given a spare: record %s (spares were %v, first %s)", record, m.spares(), spare)
	}
	copyProg(t, boxDir, "sleeper")
	res, meta := m.run(t, 3, []string{"-p"}, "/bin/sh", "-c", "hostname; id -u; echo out > /box/f")
	if res.Code != 0 || meta["exitcode"] != "0" {
		t.Fatalf("run: exit %d %q, meta %v", res.Code, res.Stderr, meta)
	}
	if want := fmt.Sprintf("box-3\n%d\n", isoFirstUID+3); res.Stdout != want {
		t.Errorf("stdout %q, want %q: the adopted spare must look like box 3", res.Stdout, want)
	}
	if data, err := os.ReadFile(filepath.Join(boxDir, "f")); err != nil || string(data) != "out\n" {
		t.Errorf("the program's file: %q %v", data, err)
	}
	if res := m.iso("-b", "3", "--cleanup"); res.Code != 0 {
		t.Errorf("--cleanup: %s", res.Stderr)
	}
}

// TestManagerKilled kills the manager with spares made and a retired box
// waiting: the next call starts a new one, which tears down what the
// first left, and the box that was in use still works.
func TestManagerKilled(t *testing.T) {
	m := newManagedEnv(t, 2)
	m.init(t, 4)
	m.init(t, 5)
	m.waitSpares(t, 2)
	m.iso("-b", "5", "--cleanup")
	old := m.pid()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "the manager to die", func() bool { return syscall.Kill(old, 0) != nil })
	if res, meta := m.run(t, 4, nil, "/bin/true"); res.Code != 0 || meta["exitcode"] != "0" {
		t.Fatalf("a run after the manager died: exit %d %q %v", res.Code, res.Stderr, meta)
	}
	if m.pid() == 0 || m.pid() == old {
		t.Fatal("no new manager")
	}
	// The new manager's spares, and nothing of the old one's.
	m.waitSpares(t, 2)
	testutil.Eventually(t, testutil.Slack(30*time.Second), "the old spares to be torn down", func() bool {
		out := m.r.Run("list", "-q").Stdout
		return len(strings.Fields(out)) == 3 // box 4 and two spares
	})
	m.iso("-b", "4", "--cleanup")
}

// TestManagerKilledDuringInit stops the manager inside an --init that
// adopts a spare, once the spare's directory has become the box's but
// before the box is recorded as initialised, and kills it there. The next
// --init of the box, served by a new manager, must tear that container
// down: the environment's stop checks that no container is left.
func TestManagerKilledDuringInit(t *testing.T) {
	m := newManagedEnv(t, 1)
	m.init(t, 30) // starts the manager
	const id = 31
	for try := 1; !m.killInsideAdoption(t, id); try++ {
		if try == 20 {
			t.Fatal("the manager was never stopped between adopting a spare and recording the box")
		}
		m.iso("-b", strconv.Itoa(id), "--cleanup")
	}
	m.init(t, id)
	if res, meta := m.run(t, id, nil, "/bin/true"); res.Code != 0 || meta["exitcode"] != "0" {
		t.Errorf("a run in the box: exit %d %q %v", res.Code, res.Stderr, meta)
	}
	m.iso("-b", strconv.Itoa(id), "--cleanup")
	m.iso("-b", "30", "--cleanup")
}

// killInsideAdoption starts an --init of box id, stops the manager as
// soon as a spare's directory leaves the pool, and kills it. It says
// whether the manager was stopped with the box's directory in place and
// the box not yet recorded as initialised.
func (m *managedEnv) killInsideAdoption(t *testing.T, id int) bool {
	t.Helper()
	m.readySpare(t)
	pid := m.pid()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, filepath.Join(m.boxRoot, ".spares"), unix.IN_MOVED_FROM); err != nil {
		t.Fatal(err)
	}
	cmd := m.r.Command(t.Context(), "isolate", "-b", strconv.Itoa(id), "--init")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	if n, _ := unix.Poll(pfd, 10_000); n != 1 {
		// The spare was not yet in the pool: --init made a container.
		_ = cmd.Wait()
		return false
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	record, _ := os.ReadFile(filepath.Join(filepath.Dir(m.conf), "locks", strconv.Itoa(id)))
	_, statErr := os.Stat(filepath.Join(m.boxRoot, strconv.Itoa(id)))
	hit := statErr == nil && !strings.Contains(string(record), `"initialized":true`)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	testutil.Eventually(t, 30*time.Second, "the manager to die", func() bool { return syscall.Kill(pid, 0) != nil })
	return hit
}

// TestManagerSpareDied kills a spare's init while it waits in the pool:
// the --init that takes it gives the box a new container instead, and
// the box works.
func TestManagerSpareDied(t *testing.T) {
	m := newManagedEnv(t, 1)
	m.init(t, 32) // starts the manager
	spare := m.readySpare(t)
	var state struct{ Pid int }
	if err := json.Unmarshal([]byte(m.r.MustRun("state", spare).Stdout), &state); err != nil || state.Pid <= 0 {
		t.Fatalf("state of spare %s: %v", spare, err)
	}
	if err := syscall.Kill(state.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Until it has exited, its namespaces are still there to adopt; a box
	// given an init that dies after that gets a new container at its
	// next run.
	testutil.Eventually(t, 10*time.Second, "the spare's init to exit", func() bool {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", state.Pid))
		_, after, _ := strings.Cut(string(stat), ") ")
		return err != nil || strings.HasPrefix(after, "Z")
	})
	m.init(t, 33)
	// The --init took the dead spare, and made a container instead.
	log, _ := os.ReadFile(filepath.Join(filepath.Dir(m.socket), "manager.log"))
	if !strings.Contains(string(log), "spare "+spare+": ") || !strings.Contains(string(log), "making a container") {
		t.Errorf("the manager did not report giving up the dead spare %s:\n%s", spare, log)
	}
	if res, meta := m.run(t, 33, nil, "/bin/true"); res.Code != 0 || meta["exitcode"] != "0" {
		t.Errorf("a run in the box: exit %d %q %v", res.Code, res.Stderr, meta)
	}
	record, _ := os.ReadFile(filepath.Join(filepath.Dir(m.conf), "locks", "33"))
	if strings.Contains(string(record), spare) {
		t.Errorf("box 33 was given the dead spare: record %s", record)
	}
	if out := m.r.Run("list", "-q").Stdout; strings.Contains(out, spare) {
		t.Errorf("the dead spare %s is still a container: %q", spare, out)
	}
	m.iso("-b", "33", "--cleanup")
	m.iso("-b", "32", "--cleanup")
}

// TestManagerSpareDirRemoved removes a waiting spare's directory behind
// the manager's back, as an administrator's rm -rf of the box root would:
// the manager, shutting down, must still tear its container down, not
// take it for one a sweep already did.
func TestManagerSpareDirRemoved(t *testing.T) {
	m := newManagedEnv(t, 1)
	m.init(t, 37) // starts the manager
	spare := m.readySpare(t)
	dirs, _ := filepath.Glob(filepath.Join(m.boxRoot, ".spares", spare+"*"))
	if len(dirs) != 1 {
		t.Fatalf("spare %s: directories %v", spare, dirs)
	}
	must(t, os.RemoveAll(dirs[0]))
	m.iso("-b", "37", "--cleanup")
	m.shutdown(t)
	if out := m.r.Run("list", "-q").Stdout; strings.Contains(out, spare) {
		t.Errorf("the spare %s outlived its manager: %q", spare, out)
	}
}

// TestManagerLongBoxRoot gives the boxes a root so long that their init
// sockets' paths do not fit a socket address (108 bytes): a box made on
// the spot, a spare, its adoption, a run and a cleanup must all work.
func TestManagerLongBoxRoot(t *testing.T) {
	m := newManagedEnv(t, 1)
	m.boxRoot = filepath.Join(filepath.Dir(m.conf), strings.Repeat("r", 100))
	appendConfig(t, m.conf, "box_root = "+m.boxRoot+"\n")
	m.init(t, 36) // made on the spot: the manager has no spare yet
	for try := 1; ; try++ {
		spare := m.readySpare(t)
		if n := len(filepath.Join(m.boxRoot, ".spares", spare, ".mini-isolate", "init.sock")); n <= 108 {
			t.Fatalf("the spare's socket path is %d bytes: not too long for an address", n)
		}
		m.init(t, 37)
		record, _ := os.ReadFile(filepath.Join(filepath.Dir(m.conf), "locks", "37"))
		if strings.Contains(string(record), spare) {
			break
		}
		// Made, but not yet in the pool when --init looked.
		if try == 5 {
			t.Fatalf("box 37 never adopted a spare: record %s", record)
		}
		m.iso("-b", "37", "--cleanup")
	}
	for _, id := range []int{36, 37} {
		if res, meta := m.run(t, id, nil, "/bin/true"); res.Code != 0 || meta["exitcode"] != "0" {
			t.Errorf("a run in box %d: exit %d %q %v", id, res.Code, res.Stderr, meta)
		}
		if res := m.iso("-b", strconv.Itoa(id), "--cleanup"); res.Code != 0 {
			t.Errorf("--cleanup of box %d: exit %d: %s", id, res.Code, res.Stderr)
		}
	}
}

// TestManagerKilledDuringRun kills the manager while it supervises a run:
// the run ends with it, the caller is told, and the box can be used again.
func TestManagerKilledDuringRun(t *testing.T) {
	m := newManagedEnv(t, 1)
	cmd := m.startSleeper(t, 6, "60")
	if err := syscall.Kill(m.pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if cmd.ProcessState.ExitCode() != 2 {
		t.Errorf("the caller of a run whose manager died: %v, want exit 2", err)
	}
	testutil.Eventually(t, 30*time.Second, "the sleeper to be killed", func() bool { return pgrep("sleeper") == 0 })
	if res, meta := m.run(t, 6, nil, "/bin/true"); res.Code != 0 || meta["exitcode"] != "0" {
		t.Errorf("the next run: exit %d %q %v", res.Code, res.Stderr, meta)
	}
	m.iso("-b", "6", "--cleanup")
}

// TestManagerPoolExhausted inits more boxes at once than there are spares:
// those without one get a container made on the spot.
func TestManagerPoolExhausted(t *testing.T) {
	m := newManagedEnv(t, 1)
	m.init(t, 7)
	m.waitSpares(t, 1)
	var wg sync.WaitGroup
	inits := make([]testutil.Result, 4)
	for i := range inits {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inits[i] = m.iso("-b", strconv.Itoa(10+i), "--init")
		}()
	}
	wg.Wait()
	for i, res := range inits {
		if res.Code != 0 {
			t.Errorf("--init of box %d: exit %d: %s", 10+i, res.Code, res.Stderr)
		}
		if res, meta := m.run(t, 10+i, nil, "/bin/true"); res.Code != 0 || meta["exitcode"] != "0" {
			t.Errorf("box %d: exit %d %q", 10+i, res.Code, res.Stderr)
		}
		m.iso("-b", strconv.Itoa(10+i), "--cleanup")
	}
	m.iso("-b", "7", "--cleanup")
}

// TestManagerRenewsSpares cycles one box through more boxes than a
// container serves (box.MaxUses), with one spare: the pool makes a
// container's replacement while it serves its last boxes, so every
// --init adopts a spare and none builds a container while its caller
// waits.
func TestManagerRenewsSpares(t *testing.T) {
	m := newManagedEnv(t, 1)
	m.init(t, 3)
	m.iso("-b", "3", "--cleanup")
	m.waitSpares(t, 1)
	adopted := map[string]int{}
	for i := 0; i < box.MaxUses+10; i++ {
		// The last box is recycled or torn down first, so that no --init
		// depends on how soon the reaper comes to it; a spare that is
		// not there yet is not waited for.
		m.waitTrashEmpty(t)
		adopted[m.initAdopting(t, 3, fmt.Sprintf("--init %d", i))]++
		if res := m.iso("-b", "3", "--cleanup"); res.Code != 0 {
			t.Fatalf("--cleanup %d: exit %d: %s", i, res.Code, res.Stderr)
		}
	}
	if len(adopted) < 2 {
		t.Errorf("one container served all %d boxes: %v", box.MaxUses+10, adopted)
	}
	for name, n := range adopted {
		if n > box.MaxUses {
			t.Errorf("container %s served %d boxes, more than %d", name, n, box.MaxUses)
		}
	}
}

// TestManagerPinnedNotRecycled: a pinned box's container (boxN.cpus)
// runs on that box's CPUs, so it is torn down at --cleanup and never
// recycled as a spare for another box, even when the pool has room.
func TestManagerPinnedNotRecycled(t *testing.T) {
	var mine unix.CPUSet
	if err := unix.SchedGetaffinity(0, &mine); err != nil {
		t.Fatal(err)
	}
	if mine.Count() < 2 {
		t.Skip("a box pinned to one CPU needs two CPUs to differ from the others")
	}
	m := newManagedEnv(t, 1)
	m.config(t, fmt.Sprintf("box9.cpus = %d\n", lastCPU(mine)))
	m.init(t, 9)
	m.waitSpares(t, 1)
	spares := m.spares()
	var pinned string
	for _, name := range strings.Fields(m.r.Run("list", "-q").Stdout) {
		if !slices.Contains(spares, name) {
			pinned = name
		}
	}
	if pinned == "" {
		t.Fatalf("no container besides the spares %v", spares)
	}
	// Box 3 takes the spare, so the pool has room when box 9 goes.
	m.init(t, 3)
	if res := m.iso("-b", "9", "--cleanup"); res.Code != 0 {
		t.Fatalf("--cleanup: exit %d: %s", res.Code, res.Stderr)
	}
	m.waitTrashEmpty(t)
	if slices.Contains(m.spares(), pinned) || slices.Contains(strings.Fields(m.r.Run("list", "-q").Stdout), pinned) {
		t.Errorf("box 9's pinned container %s outlived its --cleanup (spares %v)", pinned, m.spares())
	}
	m.iso("-b", "3", "--cleanup")
}

// TestManagerExecAdopted: exec reaches a box container whose directory
// moved when a box adopted it: libcontainer starts an exec'd process in
// the root directory the container was made with, which is gone.
func TestManagerExecAdopted(t *testing.T) {
	m := newManagedEnv(t, 1)
	m.init(t, 2)
	m.waitSpares(t, 1)
	name := m.initAdopting(t, 3, "--init")
	for i := 0; i < 2; i++ { // the second after the first has set it right
		out := m.r.Run("exec", name, "/bin/sh", "-c", "hostname; pwd")
		if out.Code != 0 || out.Stdout != "box-3\n/box\n" {
			t.Errorf("exec %d in box 3's container %s: exit %d, stdout %q, stderr %q", i, name, out.Code, out.Stdout, out.Stderr)
		}
	}
	m.iso("-b", "3", "--cleanup")
	m.iso("-b", "2", "--cleanup")
}

// TestManagerShutdownWhileReaping shuts the manager down while its reaper
// still has retired boxes queued: those it would recycle into the pool,
// which has already been drained, must be torn down instead. The check
// that nothing is left is the environment's stop.
func TestManagerShutdownWhileReaping(t *testing.T) {
	m := newManagedEnv(t, 1)
	ids := []int{20, 21, 22, 23, 24, 25}
	for _, id := range ids {
		m.init(t, id)
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			if res := m.iso("-b", strconv.Itoa(id), "--cleanup"); res.Code != 0 {
				t.Errorf("--cleanup of box %d: exit %d: %s", id, res.Code, res.Stderr)
			}
		})
	}
	wg.Wait()
	if m.pid() == 0 {
		t.Fatal("no manager served the boxes")
	}
	m.shutdown(t)
}

// changeConfig initialises box id, which starts the manager, waits for
// its spares, and changes the configuration; it returns the manager's pid.
func (m *managedEnv) changeConfig(t *testing.T, id, spares int) int {
	t.Helper()
	m.init(t, id)
	m.waitSpares(t, spares)
	pid := m.pid()
	m.config(t, "# changed\n")
	return pid
}

// TestManagerConfigChange changes the configuration while the manager has
// spares: the next call runs without it, the manager goes away, and the
// one after starts a manager for the new configuration.
func TestManagerConfigChange(t *testing.T) {
	m := newManagedEnv(t, 1)
	old := m.changeConfig(t, 8, 1)
	if res, meta := m.run(t, 8, nil, "/bin/true"); res.Code != 0 || meta["exitcode"] != "0" {
		t.Fatalf("a run after the change: exit %d %q", res.Code, res.Stderr)
	}
	testutil.Eventually(t, 30*time.Second, "the old manager to exit", func() bool { return syscall.Kill(old, 0) != nil })
	m.init(t, 9)
	if m.pid() == 0 || m.pid() == old {
		t.Error("no manager for the new configuration")
	}
	m.iso("-b", "8", "--cleanup")
	m.iso("-b", "9", "--cleanup")
}

// TestManagerConfigDrain starts a manager for a changed
// configuration while the old one is still tearing its twelve spares
// down: the new one serves at once, but must not sweep what the old one
// holds until the old one has exited. Before it waited, 3 of 4 runs had a
// manager warn that a spare it tore down was already gone. Nothing may be
// left.
func TestManagerConfigDrain(t *testing.T) {
	m := newManagedEnv(t, 12)
	old := m.changeConfig(t, 34, 12)
	if res := m.iso("-b", "34", "--cleanup"); res.Code != 0 {
		t.Fatalf("--cleanup after the change: exit %d: %s", res.Code, res.Stderr)
	}
	m.init(t, 35) // a new manager, while the old one drains
	// Served by the new manager, not run here after the front end gave
	// up waiting for one.
	if record, _ := os.ReadFile(filepath.Join(filepath.Dir(m.conf), "locks", "35")); !strings.Contains(string(record), `"container":"sbx-`) {
		t.Errorf("box 35 was not made by a manager: record %s", record)
	}
	testutil.Eventually(t, 30*time.Second, "the old manager to exit", func() bool { return syscall.Kill(old, 0) != nil })
	testutil.Eventually(t, 30*time.Second, "a new manager to serve", func() bool {
		pid := m.pid()
		return pid != 0 && pid != old
	})
	if res, meta := m.run(t, 35, nil, "/bin/true"); res.Code != 0 || meta["exitcode"] != "0" {
		t.Errorf("a run in the box: exit %d %q %v", res.Code, res.Stderr, meta)
	}
	m.iso("-b", "35", "--cleanup")
	m.shutdown(t)
	// Two managers tearing one container down warn that the other
	// removed it first.
	log, _ := os.ReadFile(filepath.Join(filepath.Dir(m.socket), "manager.log"))
	for _, line := range strings.Split(string(log), "\n") {
		if strings.Contains(line, "sbx-") {
			t.Errorf("a manager warned: %s", line)
		}
	}
}

// TestManagerRace has two callers race for one box: one runs, the other
// is told the box is in use; neither leaves anything half made.
func TestManagerRace(t *testing.T) {
	m := newManagedEnv(t, 1)
	// A wall limit far beyond the checks below; the sleeper is killed
	// once they are done, so how fast they run does not matter.
	first := m.startSleeper(t, 11, "60")
	res := m.iso("-b", "11", "--run", "--", "/bin/true")
	if res.Code != 2 || !strings.Contains(res.Stderr, "in use") {
		t.Errorf("a second run on a busy box: exit %d %q", res.Code, res.Stderr)
	}
	res = m.iso("-b", "11", "--init")
	if res.Code != 2 || !strings.Contains(res.Stderr, "in use") {
		t.Errorf("an --init of a busy box: exit %d %q", res.Code, res.Stderr)
	}
	if pid := pgrep("sleeper"); pid == 0 || syscall.Kill(pid, syscall.SIGKILL) != nil {
		t.Fatalf("the sleeper ended before the checks did (pid %d)", pid)
	}
	_ = first.Wait()
	if res, meta := m.run(t, 11, nil, "/bin/true"); res.Code != 0 || meta["exitcode"] != "0" {
		t.Errorf("the box after the race: exit %d %q", res.Code, res.Stderr)
	}
	m.iso("-b", "11", "--cleanup")
}

// pgrep returns a process running name, or 0.
func pgrep(name string) int {
	out, _ := exec.Command("pgrep", "-x", name).Output()
	pid, _ := strconv.Atoi(strings.Fields(string(out) + " 0")[0])
	return pid
}

// TestManagerAPI drives the native API: files in and out, runs with
// limits and stdin, a batch, and bad requests.
func TestManagerAPI(t *testing.T) {
	m := newManagedEnv(t, 1)
	c := m.client(t, 12)
	sleeper := progData(t, "sleeper")
	for _, tc := range []struct {
		name    string
		req     manager.Request
		status  string // the report's, or "" for none
		errPart string // the error's, or "" for success
	}{
		{"put a program", manager.Request{Op: "put", Box: 12, Path: "sleeper", Data: sleeper, Mode: 0o755}, "", ""},
		{"put through ..", manager.Request{Op: "put", Box: 12, Path: "../x", Data: []byte("x")}, "", "want a file in the box"},
		{"put an absolute path", manager.Request{Op: "put", Box: 12, Path: "/etc/x", Data: []byte("x")}, "", "want a file in the box"},
		{"run with stdin data", manager.Request{Op: "run", Box: 12, Run: &manager.RunSpec{
			Args: []string{"/bin/sh", "-c", "cat > out.txt"}, StdinData: []byte("hello\n"),
			Limits: limits(t, `{"processes": 4}`)}}, "OK", ""},
		{"get the output", manager.Request{Op: "get", Box: 12, Path: "out.txt"}, "", ""},
		{"a time limit", manager.Request{Op: "run", Box: 12, Run: &manager.RunSpec{
			Args: []string{"./sleeper"}, Limits: limits(t, `{"wallTime": 0.3}`)}}, "TO", ""},
		{"no program", manager.Request{Op: "run", Box: 12, Run: &manager.RunSpec{}}, "", "no program"},
		{"an absurd limit", manager.Request{Op: "run", Box: 12, Run: &manager.RunSpec{
			Args: []string{"/bin/true"}, Limits: policy.Limits{Time: policy.Duration(-5 * time.Second)}}}, "", "want seconds"},
		{"a box not initialised", manager.Request{Op: "run", Box: 13, Run: &manager.RunSpec{Args: []string{"/bin/true"}}}, "", "did you run"},
		{"an unknown operation", manager.Request{Op: "frobnicate"}, "", "unknown operation"},
	} {
		rep, err := c.Do(&tc.req)
		switch {
		case tc.errPart != "" && (err == nil || !strings.Contains(err.Error(), tc.errPart)):
			t.Errorf("%s: error %v, want one about %q", tc.name, err, tc.errPart)
		case tc.errPart == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.status != "" && (rep.Report == nil || string(rep.Report.Status) != tc.status):
			t.Errorf("%s: report %+v, want status %s", tc.name, rep.Report, tc.status)
		case tc.name == "get the output" && string(rep.Data) != "hello\n":
			t.Errorf("get: %q", rep.Data)
		}
	}
	var got []string
	err := c.Batch(&manager.Request{Box: 12, Runs: []*manager.RunSpec{
		{Args: []string{"/bin/true"}}, {Args: []string{"/bin/false"}}, {Args: []string{"/bin/true"}},
	}}, func(r *manager.Reply) { got = append(got, string(r.Report.Status)) })
	if err != nil || strings.Join(got, " ") != "OK RE OK" {
		t.Errorf("batch: %v %v, want OK RE OK", got, err)
	}
	if _, err := c.Do(&manager.Request{Op: "cleanup", Box: 12}); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}

// TestManagerRunLimitsChange runs one box with limits that change from
// run to run: a run's cgroup, made ahead of time with the last run's
// limits, must hold this run's, lifted or lowered.
func TestManagerRunLimitsChange(t *testing.T) {
	m := newManagedEnv(t, 1)
	c := m.client(t, 16) // a box without --cg starts the manager
	if _, err := c.Do(&manager.Request{Op: "init", Box: 17, Cg: true}); err != nil {
		t.Fatalf("init: %v", err)
	}
	putProg(t, c, 17, "memhog")
	twoProcs := []string{"/bin/sh", "-c", "/bin/true; /bin/true"}
	for i, tc := range []struct {
		limits string
		args   []string
		ok     bool
	}{
		{`{"processes": 4, "memory": "64MiB"}`, []string{"./memhog", "100"}, false},
		{`{"processes": 4, "memory": "64MiB"}`, []string{"./memhog", "100"}, false}, // the spare's own limit
		{`{"processes": 4}`, []string{"./memhog", "100"}, true},
		{`{"processes": 4, "memory": "64MiB"}`, []string{"./memhog", "100"}, false},
		{`{"processes": 4, "memory": "256MiB"}`, []string{"./memhog", "100"}, true},
		{`{"processes": 4, "memory": "64MiB"}`, []string{"./memhog", "100"}, false},
		{`{"processes": 4}`, twoProcs, true},
		{`{"processes": 1}`, twoProcs, false},
		{`{"processes": 1}`, twoProcs, false}, // the spare's own limit
		{`{"processes": 4}`, twoProcs, true},
		{`{}`, twoProcs, false}, // the API's default is isolate's: one process
	} {
		// Time for the spare run cgroup to be made, with the limits of
		// the run before.
		time.Sleep(50 * time.Millisecond)
		rep, err := c.Do(&manager.Request{Op: "run", Box: 17, Cg: true, Run: &manager.RunSpec{Args: tc.args, Limits: limits(t, tc.limits)}})
		if err != nil || rep.Report == nil {
			t.Fatalf("run %d: %+v, %v", i, rep, err)
		}
		if ok := rep.Report.Status == "OK"; ok != tc.ok {
			t.Errorf("run %d, %s %v: %s (%s), want OK %v", i, tc.limits, tc.args, rep.Report.Status, rep.Report.Message, tc.ok)
		}
	}
	if _, err := c.Do(&manager.Request{Op: "cleanup", Box: 17, Cg: true}); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}

// TestManagerRunStdioFresh: an API run's stdin, stdout and stderr are a
// /dev/null opened for it alone, so flags a program sets on them (the
// manager does not put them back) never reach the next run.
func TestManagerRunStdioFresh(t *testing.T) {
	m := newManagedEnv(t, 1)
	c := m.client(t, 18)
	putProg(t, c, 18, "setfl")
	for i, args := range [][]string{
		{"./setfl"},
		{"/bin/sh", "-c", "grep ^flags: /proc/self/fdinfo/0 > flags.txt"},
	} {
		rep, err := c.Do(&manager.Request{Op: "run", Box: 18, Run: &manager.RunSpec{Args: args, Limits: limits(t, `{"processes": 4}`)}})
		if err != nil || rep.Report == nil || rep.Report.Status != "OK" {
			t.Fatalf("run %d %v: %+v, %v", i, args, rep, err)
		}
	}
	rep, err := c.Do(&manager.Request{Op: "get", Box: 18, Path: "flags.txt"})
	if err != nil {
		t.Fatal(err)
	}
	var flags int64
	if _, err := fmt.Sscanf(string(rep.Data), "flags:\t%o", &flags); err != nil {
		t.Fatalf("fdinfo %q: %v", rep.Data, err)
	}
	if flags&(unix.O_NONBLOCK|unix.O_APPEND|unix.O_ASYNC) != 0 {
		t.Errorf("the second run's stdin has flags %#o: the first run's O_NONBLOCK|O_APPEND|O_ASYNC reached it", flags)
	}
}

// The manager keeps its connection to a box's init from one run to the
// next; a run by another supervisor in between (here the front end
// without the manager) is served, and the manager's next run connects
// again.
func TestManagerKeepsInitConnection(t *testing.T) {
	m := newManagedEnv(t, 1)
	c := m.client(t, 16)
	run := func(what string) {
		t.Helper()
		rep, err := c.Do(&manager.Request{Op: "run", Box: 16, Run: &manager.RunSpec{Args: []string{"/bin/true"}}})
		if err != nil || rep.Report == nil || rep.Report.Status != "OK" {
			t.Fatalf("%s: %+v, %v", what, rep, err)
		}
	}
	run("the first run")
	first := initSockets(t, filepath.Join(m.boxRoot, "16"))
	if len(first) != 2 {
		t.Fatalf("after a run the init holds %d sockets, want its listener and the kept connection", len(first))
	}
	run("the second run")
	if again := initSockets(t, filepath.Join(m.boxRoot, "16")); !slices.Equal(again, first) {
		t.Errorf("the init's sockets went from %v to %v: the connection was not reused", first, again)
	}

	// The front end on its own: the same boxes, no manager.
	local := filepath.Join(t.TempDir(), "local.conf")
	conf, err := os.ReadFile(m.conf)
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(local, append(conf, "spare_boxes = 0\nmanager_socket = /nonexistent/manager.sock\n"...), 0o644))
	cmd := m.r.Command(t.Context(), "isolate", "-b", "16", "--run", "--", "/bin/sh", "-c", "exit 5")
	cmd.Env = append(cmd.Env, "MINI_ISOLATE_CONFIG="+local)
	if err := cmd.Run(); cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("the front end's run without the manager: %v, want exit 1 for the program's exit 5", err)
	}
	run("a run after another supervisor's")
	if len(initSockets(t, filepath.Join(m.boxRoot, "16"))) != 2 {
		t.Error("the manager's new connection is not kept")
	}
}

// boxTarget is the container of a box (boxDir is the box's directory),
// from its state.
func boxTarget(t *testing.T, boxDir string) supervise.Target {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(boxDir, ".mini-isolate", "container.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Target supervise.Target `json:"target"`
	}
	if err := json.Unmarshal(data, &st); err != nil || st.Target.InitPid <= 0 {
		t.Fatalf("container state %s: %v", data, err)
	}
	return st.Target
}

// initSockets lists the sockets a box's init holds open, from its
// container's state.
func initSockets(t *testing.T, boxDir string) []string {
	t.Helper()
	fdDir := fmt.Sprintf("/proc/%d/fd", boxTarget(t, boxDir).InitPid)
	entries, err := os.ReadDir(fdDir)
	if err != nil {
		t.Fatal(err)
	}
	var socks []string
	for _, e := range entries {
		if link, err := os.Readlink(filepath.Join(fdDir, e.Name())); err == nil && strings.HasPrefix(link, "socket:") {
			socks = append(socks, link)
		}
	}
	slices.Sort(socks)
	return socks
}

// putProg puts the test program name into box id through the API.
func putProg(t *testing.T, c *manager.Client, id int, name string) {
	t.Helper()
	if _, err := c.Do(&manager.Request{Op: "put", Box: id, Path: name, Data: progData(t, name), Mode: 0o755}); err != nil {
		t.Fatalf("put %s: %v", name, err)
	}
}

// limits parses limits as the API's JSON gives them.
func limits(t *testing.T, js string) policy.Limits {
	t.Helper()
	var l policy.Limits
	if err := json.Unmarshal([]byte(js), &l); err != nil {
		t.Fatal(err)
	}
	return l
}

// TestManagerInteract runs interactions through the native API: boxes
// made and filled through it, the verdict, both reports and the
// transcript in one reply.
func TestManagerInteract(t *testing.T) {
	m := newManagedEnv(t, 1)
	c := m.client(t, 14)
	if _, err := c.Do(&manager.Request{Op: "init", Box: 15}); err != nil {
		t.Fatal(err)
	}
	put := func(id int, name, script string) {
		if _, err := c.Do(&manager.Request{Op: "put", Box: id, Path: name, Data: []byte(script), Mode: 0o755}); err != nil {
			t.Fatal(err)
		}
	}
	put(14, "i.sh", `echo 6; read x; [ "$x" = 36 ] && exit 0; exit 1`)
	put(14, "square.sh", "read a; echo $((a*a))")
	put(15, "square.sh", "read a; echo $((a*a))")
	put(15, "double.sh", "read a; echo $((a+a))")
	wall := policy.Duration(20 * time.Second)
	party := func(id int, script string) *manager.PartySpec {
		return &manager.PartySpec{Box: id, RunSpec: manager.RunSpec{Args: []string{"/bin/sh", script}, Limits: limits(t, `{"time": 1}`)}}
	}
	for _, tc := range []struct {
		name    string
		req     manager.Request
		verdict string
		errPart string
	}{
		{"accepted, recorded", manager.Request{Op: "interact", Parties: []*manager.PartySpec{party(14, "i.sh"), party(15, "square.sh")},
			TranscriptLimit: 4096, WallTime: wall}, "OK", ""},
		{"a wrong answer", manager.Request{Op: "interact", WallTime: wall, Parties: []*manager.PartySpec{party(14, "i.sh"), party(15, "double.sh")}}, "WA", ""},
		{"no wall limit", manager.Request{Op: "interact", Parties: []*manager.PartySpec{party(14, "i.sh"), party(15, "square.sh")}}, "", "wall-time limit"},
		{"a null party", manager.Request{Op: "interact", WallTime: wall, Parties: []*manager.PartySpec{party(14, "i.sh"), nil}}, "", "party 1 is null"},
		{"a huge transcript", manager.Request{Op: "interact", WallTime: wall, TranscriptLimit: 1 << 40,
			Parties: []*manager.PartySpec{party(14, "i.sh"), party(15, "square.sh")}}, "", "at most"},
		{"a deadlock", manager.Request{Op: "interact", WallTime: policy.Duration(300 * time.Millisecond),
			Parties: []*manager.PartySpec{party(14, "square.sh"), party(15, "square.sh")}}, "TO", ""},
		{"one box twice", manager.Request{Op: "interact", WallTime: wall, Parties: []*manager.PartySpec{party(14, "i.sh"), party(14, "i.sh")}}, "", "given twice"},
		{"a redirected stdin", manager.Request{Op: "interact", WallTime: wall, Parties: []*manager.PartySpec{party(14, "i.sh"),
			{Box: 15, RunSpec: manager.RunSpec{Args: []string{"/bin/true"}, Stdin: "in.txt"}}}}, "", "are the pipes"},
		{"no solution", manager.Request{Op: "interact", WallTime: wall, Parties: []*manager.PartySpec{party(14, "i.sh")}}, "", "at least one solution"},
		{"unknown channels", manager.Request{Op: "interact", WallTime: wall, Channels: "carrier-pigeon",
			Parties: []*manager.PartySpec{party(14, "i.sh"), party(15, "square.sh")}}, "", "want stdio or fds"},
	} {
		rep, err := c.Do(&tc.req)
		switch {
		case tc.errPart != "" && (err == nil || !strings.Contains(err.Error(), tc.errPart)):
			t.Errorf("%s: error %v, want one about %q", tc.name, err, tc.errPart)
		case tc.errPart == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.verdict != "" && (rep.Interaction == nil || rep.Interaction.Verdict.Verdict != tc.verdict):
			data, _ := json.Marshal(rep.Interaction)
			t.Errorf("%s: %s, want %s", tc.name, data, tc.verdict)
		case tc.verdict == "OK" && !strings.Contains(string(rep.Data), `interactor -> solution: "6\n"`):
			t.Errorf("%s: transcript %q", tc.name, rep.Data)
		case tc.verdict != "" && (rep.Interaction.Interactor == nil || len(rep.Interaction.Users) != 1):
			t.Errorf("%s: reports %+v", tc.name, rep.Interaction)
		}
	}
	if _, err := c.Do(&manager.Request{Op: "cleanup", Box: 15}); err != nil {
		t.Fatal(err)
	}
}

// TestManagerBinary checks which binary the front end starts as the
// manager: the manager's own, installed beside mini-isolate, unless root
// should not run it; then mini-isolate serves from itself, and says so in
// the manager's log.
func TestManagerBinary(t *testing.T) {
	other := "#!/bin/sh\necho 'build: another'\n"
	cases := []struct {
		name  string
		setup func(t *testing.T, dir, manager string) // installs the manager's binary
		want  string                                  // the manager process's executable
	}{
		{"installed beside", nil, "mini-isolate-manager"},
		{"missing", func(t *testing.T, dir, manager string) { os.Remove(manager) }, "mini-isolate"},
		{"writable by its group", chmodder(0o775, ""), "mini-isolate"},
		{"not executable", chmodder(0o644, ""), "mini-isolate"},
		{"in a directory others can write", chmodder(0o777, "dir"), "mini-isolate"},
		{"owned by another user", func(t *testing.T, dir, manager string) { must(t, os.Chown(manager, 65534, 65534)) }, "mini-isolate"},
		{"a symbolic link", func(t *testing.T, dir, manager string) {
			must(t, os.Rename(manager, manager+".real"))
			must(t, os.Symlink(manager+".real", manager))
		}, "mini-isolate"},
		{"of another build", func(t *testing.T, dir, manager string) { must(t, os.WriteFile(manager, []byte(other), 0o755)) }, "mini-isolate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir() // removed after the manager stops
			m := newManagedEnv(t, 1)
			manager := installBinaries(t, m.r.Bin, dir)
			if tc.setup != nil {
				tc.setup(t, dir, manager)
			}
			m.r.Bin = filepath.Join(dir, "mini-isolate")
			m.init(t, 4)
			m.checkManager(t, m.pid(), tc.want)
			if res, meta := m.run(t, 4, nil, "/bin/echo", "hi"); res.Code != 0 || res.Stdout != "hi\n" || meta["exitcode"] != "0" {
				t.Errorf("run through the manager: exit %d, stdout %q, stderr %q, meta %v", res.Code, res.Stdout, res.Stderr, meta)
			}
		})
	}
}

// TestManagerCommand runs "mini-isolate manager" as a service would: it
// becomes the manager's binary, in the same process, with its flags.
func TestManagerCommand(t *testing.T) {
	m := newManagedEnv(t, 1)
	logPath := filepath.Join(t.TempDir(), "manager.log")
	cmd := m.r.Command(t.Context(), "--debug", "--log", logPath, "--log-format", "json", "manager", "--idle", "90s")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "the manager to listen", func() bool { return m.pid() > 0 })
	if pid := m.pid(); pid != cmd.Process.Pid {
		t.Fatalf("the manager is pid %d, not the command's %d", pid, cmd.Process.Pid)
	}
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", cmd.Process.Pid))
	args, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid))
	got := strings.Join(strings.Split(strings.TrimRight(string(args), "\x00"), "\x00")[1:], " ")
	if filepath.Base(exe) != "mini-isolate-manager" || !strings.Contains(got, "--log-format json --debug") ||
		!strings.Contains(got, "--log "+logPath) || !strings.Contains(got, "--idle 1m30s") {
		t.Errorf("the manager runs %s with %q", exe, got)
	}
	m.init(t, 5)
	m.iso("-b", "5", "--cleanup")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	c, err := manager.Dial(m.socket)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.Do(&manager.Request{Op: "shutdown"})
	c.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the manager: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the manager did not exit after shutdown")
	}
	if log, _ := os.ReadFile(logPath); !strings.Contains(string(log), `"level":"debug"`) {
		t.Errorf("no JSON debug log at --log: %q", log)
	}
}

// checkManager checks that the manager at pid runs the binary named want,
// and that its log says why when that is not the manager's own.
func (m *managedEnv) checkManager(t *testing.T, pid int, want string) {
	t.Helper()
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil || filepath.Base(exe) != want {
		t.Errorf("the manager (pid %d) runs %q (%v), want %s", pid, exe, err, want)
	}
	log, _ := os.ReadFile(filepath.Join(filepath.Dir(m.conf), "locks", "manager.log"))
	if warned := strings.Contains(string(log), "serving from this binary"); warned != (want == "mini-isolate") {
		t.Errorf("warned %v, want %v: manager log:\n%s", warned, want == "mini-isolate", log)
	}
}

// installBinaries copies mini-isolate at bin, and the manager's binary
// beside it, into dir, and returns the manager's path there.
func installBinaries(t *testing.T, bin, dir string) string {
	t.Helper()
	for _, name := range []string{"mini-isolate", "mini-isolate-manager"} {
		data, err := os.ReadFile(filepath.Join(filepath.Dir(bin), name))
		if err != nil {
			t.Fatalf("%v (make build makes both binaries)", err)
		}
		must(t, os.WriteFile(filepath.Join(dir, name), data, 0o755))
	}
	return filepath.Join(dir, "mini-isolate-manager")
}

// chmodder sets mode on the manager's binary, or on its directory.
func chmodder(mode os.FileMode, what string) func(t *testing.T, dir, manager string) {
	return func(t *testing.T, dir, manager string) {
		if what == "dir" {
			manager = dir
		}
		must(t, os.Chmod(manager, mode))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestManagerCPU: manager_cpu keeps every thread of the manager on one
// CPU, and nothing of a box: its program may run on every CPU the test
// may. auto pins only where the manager runs Go code on one processor
// and no box is pinned, and a CPU that does not exist stops the manager
// with a line saying so.
func TestManagerCPU(t *testing.T) {
	var mine unix.CPUSet
	if err := unix.SchedGetaffinity(0, &mine); err != nil {
		t.Fatal(err)
	}
	all := cpuList(mine)
	last := lastCPU(mine)
	// auto pins where the manager's GOMAXPROCS, half Go's default, is 1.
	// The manager starts without GOMAXPROCS set, in this test's cgroup:
	// its default is this test's, unless the test's was set.
	if os.Getenv("GOMAXPROCS") != "" {
		t.Fatal("GOMAXPROCS is set: this test needs Go's default to know what auto does")
	}
	auto := ""
	if mine.Count() >= 2 && runtime.GOMAXPROCS(0)/2 <= 1 {
		auto = strconv.Itoa(last)
	}
	for _, tc := range []struct {
		name, setting string
		want          string // the manager's threads' CPUs; "" for those of the test
	}{
		{"none", "manager_cpu = none\n", ""},
		{"auto by default", "", auto},
		{"auto, a box pinned", fmt.Sprintf("box9.cpus = %d\n", last), ""},
		{"the last CPU", fmt.Sprintf("manager_cpu = %d\n", last), strconv.Itoa(last)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManagedEnv(t, 1)
			m.config(t, tc.setting)
			front := m.startSleeper(t, 3, "60")
			defer func() {
				if pid := pgrep("sleeper"); pid > 0 { // never kill(0, ...): the test's own group
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
				_ = front.Wait()
			}()
			want := tc.want
			if want == "" {
				want = all
			}
			pid := m.pid()
			tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
			if len(tasks) == 0 {
				t.Fatalf("no threads of the manager (pid %d)", pid)
			}
			for _, task := range tasks {
				if got := allowedCPUs(t, task); got != want {
					t.Errorf("manager thread %s may run on CPUs %s, want %s", filepath.Base(task), got, want)
				}
			}
			if got := allowedCPUs(t, fmt.Sprintf("/proc/%d", pgrep("sleeper"))); got != all {
				t.Errorf("the box's program may run on CPUs %s, want all the test may: %s", got, all)
			}
		})
	}
	t.Run("no such CPU", func(t *testing.T) {
		e := newIsoEnv(t)
		if mine.IsSet(1023) {
			t.Fatal("this test needs a CPU number no CPU has: 1023 is one")
		}
		appendConfig(t, e.conf, "spare_boxes = 1\nmanager_cpu = 1023\n")
		cmd := exec.Command(filepath.Join(filepath.Dir(e.r.Bin), "mini-isolate-manager"), "--root", e.r.Root, "--idle", "1s")
		cmd.Env = append(os.Environ(), "MINI_ISOLATE_CONFIG="+e.conf)
		out, err := cmd.CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if err == nil || lines[len(lines)-1] != "mini-isolate-manager: manager_cpu 1023: not a CPU this manager may run on" {
			t.Errorf("manager_cpu = 1023: %v, output %q", err, out)
		}
	})
}

// waitTrashEmpty waits for the reaper to recycle or tear down every
// retired box.
func (m *managedEnv) waitTrashEmpty(t *testing.T) {
	t.Helper()
	testutil.Eventually(t, testutil.Slack(30*time.Second), "the reaper to empty .trash", func() bool {
		left, _ := filepath.Glob(filepath.Join(m.boxRoot, ".trash", "*"))
		return len(left) == 0
	})
}

// initAdopting initialises box id, which must adopt a spare, and returns
// the spare's container; what names the call in a failure.
func (m *managedEnv) initAdopting(t *testing.T, id int, what string) string {
	t.Helper()
	res := m.iso("-b", strconv.Itoa(id), "-v", "-v", "--init")
	_, name, ok := strings.Cut(res.Stderr, "adopted spare ")
	if res.Code != 0 || !ok {
		t.Fatalf("%s: exit %d, no spare adopted: %q", what, res.Code, res.Stderr)
	}
	name, _, _ = strings.Cut(name, "\n")
	return name
}

// config adds lines to the environment's configuration.
func (m *managedEnv) config(t *testing.T, lines string) { appendConfig(t, m.conf, lines) }

func appendConfig(t *testing.T, path, lines string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(lines); err != nil {
		t.Fatal(err)
	}
}

// allowedCPUs is the Cpus_allowed_list of a process or thread directory
// under /proc.
func allowedCPUs(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("%s/status has no Cpus_allowed_list", dir)
	return ""
}

// cpuList writes a CPU set as the kernel's lists do ("0-3,6").
func cpuList(set unix.CPUSet) string {
	var parts []string
	for cpu := 0; cpu < len(set)*64; cpu++ {
		if !set.IsSet(cpu) {
			continue
		}
		end := cpu
		for end+1 < len(set)*64 && set.IsSet(end+1) {
			end++
		}
		if end == cpu {
			parts = append(parts, strconv.Itoa(cpu))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", cpu, end))
		}
		cpu = end
	}
	return strings.Join(parts, ",")
}

func lastCPU(set unix.CPUSet) int {
	for cpu := len(set)*64 - 1; cpu >= 0; cpu-- {
		if set.IsSet(cpu) {
			return cpu
		}
	}
	return -1
}

// TestManagerBinaryBadStart starts the manager's binary by hand on bad
// input: each start fails with exit status 1 and says what is wrong in
// one line on stderr, and, with --log, in the log file too.
func TestManagerBinaryBadStart(t *testing.T) {
	r := testutil.NewRunner(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.conf")
	must(t, os.WriteFile(bad, []byte("num_boxes = many\n"), 0o644))
	logPath := filepath.Join(dir, "manager.log")
	cases := []struct {
		name string
		args []string
		want string
		log  bool // the error is in the log file too
	}{
		{"malformed configuration", nil, "num_boxes", false},
		{"malformed configuration, logged", []string{"--log", logPath}, "num_boxes", true},
		{"unexpected argument", []string{"serve"}, `unexpected argument "serve"`, false},
		{"bad log format", []string{"--log-format", "xml"}, `invalid --log-format "xml"`, false},
		{"unknown flag", []string{"--bogus"}, "flag provided but not defined: -bogus", false},
		{"bad duration", []string{"--idle", "soon"}, `invalid value "soon" for flag -idle`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_ = os.Remove(logPath)
			cmd := exec.Command(filepath.Join(filepath.Dir(r.Bin), "mini-isolate-manager"), tc.args...)
			cmd.Env = append(os.Environ(), "MINI_ISOLATE_CONFIG="+bad)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := -1
			if cmd.ProcessState != nil {
				code = cmd.ProcessState.ExitCode()
			}
			got := stderr.String()
			if code != 1 || strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, "mini-isolate-manager: ") || !strings.Contains(got, tc.want) {
				t.Errorf("exit %d (%v), stderr %q; want exit 1 and one line naming %q", code, err, got, tc.want)
			}
			log, _ := os.ReadFile(logPath)
			if logged := strings.Contains(string(log), tc.want); logged != tc.log {
				t.Errorf("the log file says it: %v, want %v (log %q)", logged, tc.log, log)
			}
		})
	}
}

// TestManagerRecycleSurvivor: a retired box's container that holds a
// process besides its init is torn down, not recycled into the pool,
// and the process with it. Runs cannot leave one (their cgroup is
// killed); the test puts one there, as if the init had forked it. The
// pool has room when the box is retired, or it would not try.
func TestManagerRecycleSurvivor(t *testing.T) {
	m := newManagedEnv(t, 4)
	m.init(t, 3)
	m.waitSpares(t, 4)
	m.init(t, 5)
	record, _ := os.ReadFile(filepath.Join(filepath.Dir(m.conf), "locks", "5"))
	var rec struct{ Container string }
	if err := json.Unmarshal(record, &rec); err != nil || !strings.HasPrefix(rec.Container, "sbx-") {
		t.Fatalf("box 5 was not given a spare: record %s", record)
	}
	survivor := startSurvivor(t, filepath.Join(m.boxRoot, "5"))
	ended := make(chan struct{})
	go func() { _ = survivor.Wait(); close(ended) }()
	// Take every spare: the pool refills one at a time, each at least
	// refillDelay after a take, so it cannot be full again by the time
	// the reaper takes box 5's container.
	for id := 6; len(m.spares()) > 0; id++ {
		if id > 30 {
			t.Fatalf("the pool still has spares %v after %d boxes took one", m.spares(), id-6)
		}
		m.init(t, id)
	}
	m.iso("-b", "5", "--cleanup")
	select {
	case <-ended:
	case <-time.After(testutil.Slack(30 * time.Second)):
		t.Fatal("the process left in the retired box's container still runs")
	}
	testutil.Eventually(t, testutil.Slack(30*time.Second), "the container to be deleted", func() bool {
		return !strings.Contains(m.r.Run("list", "-q").Stdout, rec.Container)
	})
	if slices.Contains(m.spares(), rec.Container) {
		t.Errorf("container %s was recycled with a process besides its init", rec.Container)
	}
	log, _ := os.ReadFile(filepath.Join(filepath.Dir(m.socket), "manager.log"))
	if !strings.Contains(string(log), "recycle "+rec.Container+": 2 processes besides the init") {
		t.Errorf("the manager's log does not say why %s was not recycled:\n%s", rec.Container, log)
	}
}

// startSurvivor starts two processes in the cgroups of the init of a
// box's container (boxDir is the box's directory): a shell moved there,
// which becomes nsenter, and its child, which sleeps in the init's PID
// namespace. nsenter ends when its child is killed with the namespace.
func startSurvivor(t *testing.T, boxDir string) *exec.Cmd {
	t.Helper()
	initPid, procs := initCgroupProcs(t, boxDir)
	cmd := exec.Command("/bin/sh", "-c", `read go && exec nsenter -t "$1" -p -- sleep 1000`, "sh", strconv.Itoa(initPid))
	in, err := cmd.StdinPipe()
	must(t, err)
	must(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	for _, p := range procs {
		must(t, os.WriteFile(p, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644))
	}
	_, err = in.Write([]byte("go\n"))
	must(t, err)
	testutil.Eventually(t, testutil.Slack(10*time.Second), "the survivor in the box's PID namespace", func() bool {
		children, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
		return len(strings.Fields(string(children))) == 1
	})
	return cmd
}

// initCgroupProcs returns the init's pid and the cgroup.procs files of
// the cgroups that hold the init of a box's container (boxDir is the
// box's directory): one in each v1 hierarchy, or v2's.
func initCgroupProcs(t *testing.T, boxDir string) (int, []string) {
	t.Helper()
	target := boxTarget(t, boxDir)
	init := strconv.Itoa(target.InitPid)
	var found []string
	for _, dir := range target.CgroupPaths {
		_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.Name() == "cgroup.procs" && !slices.Contains(found, path) {
				if data, _ := os.ReadFile(path); slices.Contains(strings.Fields(string(data)), init) {
					found = append(found, path)
				}
			}
			return nil
		})
	}
	if len(found) == 0 {
		t.Fatalf("no cgroup of %v holds the init %s", target.CgroupPaths, init)
	}
	return target.InitPid, found
}

// TestManagerClient runs the C front end (cmd/isolate) against a manager:
// a run's output, exit status and meta file named relative to the
// caller's directory, its stdin, descriptors from 3 up only with
// --inherit-fds (abbreviated too), and --cleanup. The client is built
// here to fall back on a binary that does not exist, so that every call
// must be served by the manager. That manager serves the default state
// root, the only one the client asks for, as a setuid install's does.
func TestManagerClient(t *testing.T) {
	e := newIsoEnv(t)
	appendConfig(t, e.conf, "spare_boxes = 1\nmanager_idle = 600\n")
	client := buildClient(t)
	env := append(os.Environ(), "MINI_ISOLATE_CONFIG="+e.conf)
	socket := filepath.Join(filepath.Dir(e.conf), "locks", "manager.sock")
	t.Cleanup(func() { stopDefaultManager(t, e, env, socket) })
	// The Go front end, with the default root, starts the manager.
	if out, err := goFrontEnd(e, env, "-b", "4", "--init"); err != nil {
		t.Fatalf("--init: %v: %s", err, out)
	}
	cwd := t.TempDir()
	run := func(stdin string, args ...string) (string, int) {
		t.Helper()
		pr, pw, err := os.Pipe()
		must(t, err)
		defer pr.Close()
		_, _ = pw.WriteString("fd 3\n")
		pw.Close()
		cmd := exec.Command(client, args...)
		cmd.Env, cmd.Dir, cmd.Stdin, cmd.ExtraFiles = env, cwd, strings.NewReader(stdin), []*os.File{pr}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		if strings.Contains(stderr.String(), "nonexistent") {
			t.Errorf("%v was not served by the manager: %s", args, stderr.String())
		}
		return string(out), cmd.ProcessState.ExitCode()
	}
	out, code := run("in\n", "-b", "4", "-p", "-M", "meta", "--run", "--", "/bin/sh", "-c", "cat; echo out; exit 3")
	if out != "in\nout\n" || code != 1 {
		t.Errorf("run: stdout %q exit %d, want %q and 1", out, code, "in\nout\n")
	}
	if meta := testutil.ParseMeta(t, filepath.Join(cwd, "meta")); meta["exitcode"] != "3" || meta["status"] != "RE" {
		t.Errorf("meta in the caller's directory: %v", meta)
	}
	for _, tc := range []struct {
		opts []string
		want string
	}{
		{nil, ""},
		{[]string{"--inherit-fds"}, "fd 3\n"},
		{[]string{"--inh"}, "fd 3\n"},
	} {
		args := append(append([]string{"-b", "4", "-p"}, tc.opts...), "--run", "--", "/bin/sh", "-c", "cat <&3 2>/dev/null")
		if out, _ := run("", args...); out != tc.want {
			t.Errorf("%v: fd 3 gave %q, want %q", tc.opts, out, tc.want)
		}
	}
	if _, code := run("", "-b", "4", "--cleanup"); code != 0 {
		t.Errorf("--cleanup: exit %d", code)
	}
	if _, err := os.Stat(filepath.Join(e.boxRoot, "4")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("box 4 after --cleanup: %v", err)
	}
}

// buildClient compiles cmd/isolate with a fallback binary that does not
// exist.
func buildClient(t *testing.T) string {
	t.Helper()
	root, err := testutil.ModuleRoot()
	must(t, err)
	cc := "musl-gcc"
	if _, err := exec.LookPath(cc); err != nil {
		cc = "cc"
	}
	bin := filepath.Join(t.TempDir(), "isolate")
	out, err := exec.Command(cc, "-O2", "-static", `-DCONFIG_FILE="/nonexistent/isolate.conf"`,
		`-DMINI_ISOLATE="/nonexistent/mini-isolate"`, "-o", bin, filepath.Join(root, "cmd", "isolate", "isolate.c")).CombinedOutput()
	if err != nil {
		t.Fatalf("build the client with %s: %v: %s", cc, err, out)
	}
	return bin
}

// goFrontEnd runs mini-isolate's isolate front end with the default state
// root.
func goFrontEnd(e *isoEnv, env []string, args ...string) (string, error) {
	cmd := exec.Command(e.r.Bin, append([]string{"isolate"}, args...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// stopDefaultManager cleans up the boxes of e's configuration with the
// default state root, and shuts its manager down; the environment's own
// cleanup then finds the boxes' cgroup parent empty, or fails.
func stopDefaultManager(t *testing.T, e *isoEnv, env []string, socket string) {
	for id := 0; id < 100; id++ {
		if _, err := os.Stat(filepath.Join(e.boxRoot, strconv.Itoa(id))); err == nil {
			_, _ = goFrontEnd(e, env, "-b", strconv.Itoa(id), "--cleanup")
		}
	}
	c, err := manager.Dial(socket)
	if err != nil {
		return
	}
	pid, _ := c.ServerPID()
	_, _ = c.Do(&manager.Request{Op: "shutdown"})
	c.Close()
	testutil.Eventually(t, 30*time.Second, "the manager to exit", func() bool { return syscall.Kill(pid, 0) != nil })
}
