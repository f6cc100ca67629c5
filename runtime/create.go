package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/runtime/judged"
	"github.com/mini-isolate/mini-isolate/runtime/meta"
	"github.com/mini-isolate/mini-isolate/runtime/proc"
	"github.com/mini-isolate/mini-isolate/runtime/supervise"
	"github.com/mini-isolate/mini-isolate/specconv"
)

// CreateOpts configures Create and Run.
type CreateOpts struct {
	// Bundle is the directory holding config.json; "" means the current one.
	Bundle string
	// PidFile receives the init's host pid once the container exists.
	PidFile string
	// ConsoleSocket is a unix socket that receives the pty master when the
	// process asks for a terminal.
	ConsoleSocket string
	// PidfdSocket is a unix socket that receives a pidfd of the init.
	PidfdSocket  string
	NoPivot      bool
	NoNewKeyring bool
	// PreserveFDs passes fds 3 .. 3+N-1 of the caller to the container.
	PreserveFDs int
	// Stdio is attached to the container's process.
	Stdio Stdio

	// Detach makes Run return once the process started (run only).
	Detach bool
	// Keep leaves a finished container for `delete` (run only).
	Keep bool

	// Meta, when set, makes the container judged and names its report
	// file ("-" for stdout); MetaFormat is isolate or json. Both override
	// the annotations.
	Meta, MetaFormat string
	// WallTime, when positive, caps a judged container's wall-time limit:
	// an interaction's limit covers all its parties.
	WallTime time.Duration
	// InheritStdio gives Stdio to the process as they are in the
	// foreground too, as a detached run does, instead of copying through
	// pipes of its own: end of file and EPIPE then pass straight between
	// the process and whoever holds the other ends.
	InheritStdio bool
	// Started, when set, is called once run's process holds Stdio (not
	// when a supervisor copies its output, which needs Stdio.Out to the
	// end): a caller that wired it to another with pipes closes its own
	// ends then, or once Run returns.
	Started func()
	// Report, when set, receives a judged run's report as it is filed.
	Report func(*meta.Result)

	// BoxListener makes the container a box: its process is replaced by
	// a judge init that serves runs, one per connection accepted on this
	// listening socket, for as long as the container lives.
	BoxListener *os.File
}

// Create builds the container and leaves its init blocked before exec, for
// Start to release. The container's stdio is Stdio, which stays attached
// after Create returns.
func (r *Runtime) Create(ctx context.Context, id string, o CreateOpts) error {
	_, err := r.launch(ctx, id, o, false)
	return err
}

// Run creates and starts a container. In the foreground it relays signals
// and stdio, waits, deletes the container unless Keep, and returns the exit
// status (128+N for death by signal N).
func (r *Runtime) Run(ctx context.Context, id string, o CreateOpts) (int, error) {
	return r.launch(ctx, id, o, true)
}

// launch is a container on its way from config.json to a started
// process: what prepare made and start needs, and what cleanup undoes when
// either fails. runc's create separates the same two steps.
type launch struct {
	r           *Runtime
	id          string
	o           CreateOpts
	run, detach bool

	spec    *specs.Spec
	cfg     *configs.Config
	process *libcontainer.Process
	judge   *policy.Judge // judge settings, nil for a plain container
	js      *judged.Setup // the judged container's setup
	late    []configs.Rlimit
	sc      *sidecar
	closers []func()

	c       *libcontainer.Container // once created
	started bool                    // the init process runs
	spawned bool                    // a detached supervisor supervises it
	stdio   *stdioSetup
	relay   *signalRelay
	sup     *supervise.Supervisor // foreground supervision
}

func (r *Runtime) launch(ctx context.Context, id string, o CreateOpts, run bool) (status int, retErr error) {
	l := &launch{r: r, id: id, o: o, run: run, detach: !run || o.Detach, stdio: &stdioSetup{}}
	defer func() { l.cleanup(retErr) }()
	if id == "" {
		return -1, ErrEmptyID
	}
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	if err := l.prepare(); err != nil {
		return -1, err
	}
	if err := l.start(); err != nil {
		return -1, err
	}
	if !run {
		return 0, nil
	}
	return l.runToEnd(ctx)
}

// cleanup runs once a launch is over: on failure it reports to a judged
// container's meta file, kills the init and removes the container; either
// way it closes what the launch held.
func (l *launch) cleanup(err error) {
	if err != nil {
		if l.started {
			killProcess(l.process)
		}
		// A detached supervisor files its own report once the init is
		// gone: ours, naming the failure, comes after it, and the state
		// directory goes only when it is done.
		if l.spawned {
			judged.WaitSupervisor(l.r.stateDir(l.id))
		}
		// A judged container that fails still gets a report, unless the
		// id belongs to another container, whose report it is.
		if !errors.Is(err, ErrExist) {
			judged.Failure(l.judge, err)
		}
		if l.c != nil {
			l.destroy()
		}
	}
	if l.relay != nil {
		l.relay.stop()
	}
	l.stdio.close()
	if l.js != nil {
		l.js.Close()
	}
	for _, f := range slices.Backward(l.closers) {
		f()
	}
}

// destroy removes a container whose launch failed, then runs its poststop
// hooks: a failed create or start continues the lifecycle at destroy.
func (l *launch) destroy() {
	state, stateErr := l.c.OCIState()
	destroyQuietly(l.c)
	if stateErr == nil && l.sc != nil && len(l.sc.Poststop) > 0 {
		state.Status, state.Pid = specs.StateStopped, 0
		runHooksWarn("poststop", l.sc.Poststop, state)
	}
}

// prepare reads the bundle and builds libcontainer's config and process,
// judged or a box's if asked; nothing exists on the host yet.
func (l *launch) prepare() error {
	logrus.Debugf("%s: loading bundle", map[bool]string{true: "run", false: "create"}[l.run])
	for _, p := range []*string{&l.o.PidFile, &l.o.Meta} {
		if *p != "" && *p != "-" {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return err
			}
			*p = abs
		}
	}
	// Fail before touching anything when the id is taken.
	if _, err := os.Stat(filepath.Join(l.r.stateDir(l.id), stateFile)); err == nil {
		return fmt.Errorf("create %s: %w", l.id, ErrExist)
	}
	spec, bundle, err := specconv.LoadBundle(l.o.Bundle)
	if err != nil {
		return err
	}
	l.spec = spec
	if l.judge, err = judged.Settings(spec, l.o.Meta, l.o.MetaFormat); err != nil {
		return err
	}
	if w := policy.Duration(l.o.WallTime); l.judge != nil && w > 0 && (l.judge.Limits.WallTime == 0 || l.judge.Limits.WallTime > w) {
		l.judge.Limits.WallTime = w
	}
	if l.cfg, err = specconv.Config(spec, bundle, specconv.Options{
		ID: l.id, SystemdCgroup: l.r.SystemdCgroup, NoPivotRoot: l.o.NoPivot, NoNewKeyring: l.o.NoNewKeyring,
	}); err != nil {
		return err
	}
	if l.process, err = specconv.Process(spec.Process); err != nil {
		return err
	}
	l.process.Init = true
	l.process.LogLevel = strconv.Itoa(int(logrus.GetLevel()))
	if err := preserveFDs(l.process, l.o.PreserveFDs); err != nil {
		return err
	}
	if err := l.prepareInit(); err != nil {
		return err
	}
	l.late = takeLateRlimits(l.process)
	l.sc = &sidecar{Process: spec.Process}
	if l.js != nil {
		l.sc.Judge = l.js.State
	}
	return takeHooks(l.cfg, spec.Hooks, l.sc)
}

// prepareInit makes the container's process a judge init: a box's, which
// serves runs, or a judged container's, which runs the process.
func (l *launch) prepareInit() error {
	if l.o.BoxListener != nil {
		if l.judge != nil {
			return errors.New("a box takes no judge annotations: each run brings its own limits")
		}
		exe, err := judged.PrepareBoxInit(l.spec, l.process, l.o.BoxListener, l.r.Root)
		if err != nil {
			return err
		}
		l.closers = append(l.closers, func() { exe.Close() })
		return nil
	}
	if l.judge == nil {
		return nil
	}
	if err := l.r.ensureRoot(); err != nil {
		return err
	}
	js, err := judged.Prepare(l.judge, l.spec, l.cfg, l.process, l.o.PreserveFDs, l.r.Root)
	if err != nil {
		return err
	}
	l.js = js
	return nil
}

// start creates the container and starts its init, which waits for
// `start` before exec; a judged container's supervisor is in place when it
// returns.
func (l *launch) start() error {
	r, id, o := l.r, l.id, l.o
	if err := r.ensureRoot(); err != nil {
		return err
	}
	c, err := libcontainer.Create(r.Root, id, l.cfg)
	if err != nil {
		// Another create of the same id won the race for the directory;
		// it is not ours to clean up.
		if errors.Is(err, libcontainer.ErrExist) || errors.Is(err, os.ErrExist) {
			return fmt.Errorf("create %s: %w", id, ErrExist)
		}
		// Nothing to clean up: making the state directory is Create's
		// last step. A directory there now is another create's, made
		// since Create looked (its cgroup then fails this one).
		return fmt.Errorf("create %s: %w", id, err)
	}
	l.c = c
	if m, err := manager.New(l.cfg.Cgroups); err == nil {
		l.sc.CgroupPaths = m.GetPaths()
	}
	if err := r.writeSidecar(id, l.sc); err != nil {
		return err
	}
	if !l.detach {
		l.relay = newSignalRelay()
	}
	if o.PidfdSocket != "" {
		closeSock, err := dialPidfdSocket(l.process, o.PidfdSocket)
		if err != nil {
			return err
		}
		l.closers = append(l.closers, closeSock)
	}
	if l.js != nil && l.js.State.Capture() {
		// The supervisor relays stdout and stderr and counts them.
		l.process.Stdin, l.process.Stdout, l.process.Stderr = o.Stdio.In, l.js.OutW, l.js.ErrW
	} else if l.stdio, err = setupStdio(l.process, l.cfg, o.Stdio, l.spec.Process.Terminal, l.detach || o.InheritStdio, o.ConsoleSocket); err != nil {
		l.stdio = &stdioSetup{}
		return err
	}
	logrus.Debug("create: starting init")
	if err := whollyRoot(func() error { return c.Start(l.process) }); err != nil {
		return err
	}
	l.started = true
	logrus.Debug("create: init waits for start")
	return l.afterStart()
}

// afterStart finishes a started init: its stdio, late rlimits, the
// judge's supervisor and the pid file.
func (l *launch) afterStart() error {
	if l.js != nil {
		l.js.Started()
	}
	if err := l.stdio.started(); err != nil {
		return err
	}
	pid, err := l.process.Pid()
	if err != nil {
		return err
	}
	if err := setRlimits(pid, l.late); err != nil {
		return err
	}
	if l.js != nil {
		if err := l.supervise(); err != nil {
			return err
		}
	}
	return writePidFile(l.o.PidFile, pid)
}

// supervise hands a judged container to its supervisor: a detached one
// when create returns before the run ends, else this process.
func (l *launch) supervise() error {
	t, err := targetOf(l.c)
	if err != nil {
		return err
	}
	if !l.detach {
		l.sup, err = judged.Foreground(l.js, *t, l.o.Stdio.Out, l.o.Stdio.Err)
		return err
	}
	args := append(append([]string{}, l.r.SupervisorArgs...), "--root", l.r.Root, "supervise", l.id)
	if err := judged.Spawn(l.js, l.r.stateDir(l.id), args, l.o.Stdio.Out, l.o.Stdio.Err); err != nil {
		return err
	}
	l.spawned = true
	return nil
}

// runToEnd lets the process exec, and in the foreground waits for it,
// files the report and deletes the container unless asked to keep it.
func (l *launch) runToEnd(ctx context.Context) (int, error) {
	if err := l.r.release(l.c, l.sc.Poststart); err != nil {
		return -1, err
	}
	if l.detach {
		return 0, nil
	}
	// With captured output the supervisor copies into Stdio.Out until the
	// end: the caller's ends stay open until Run returns.
	if l.o.Started != nil && (l.js == nil || !l.js.State.Capture()) {
		l.o.Started()
	}
	logrus.Debug("run: process started")
	var report chan *meta.Result
	if l.sup != nil {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		l.relay.terminate = cancel
		report = make(chan *meta.Result, 1)
		go func() { report <- l.sup.Wait(ctx) }()
	}
	status, err := l.relay.wait(l.process, l.stdio)
	if err != nil {
		return -1, err
	}
	logrus.Debugf("run: process exited with status %d", status)
	if l.sup != nil {
		res := <-report
		l.sup.Close()
		if l.o.Report != nil {
			l.o.Report(res)
		}
		judged.File(l.r.stateDir(l.id), l.js.State, res)
	}
	if !l.o.Keep {
		l.r.destroy(l.c)
		logrus.Debug("run: container deleted")
	}
	return status, nil
}

// Start releases the init of a created container to exec the user process,
// then runs the poststart hooks.
func (r *Runtime) Start(ctx context.Context, id string) error {
	c, err := r.load(id)
	if err != nil {
		return err
	}
	status, err := c.Status()
	if err != nil {
		return fmt.Errorf("start %s: %w", id, err)
	}
	switch status {
	case libcontainer.Created:
	case libcontainer.Stopped:
		return errors.New("cannot start a container that has stopped")
	case libcontainer.Running:
		return errors.New("cannot start an already running container")
	default:
		return fmt.Errorf("cannot start a container in the %s state", status)
	}
	sc, err := r.readSidecar(id)
	if err != nil {
		return err
	}
	return r.release(c, sc.Poststart)
}

// release opens the exec fifo, which lets the init exec the user process.
func (r *Runtime) release(c *libcontainer.Container, poststart []specs.Hook) error {
	var pid int
	var initCmd string
	if len(poststart) > 0 {
		if st, err := c.State(); err == nil {
			pid = st.InitProcessPid
			initCmd = cmdline(pid)
		}
	}
	if err := c.Exec(); err != nil {
		return fmt.Errorf("start %s: %w", c.ID(), err)
	}
	if len(poststart) > 0 {
		// The spec runs poststart after the user process was executed; the
		// fifo only tells us the init is on its way to execve.
		waitExec(pid, initCmd, time.Second)
		state, err := c.OCIState()
		if err != nil {
			return fmt.Errorf("start %s: %w", c.ID(), err)
		}
		// The hooks describe the start that just happened, even when a
		// short program has already exited by the time they run.
		state.Status = specs.StateRunning
		state.Pid = pid
		if err := runHooks("poststart", poststart, state); err != nil {
			// runtime-spec 1.3: a failing poststart hook fails start and
			// stops the container, as runc does.
			if err := stop(context.Background(), c); err != nil {
				logrus.Warn(err)
			}
			return fmt.Errorf("start %s: %w", c.ID(), err)
		}
	}
	return nil
}

func killProcess(p *libcontainer.Process) {
	_ = p.Signal(unix.SIGKILL)
	_, _ = p.Wait()
}

// destroy deletes a stopped container and runs its poststop hooks.
func (r *Runtime) destroy(c *libcontainer.Container) {
	if err := r.destroyContainer(c); err != nil {
		logrus.Warn(err)
	}
}

func destroyQuietly(c *libcontainer.Container) {
	_ = c.Signal(unix.SIGKILL)
	if err := c.Destroy(); err != nil {
		logrus.Debugf("cleanup after failed create: %v", err)
	}
}

// removeStaleDir cleans up after a create that died before libcontainer
// saved its state: it kills whatever made it into the container's
// cgroups, removes them, and removes the state directory.
func (r *Runtime) removeStaleDir(id string) {
	dir := r.stateDir(id)
	if _, err := os.Stat(filepath.Join(dir, stateFile)); !errors.Is(err, os.ErrNotExist) {
		return
	}
	if sc, err := r.readSidecar(id); err == nil && len(sc.CgroupPaths) > 0 {
		for _, p := range sc.CgroupPaths {
			if err := killCgroup(p); err != nil {
				logrus.Debugf("cleanup %s: %v", p, err)
			}
		}
		if err := cgroups.RemovePaths(sc.CgroupPaths); err != nil {
			logrus.Warnf("cleanup %s: %v", id, err)
		}
	}
	_ = os.RemoveAll(dir)
}

// killCgroup SIGKILLs every process in a cgroup directory and below, until
// none is left, through pidfds (proc.KillListed).
func killCgroup(dir string) error {
	err := proc.KillListed(func() ([]int, error) { return cgroups.GetAllPids(dir) }, time.Millisecond)
	switch {
	case err == nil, errors.Is(err, os.ErrNotExist):
		return nil
	case errors.Is(err, proc.ErrProcessesLeft):
		return fmt.Errorf("processes left in %s", dir)
	}
	return err
}

func preserveFDs(p *libcontainer.Process, n int) error {
	if n < 0 {
		return fmt.Errorf("--preserve-fds %d: must not be negative", n)
	}
	base := 3 + len(p.ExtraFiles)
	for fd := base; fd < base+n; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			return fmt.Errorf("--preserve-fds: fd %d is not open: %w", fd, err)
		}
		p.ExtraFiles = append(p.ExtraFiles, os.NewFile(uintptr(fd), "preserved-fd-"+strconv.Itoa(fd)))
	}
	return nil
}

// lateRlimits are applied only once the init has loaded seccomp and is
// waiting to exec: the Go init reserves over a gigabyte of address space,
// so an address-space or data limit set earlier makes its own allocations
// (libseccomp's among them) fail.
var lateRlimits = []int{unix.RLIMIT_AS, unix.RLIMIT_DATA}

func takeLateRlimits(p *libcontainer.Process) []configs.Rlimit {
	var late, early []configs.Rlimit
	for _, rl := range p.Rlimits {
		if slices.Contains(lateRlimits, rl.Type) {
			late = append(late, rl)
		} else {
			early = append(early, rl)
		}
	}
	p.Rlimits = early
	return late
}

func setRlimits(pid int, limits []configs.Rlimit) error {
	for _, rl := range limits {
		lim := unix.Rlimit{Cur: rl.Soft, Max: rl.Hard}
		if err := unix.Prlimit(pid, rl.Type, &lim, nil); err != nil {
			return fmt.Errorf("set rlimit %d of %d: %w", rl.Type, pid, err)
		}
	}
	return nil
}

// waitExec waits until process pid no longer runs the command line
// initCmd (that of libcontainer's init), or is gone, or the timeout passes.
func waitExec(pid int, initCmd string, timeout time.Duration) {
	if pid <= 0 || initCmd == "" {
		return
	}
	deadline := time.Now().Add(timeout)
	for wait := 50 * time.Microsecond; time.Now().Before(deadline); wait = min(2*wait, 5*time.Millisecond) {
		if cmdline(pid) != initCmd {
			return
		}
		time.Sleep(wait)
	}
}

func cmdline(pid int) string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return string(data)
}
