package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Runner runs test programs one at a time and cleans up after each.
type Runner struct {
	Suite   *Suite
	Rootfs  string
	Timeout time.Duration
	WorkDir string // parent of the scratch directories
	KeepDir string // keep logs here when set
	noList  map[string]bool
}

// Run runs one test program against the runtime at rt. role names the
// runtime's column ("runtime" or "reference") in kept logs. An error means
// the harness itself failed or was interrupted, not the test.
func (r *Runner) Run(ctx context.Context, program, role, rt string) (*ProgramRun, error) {
	before, listErr := listContainers(ctx, rt)
	if listErr != nil && !r.noList[rt] {
		if r.noList == nil {
			r.noList = map[string]bool{}
		}
		r.noList[rt] = true
		progress("warning: %s list -q failed (%v); leftover containers will not be cleaned up", rt, listErr)
	}

	scratch, err := r.makeScratch(program, role)
	if err != nil {
		return nil, err
	}
	defer removeScratch(scratch)

	logDir := filepath.Join(r.WorkDir, "logs", role)
	if r.KeepDir != "" {
		logDir = filepath.Join(r.KeepDir, role)
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("create log dir: %w", err)
	}
	stdoutPath := filepath.Join(logDir, program+".tap")
	stderrPath := filepath.Join(logDir, program+".stderr")

	start := time.Now()
	exit, err := r.exec(ctx, filepath.Join(r.Suite.Dir, program), scratch, rt, stdoutPath, stderrPath)
	dur := time.Since(start)

	// Clean up even when interrupted, so that nothing is left running.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	if listErr == nil {
		cleanupContainers(cctx, rt, before)
	}
	cleanupCgroups()
	if err != nil {
		return nil, err
	}

	stdout, rerr := os.ReadFile(stdoutPath)
	if rerr != nil {
		return nil, fmt.Errorf("read stdout log: %w", rerr)
	}
	stderr, rerr := os.ReadFile(stderrPath)
	if rerr != nil {
		return nil, fmt.Errorf("read stderr log: %w", rerr)
	}
	if r.KeepDir == "" {
		os.Remove(stdoutPath)
		os.Remove(stderrPath)
	}
	if exit.Code != 0 && bytes.Contains(stderr, []byte("panic: ")) && bytes.Contains(stderr, []byte("\ngoroutine ")) {
		exit.Panicked = true
	}
	rep := ParseTAP(stdout)
	return &ProgramRun{
		Report:     rep,
		Exit:       exit,
		Score:      Tally(rep, exit),
		StderrTail: tailLines(stderr, 8),
		Duration:   dur,
	}, nil
}

// makeScratch makes a fresh 0755 directory holding runtimetest, the rootfs
// tarball and a 1777 tmp, so that an unprivileged uid mapped by a
// user-namespace test can reach the bundles.
func (r *Runner) makeScratch(program, role string) (string, error) {
	dir, err := os.MkdirTemp(r.WorkDir, program+"-"+role+"-")
	if err != nil {
		return "", fmt.Errorf("create scratch dir: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", fmt.Errorf("chmod scratch dir: %w", err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return "", fmt.Errorf("create scratch tmp: %w", err)
	}
	if err := os.Chmod(tmp, 0o777|os.ModeSticky); err != nil {
		return "", fmt.Errorf("chmod scratch tmp: %w", err)
	}
	for _, f := range []struct{ src, name string }{
		{r.Suite.Runtimetest, runtimetestName},
		{r.Rootfs, RootfsName()},
	} {
		dst := filepath.Join(dir, f.name)
		// The tests only read these, so a hard link is as good as a copy.
		if err := os.Link(f.src, dst); err != nil {
			if err := copyFile(f.src, dst, 0o755); err != nil {
				return "", err
			}
		}
	}
	return dir, nil
}

func (r *Runner) exec(ctx context.Context, bin, dir, rt, stdoutPath, stderrPath string) (Exit, error) {
	stdout, err := os.Create(stdoutPath)
	if err != nil {
		return Exit{}, fmt.Errorf("create stdout log: %w", err)
	}
	defer stdout.Close()
	stderr, err := os.Create(stderrPath)
	if err != nil {
		return Exit{}, fmt.Errorf("create stderr log: %w", err)
	}
	defer stderr.Close()

	pctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	cmd := exec.CommandContext(pctx, bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TMPDIR="+filepath.Join(dir, "tmp"), "RUNTIME="+rt)
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// The program's runtime calls and helpers share its group.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 10 * time.Second
	runErr := cmd.Run()

	if ctx.Err() != nil {
		return Exit{}, fmt.Errorf("interrupted: %w", context.Cause(ctx))
	}
	var e Exit
	switch {
	case errors.Is(pctx.Err(), context.DeadlineExceeded):
		e = Exit{Code: -1, TimedOut: true}
	case cmd.ProcessState == nil:
		e = Exit{Code: -1, StartErr: runErr}
	default:
		ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
		e = Exit{Code: cmd.ProcessState.ExitCode()}
		if ws.Signaled() {
			e.Signal = ws.Signal().String()
		}
	}
	if e.TimedOut {
		fmt.Fprintf(stderr, "\n[oci-validation: killed after %s]\n", r.Timeout)
	}
	return e, nil
}

func listContainers(ctx context.Context, rt string) (map[string]bool, error) {
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(lctx, rt, "list", "-q").Output()
	if err != nil {
		return nil, fmt.Errorf("%s list -q: %w", rt, err)
	}
	ids := map[string]bool{}
	for _, id := range strings.Fields(string(out)) {
		ids[id] = true
	}
	return ids, nil
}

// cleanupContainers force-deletes the containers that appeared since before.
func cleanupContainers(ctx context.Context, rt string, before map[string]bool) {
	now, err := listContainers(ctx, rt)
	if err != nil {
		progress("warning: cleanup: %v", err)
		return
	}
	var leftover []string
	for id := range now {
		if !before[id] {
			leftover = append(leftover, id)
		}
	}
	slices.Sort(leftover)
	for _, id := range leftover {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		out, err := exec.CommandContext(dctx, rt, "delete", "--force", id).CombinedOutput()
		cancel()
		if err != nil {
			progress("warning: cleanup: %s delete --force %s: %v: %s", filepath.Base(rt), id, err, strings.TrimSpace(string(out)))
		}
	}
}

// testCgroupNames are the cgroups the suite creates at fixed paths
// (/cgrouptest and testdir/cgrouptest/container).
var testCgroupNames = []string{"cgrouptest", "testdir"}

// cleanupCgroups removes empty test cgroups, deepest first, from every v1
// hierarchy and from the hybrid cgroup2 mount, where runc leaves
// testdir/cgrouptest behind too. rmdir fails on a cgroup that still has
// tasks, which is what keeps this from touching anything in use.
func cleanupCgroups() {
	roots, err := cgroupMounts()
	if err != nil {
		progress("warning: cleanup: %v", err)
		return
	}
	for _, root := range roots {
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			if p != root && slices.Contains(testCgroupNames, d.Name()) {
				_ = filepath.WalkDir(p, func(q string, e fs.DirEntry, err error) error {
					if err == nil && e.IsDir() {
						dirs = append(dirs, q)
					}
					return nil
				})
				return fs.SkipDir
			}
			return nil
		})
		slices.SortFunc(dirs, func(a, b string) int {
			return strings.Count(b, "/") - strings.Count(a, "/")
		})
		for _, d := range dirs {
			if err := syscall.Rmdir(d); err != nil && !errors.Is(err, syscall.ENOENT) {
				progress("warning: cleanup: cannot remove cgroup %s: %v", d, err)
			}
		}
	}
}

type mountEntry struct{ point, fstype string }

func mounts() ([]mountEntry, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	defer f.Close()
	var out []mountEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := slices.Index(fields, "-")
		if len(fields) < 5 || sep < 0 || sep+1 >= len(fields) {
			continue
		}
		out = append(out, mountEntry{point: unescapeMount(fields[4]), fstype: fields[sep+1]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return out, nil
}

func cgroupMounts() ([]string, error) {
	ms, err := mounts()
	if err != nil {
		return nil, err
	}
	var roots []string
	for _, m := range ms {
		if (m.fstype == "cgroup" || m.fstype == "cgroup2") && !slices.Contains(roots, m.point) {
			roots = append(roots, m.point)
		}
	}
	return roots, nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// removeScratch detaches anything still mounted below dir before removing
// it, so that RemoveAll can never descend into a mounted file system.
func removeScratch(dir string) {
	ms, err := mounts()
	if err != nil {
		progress("warning: %v; leaving %s in place", err, dir)
		return
	}
	var under []string
	for _, m := range ms {
		if m.point == dir || strings.HasPrefix(m.point, dir+"/") {
			under = append(under, m.point)
		}
	}
	slices.SortFunc(under, func(a, b string) int { return len(b) - len(a) })
	for _, p := range under {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil {
			progress("warning: cannot unmount %s: %v; leaving %s in place", p, err, dir)
			return
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		progress("warning: remove scratch dir: %v", err)
	}
}
