package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	procstat "github.com/mini-isolate/mini-isolate/runtime/proc"
)

// attack is one row of the table.
type attack struct {
	name string
	what string // what the program tries, for the table
	fn   func(c *ctx)
}

// ctx is the state of one attack while it runs: its boxes, everything the
// boxes printed, and what went wrong.
type ctx struct {
	s       *suite
	a       *attack
	dir     string // the attack's own scratch directory on the host
	fails   []string
	results []string
	outputs []string
	boxes   []*box
	ocis    []string // OCI container ids, for the checks after the attack
	// cleanups run after the attack, also when it aborted.
	cleanups []func()
}

func (c *ctx) failf(format string, args ...any) {
	c.fails = append(c.fails, fmt.Sprintf(format, args...))
}

// resultf adds to the row's "containment result" column.
func (c *ctx) resultf(format string, args ...any) {
	c.results = append(c.results, fmt.Sprintf(format, args...))
}

// box is an isolate box of the attack's own.
type box struct {
	id       int
	dir      string // <box_root>/<id>
	uid      int
	canary   *exec.Cmd // a host process of the box's uid
	nice     int
	ioprio   int
	initPid  int // the box container's init at the last look
	cleaned  bool
	released bool
}

func (b *box) path(rel string) string { return filepath.Join(b.dir, "box", rel) }
func (b *box) name() string           { return "box-" + strconv.Itoa(b.id) }

// res is one finished run.
type res struct {
	stdout, stderr string
	outBytes       int64 // all bytes written to stdout, kept or not
	code           int
	meta           map[string]string
	wall           time.Duration
	cmd            string
	// rssKB is the runtime CLI's own peak resident size.
	rssKB int64
}

func (s *suite) runAttack(a *attack) row {
	began := time.Now()
	c := &ctx{s: s, a: a, dir: filepath.Join(s.dir, "attacks", a.name)}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return row{name: a.name, what: a.what, fails: []string{err.Error()}}
	}
	before := s.snapshot()
	hits := s.ln.count()
	func() {
		defer func() {
			if r := recover(); r != nil {
				if r != errAbort {
					c.failf("the attack's harness panicked: %v", r)
				}
			}
		}()
		a.fn(c)
	}()
	for _, f := range c.cleanups {
		f()
	}
	for _, b := range c.boxes {
		c.release(b)
	}
	for _, id := range c.ocis {
		c.ociGone(id)
	}
	// Host-side checks that hold for every attack.
	for _, d := range before.diff(s.snapshot()) {
		c.failf("%s", d)
	}
	for _, h := range s.ln.since(hits) {
		c.failf("the host's listener was reached: %s", h)
	}
	for _, m := range s.markers {
		if fileExists(m) {
			c.failf("a box created %s on the host", m)
			os.Remove(m)
		}
	}
	all := strings.Join(c.outputs, "\n")
	for _, l := range s.leaks {
		if strings.Contains(all, l) {
			c.failf("a host secret reached the box's output: %q", l)
		}
	}
	if strings.Contains(all, s.lockInfo) {
		c.failf("the box saw the host's file lock (%s) in /proc/locks", strings.TrimSpace(s.lockInfo))
	}
	for _, l := range strings.Split(all, "\n") {
		if strings.HasPrefix(l, "ESCAPE:") {
			c.failf("the program reports %s", l)
		}
	}
	if !strings.Contains(all, "TRY ") {
		c.failf("no program reported an attempt: the attack did not run")
	}
	result := strings.Join(c.results, "; ")
	if result == "" {
		result = "contained"
	}
	if len(c.fails) > 0 {
		result = "BREACH OR FAILURE: " + c.fails[0]
		if len(result) > 230 {
			result = result[:220] + "... (see Failures)"
		}
	}
	return row{name: a.name, what: a.what, result: result, fails: c.fails, took: time.Since(began)}
}

// errAbort stops an attack after a failure that makes the rest pointless.
var errAbort = errors.New("abort")

func (c *ctx) fatalf(format string, args ...any) {
	c.failf(format, args...)
	panic(errAbort)
}

// runtime runs the binary under test with the suite's state root.
func (c *ctx) runtime(args ...string) (string, string, error) {
	cmd := exec.Command(c.s.bin, append([]string{"--root", c.s.stateRoot}, args...)...)
	cmd.Env = c.s.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// newBox initialises a box of the attack's own, with --cg, puts a secret
// beside its box/ directory, and starts a host process of the box's uid.
func (c *ctx) newBox() *box {
	s := c.s
	if s.nextBox >= numBoxes {
		c.fatalf("out of boxes")
	}
	b := &box{id: s.nextBox, uid: firstUID + s.nextBox}
	s.nextBox++
	out, errs, err := c.runtime("isolate", "-b", strconv.Itoa(b.id), "--cg", "--init")
	if err != nil {
		c.fatalf("isolate --init of box %d: %v: %s", b.id, err, strings.TrimSpace(errs))
	}
	b.dir = strings.TrimSpace(out)
	if b.dir != filepath.Join(s.boxRoot, strconv.Itoa(b.id)) {
		c.fatalf("isolate --init printed %q", b.dir)
	}
	c.boxes = append(c.boxes, b)
	if err := os.WriteFile(filepath.Join(b.dir, "secret-beside-box"), []byte(s.leak(fmt.Sprintf("beside-%d", b.id))+"\n"), 0o644); err != nil {
		c.fatalf("%v", err)
	}
	// The same uid on the host: a process the box must not reach, by
	// signal, priority or anything else.
	cmd := exec.Command("/bin/sleep", "600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(b.uid), Gid: uint32(b.uid)}, Setpgid: true}
	if err := cmd.Start(); err != nil {
		c.fatalf("start the host process of uid %d: %v", b.uid, err)
	}
	b.canary = cmd
	b.nice, _ = niceOf(cmd.Process.Pid)
	b.ioprio = ioprioOf(cmd.Process.Pid)
	b.initPid = c.initPid(b)
	return b
}

// install copies programs into the box, as a judge copies a submission.
func (c *ctx) install(b *box, progs ...string) {
	for _, p := range progs {
		if err := copyFile(filepath.Join(c.s.progs, p), b.path(p), 0o755); err != nil {
			c.fatalf("install %s: %v", p, err)
		}
	}
}

// initPid is the pid of the box container's init, 0 if it is not running.
func (c *ctx) initPid(b *box) int {
	out, _, err := c.runtime("state", b.name())
	if err != nil {
		return 0
	}
	var st struct {
		Pid    int    `json:"pid"`
		Status string `json:"status"`
	}
	if json.Unmarshal([]byte(out), &st) != nil || st.Status != "running" {
		return 0
	}
	return st.Pid
}

// checkBox checks a box between runs: its init alive, alone in its PID
// namespace, no other process of the box's uid, the host process of the
// same uid untouched. sameInit also wants the init that ran before.
func (c *ctx) checkBox(b *box, sameInit bool) {
	pid := c.initPid(b)
	switch {
	case pid == 0:
		c.failf("box %d: the container's init is gone", b.id)
	case sameInit && b.initPid != 0 && pid != b.initPid:
		c.failf("box %d: the container's init changed (pid %d -> %d)", b.id, b.initPid, pid)
	}
	if pid != 0 {
		// The init kills what the program leaves before the run returns;
		// give the kernel a moment to reap.
		var others []int
		for deadline := time.Now().Add(slack(time.Second)); ; {
			others = slices.DeleteFunc(inPidNamespace(pid), func(p int) bool { return p == pid })
			if len(others) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if len(others) > 0 {
			c.failf("box %d: processes %v survive in the box after the run", b.id, others)
		}
	}
	b.initPid = pid
	c.checkUID(b.uid, pid, b.canary)
}

// checkUID fails on any process of uid but the box's init and the host
// process the suite started.
func (c *ctx) checkUID(uid, initPid int, canary *exec.Cmd) {
	var left []proc
	for deadline := time.Now().Add(slack(time.Second)); ; {
		left = slices.DeleteFunc(processesOf(uid), func(p proc) bool {
			return p.pid == initPid || (canary != nil && p.pid == canary.Process.Pid)
		})
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, p := range left {
		c.failf("process %d (%s) of uid %d survives its run", p.pid, p.comm, uid)
		_ = unix.Kill(p.pid, unix.SIGKILL)
	}
}

// release checks a box one last time, cleans it up and checks that nothing
// of it is left: container, directory, cgroups, mounts, processes.
func (c *ctx) release(b *box) {
	if b.released {
		return
	}
	b.released = true
	if !b.cleaned {
		c.checkBox(b, false)
		c.scanBox(b)
		c.cleanup(b)
	}
	if c.canaryHurt(b) {
		c.failf("box %d: the host process of the same uid was affected", b.id)
	}
	_ = b.canary.Process.Kill()
	_ = b.canary.Wait()
}

// canaryHurt tells whether the host process of the box's uid was killed,
// stopped, reniced or had its I/O priority changed.
func (c *ctx) canaryHurt(b *box) bool {
	pid := b.canary.Process.Pid
	f, err := procstat.Stat(pid)
	if err != nil {
		c.failf("box %d: the host process of uid %d is gone", b.id, b.uid)
		return true
	}
	hurt := false
	if len(f) > 0 && f[0] != "S" && f[0] != "R" {
		c.failf("box %d: the host process of uid %d is in state %s", b.id, b.uid, f[0])
		hurt = true
	}
	if n, err := niceOf(pid); err == nil && n != b.nice {
		c.failf("box %d: the host process of uid %d was reniced from %d to %d", b.id, b.uid, b.nice, n)
		hurt = true
	}
	if p := ioprioOf(pid); p != b.ioprio {
		c.failf("box %d: the host process of uid %d changed I/O priority from %#x to %#x", b.id, b.uid, b.ioprio, p)
		hurt = true
	}
	return hurt
}

// scanBox looks at the box's files from the host: no host secret copied
// into them, no device node anywhere, not even in the box's /dev.
func (c *ctx) scanBox(b *box) {
	for _, f := range scanTree(b.dir, c.s.leaks) {
		if !strings.HasSuffix(strings.SplitN(f, " holds", 2)[0], "secret-beside-box") {
			c.failf("box %d: %s", b.id, f)
		}
	}
	for _, f := range specialFiles(b.dir, true) {
		c.failf("box %d: device node %s", b.id, f)
	}
	if pid := c.initPid(b); pid != 0 {
		root := fmt.Sprintf("/proc/%d/root", pid)
		entries, err := os.ReadDir(root + "/dev")
		if err != nil {
			c.failf("box %d: cannot read the box's /dev from the host: %v", b.id, err)
		}
		standard := []string{"fd", "full", "null", "ptmx", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom", "zero", "pts", "mqueue", "console"}
		for _, e := range entries {
			if !slices.Contains(standard, e.Name()) {
				c.failf("box %d: /dev/%s appeared in the box", b.id, e.Name())
			}
		}
		for _, f := range specialFiles(root+"/dev/shm", true) {
			c.failf("box %d: device node %s in the box's /dev/shm", b.id, strings.TrimPrefix(f, root))
		}
	}
}

// cleanup runs isolate --cleanup and checks that nothing of the box is left.
func (c *ctx) cleanup(b *box) {
	b.cleaned = true
	_, errs, err := c.runtime("isolate", "-b", strconv.Itoa(b.id), "--cg", "--cleanup")
	if err != nil {
		c.failf("box %d: isolate --cleanup: %v: %s", b.id, err, strings.TrimSpace(errs))
	}
	if fileExists(b.dir) {
		c.failf("box %d: %s remains after --cleanup", b.id, b.dir)
	}
	if _, _, err := c.runtime("state", b.name()); err == nil {
		c.failf("box %d: its container remains after --cleanup", b.id)
	}
	for _, mp := range cgroupMounts() {
		if d := filepath.Join(mp, c.s.cgParent, b.name()); fileExists(d) {
			c.failf("box %d: cgroup %s remains after --cleanup", b.id, d)
		}
	}
	if m := mountsUnder(b.dir); len(m) > 0 {
		c.failf("box %d: mounts %v remain after --cleanup", b.id, m)
	}
	c.checkUID(b.uid, 0, b.canary)
}

// reinit cleans a box up and initialises it again with the same id.
func (c *ctx) reinit(b *box) {
	c.cleanup(b)
	if _, errs, err := c.runtime("isolate", "-b", strconv.Itoa(b.id), "--cg", "--init"); err != nil {
		c.fatalf("isolate --init of box %d: %v: %s", b.id, err, strings.TrimSpace(errs))
	}
	b.cleaned = false
	b.initPid = c.initPid(b)
}

// spec is how to run a program in a box.
type spec struct {
	opts []string // isolate options; -t 2 and -w 5 unless given
	prog []string
	// stdio defaults: /dev/null in, captured out and err.
	stdin          *os.File
	stdout, stderr *os.File
	sys            *syscall.SysProcAttr
}

// capture reads a pipe into memory, keeping the first 256 KiB.
type capture struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	total int64
	done  chan struct{}
}

func newCapture(r *os.File) *capture {
	cp := &capture{done: make(chan struct{})}
	go func() {
		defer close(cp.done)
		defer r.Close()
		chunk := make([]byte, 64<<10)
		for {
			n, err := r.Read(chunk)
			cp.mu.Lock()
			cp.total += int64(n)
			if keep := 256<<10 - cp.buf.Len(); keep > 0 {
				cp.buf.Write(chunk[:min(n, keep)])
			}
			cp.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return cp
}

func (cp *capture) String() string {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.buf.String()
}

// running is a run in progress.
type running struct {
	c        *ctx
	cmd      *exec.Cmd
	out, err *capture
	meta     string
	began    time.Time
	desc     string
}

func hasOpt(opts []string, names ...string) bool {
	for _, o := range opts {
		for _, n := range names {
			if o == n || strings.HasPrefix(o, n+"=") || (len(n) == 2 && strings.HasPrefix(o, n) && len(o) > 2) {
				return true
			}
		}
	}
	return false
}

// start starts `isolate --run` in box b.
func (c *ctx) start(b *box, sp spec) *running {
	meta := filepath.Join(c.dir, fmt.Sprintf("meta-%d-%d", b.id, time.Now().UnixNano()))
	args := []string{"--root", c.s.stateRoot, "isolate", "-b", strconv.Itoa(b.id), "--cg", "-M", meta}
	if !hasOpt(sp.opts, "-t", "--time") {
		args = append(args, "-t", "2")
	}
	if !hasOpt(sp.opts, "-w", "--wall-time") {
		args = append(args, "-w", "5")
	}
	args = append(append(append(args, sp.opts...), "--run", "--"), sp.prog...)
	return c.startCmd(args, sp, meta)
}

func (c *ctx) startCmd(args []string, sp spec, meta string) *running {
	cmd := exec.Command(c.s.bin, args...)
	cmd.Env = c.s.env
	cmd.SysProcAttr = sp.sys
	r := &running{c: c, cmd: cmd, meta: meta, desc: strings.Join(args[2:], " ")}
	stdin := sp.stdin
	if stdin == nil {
		f, err := os.Open(os.DevNull)
		if err != nil {
			c.fatalf("%v", err)
		}
		defer f.Close()
		stdin = f
	}
	cmd.Stdin = stdin
	var closeAfter []*os.File
	pipeFor := func(given *os.File) (*os.File, *capture) {
		if given != nil {
			return given, nil
		}
		pr, pw, err := os.Pipe()
		if err != nil {
			c.fatalf("%v", err)
		}
		closeAfter = append(closeAfter, pw)
		return pw, newCapture(pr)
	}
	var outW, errW *os.File
	outW, r.out = pipeFor(sp.stdout)
	errW, r.err = pipeFor(sp.stderr)
	cmd.Stdout, cmd.Stderr = outW, errW
	r.began = time.Now()
	if c.s.opts.verbose {
		progress("%s: run %s", c.a.name, r.desc)
	}
	if err := cmd.Start(); err != nil {
		c.fatalf("start %s: %v", r.desc, err)
	}
	for _, f := range closeAfter {
		f.Close()
	}
	return r
}

// startHeld starts a run whose program holds its box until release
// closes its stdin (the programs' "stdin" hold): a box that another box
// attacks stays busy for the whole attack, however slow the host.
func (c *ctx) startHeld(b *box, sp spec) (*running, func()) {
	hold, release, err := os.Pipe()
	if err != nil {
		c.fatalf("%v", err)
	}
	sp.stdin = hold
	c.cleanups = append(c.cleanups, func() { release.Close() })
	r := c.start(b, sp)
	hold.Close()
	return r, func() { release.Close() }
}

// waitFor waits until the run's stdout contains s, for timeout scaled to
// the host.
func (r *running) waitFor(s string, timeout time.Duration) bool {
	deadline := time.Now().Add(slack(timeout))
	for time.Now().Before(deadline) {
		if r.out != nil && strings.Contains(r.out.String(), s) {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// wait waits for the run (at most 60 s) and collects its result. A pipe
// still open 2 s after the runtime exited means something of the box holds
// the caller's stdout: a survivor.
func (r *running) wait() *res {
	c := r.c
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		_ = r.cmd.Process.Kill()
		err = <-done
		c.failf("%s: still running after 60 s, killed", r.desc)
	}
	out := &res{wall: time.Since(r.began), cmd: r.desc}
	if ps := r.cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			out.rssKB = ru.Maxrss
		}
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		out.code = ee.ExitCode()
	default:
		c.failf("%s: %v", r.desc, err)
	}
	for _, cp := range []*capture{r.out, r.err} {
		if cp == nil {
			continue
		}
		select {
		case <-cp.done:
		case <-time.After(slack(2 * time.Second)):
			c.failf("%s: the caller's stdout or stderr is still held open %v after the run ended", r.desc, slack(2*time.Second))
		}
	}
	if r.out != nil {
		out.stdout, out.outBytes = r.out.String(), r.out.total
	}
	if r.err != nil {
		out.stderr = r.err.String()
	}
	if data, err := os.ReadFile(r.meta); err == nil {
		out.meta = parseMeta(string(data))
	}
	c.outputs = append(c.outputs, out.stdout, out.stderr)
	if c.s.opts.verbose {
		progress("%s: exit %d, meta %v\nstdout: %.2000s\nstderr: %.1000s", c.a.name, out.code, out.meta, out.stdout, out.stderr)
	}
	return out
}

// iso runs a program in box b and waits for it.
func (c *ctx) iso(b *box, opts []string, prog ...string) *res {
	return c.start(b, spec{opts: opts, prog: prog}).wait()
}

// isoSpec is iso with every detail of the spec.
func (c *ctx) isoSpec(b *box, sp spec) *res {
	return c.start(b, sp).wait()
}

func parseMeta(data string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(data), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			m[k] = v
		}
	}
	return m
}

// ran checks that the program reported each attempt: lines starting with
// "TRY <label>".
func (c *ctx) ran(r *res, labels ...string) {
	for _, l := range labels {
		if !strings.Contains(r.stdout, "TRY "+l) {
			c.failf("%s: the program did not report trying %q (exit %d, meta %v, stderr %.200q)", r.cmd, l, r.code, r.meta, r.stderr)
		}
	}
}

// tried returns the outcome the program reported for label: "ok", an
// errno name, or "" when absent.
func tried(r *res, label string) string {
	for _, l := range strings.Split(r.stdout, "\n") {
		if v, ok := strings.CutPrefix(l, "TRY "+label+": "); ok {
			return strings.Fields(v + " ?")[0]
		}
	}
	return ""
}

// line returns the rest of the first stdout line starting with prefix.
func line(r *res, prefix string) (string, bool) {
	for _, l := range strings.Split(r.stdout, "\n") {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// expectMeta checks report keys: "" wants the key absent, "*" present.
func (c *ctx) expectMeta(r *res, want map[string]string) bool {
	ok := true
	for k, v := range want {
		got, has := r.meta[k]
		switch {
		case v == "" && has:
			ok = false
		case v == "*" && !has:
			ok = false
		case v != "" && v != "*" && got != v:
			ok = false
		}
	}
	if !ok {
		c.failf("%s: report %v, want %v (exit %d, stderr %.200q)", r.cmd, r.meta, want, r.code, r.stderr)
	}
	return ok
}

// clean wants a run that exited 0 within its limits.
func (c *ctx) clean(r *res) {
	c.expectMeta(r, map[string]string{"status": "", "exitcode": "0"})
}

// metaInt reads a numeric report key.
func metaInt(r *res, key string) int64 {
	v, err := strconv.ParseInt(r.meta[key], 10, 64)
	if err != nil {
		return -1
	}
	return v
}

// writeTo is a helper for attacks that need a host file of their own.
func writeTo(path, content string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		return err
	}
	return os.Chmod(path, mode)
}
