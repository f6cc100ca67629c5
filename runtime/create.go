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

	"github.com/mini-isolate/mini-isolate/runtime/meta"
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

func (r *Runtime) launch(ctx context.Context, id string, o CreateOpts, run bool) (status int, retErr error) {
	if id == "" {
		return -1, ErrEmptyID
	}
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	logrus.Debugf("%s: loading bundle", map[bool]string{true: "run", false: "create"}[run])
	for _, p := range []*string{&o.PidFile, &o.Meta} {
		if *p != "" && *p != "-" {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return -1, err
			}
			*p = abs
		}
	}
	// Fail before touching anything when the id is taken.
	if _, err := os.Stat(filepath.Join(r.stateDir(id), "state.json")); err == nil {
		return -1, fmt.Errorf("create %s: %w", id, ErrExist)
	}
	spec, bundle, err := specconv.LoadBundle(o.Bundle)
	if err != nil {
		return -1, err
	}
	judge, err := judgeOf(spec, &o)
	if err != nil {
		return -1, err
	}
	// From here on a judged container that fails still gets a report,
	// unless the id belongs to another container, whose report it is.
	defer func() {
		if retErr != nil && !errors.Is(retErr, ErrExist) {
			judgeFailure(judge, retErr)
		}
	}()
	cfg, err := specconv.Config(spec, bundle, specconv.Options{
		ID:            id,
		SystemdCgroup: r.SystemdCgroup,
		NoPivotRoot:   o.NoPivot,
		NoNewKeyring:  o.NoNewKeyring,
	})
	if err != nil {
		return -1, err
	}
	process, err := specconv.Process(spec.Process)
	if err != nil {
		return -1, err
	}
	process.Init = true
	process.LogLevel = strconv.Itoa(int(logrus.GetLevel()))
	if err := preserveFDs(process, o.PreserveFDs); err != nil {
		return -1, err
	}
	if o.BoxListener != nil {
		if judge != nil {
			return -1, errors.New("a box takes no judge annotations: each run brings its own limits")
		}
		exe, err := prepareBoxInit(spec, process, o.BoxListener, r.Root)
		if err != nil {
			return -1, err
		}
		defer exe.Close()
	}
	var js *judgeSetup
	if judge != nil {
		if err := r.ensureRoot(); err != nil {
			return -1, err
		}
		if js, err = prepareJudge(judge, spec, cfg, process, o.PreserveFDs, r.Root); err != nil {
			return -1, err
		}
		defer js.close()
	}
	late := takeLateRlimits(process)
	sc := &sidecar{Process: spec.Process}
	if js != nil {
		sc.Judge = js.state
	}
	takeHooks(cfg, spec.Hooks, sc)

	if err := r.ensureRoot(); err != nil {
		return -1, err
	}
	c, err := libcontainer.Create(r.Root, id, cfg)
	if err != nil {
		// Another create of the same id won the race for the directory;
		// it is not ours to clean up.
		if errors.Is(err, libcontainer.ErrExist) || errors.Is(err, os.ErrExist) {
			return -1, fmt.Errorf("create %s: %w", id, ErrExist)
		}
		// libcontainer may leave an empty state dir behind.
		r.removeStaleDir(id)
		return -1, fmt.Errorf("create %s: %w", id, err)
	}
	defer func() {
		if retErr != nil {
			destroyQuietly(c)
		}
	}()
	if m, err := manager.New(cfg.Cgroups); err == nil {
		sc.CgroupPaths = m.GetPaths()
	}
	if err := r.writeSidecar(id, sc); err != nil {
		return -1, err
	}

	detach := !run || o.Detach
	var relay *signalRelay
	if !detach {
		relay = newSignalRelay()
		defer relay.stop()
	}
	if o.PidfdSocket != "" {
		closeSock, err := dialPidfdSocket(process, o.PidfdSocket)
		if err != nil {
			return -1, err
		}
		defer closeSock()
	}
	stdio := &stdioSetup{}
	if js != nil && js.state.Capture {
		// The supervisor relays stdout and stderr and counts them.
		process.Stdin, process.Stdout, process.Stderr = o.Stdio.In, js.outW, js.errW
	} else if stdio, err = setupStdio(process, cfg, o.Stdio, spec.Process.Terminal, detach, o.ConsoleSocket); err != nil {
		return -1, err
	}
	defer stdio.close()

	logrus.Debug("create: starting init")
	if err := c.Start(process); err != nil {
		return -1, err
	}
	logrus.Debug("create: init waits for start")
	if js != nil {
		js.started()
	}
	if err := stdio.started(); err != nil {
		killProcess(process)
		return -1, err
	}
	pid, err := process.Pid()
	if err != nil {
		killProcess(process)
		return -1, err
	}
	if err := setRlimits(pid, late); err != nil {
		killProcess(process)
		return -1, err
	}
	var sup *supervise.Supervisor
	if js != nil {
		if detach {
			supPid, err := r.spawnSupervisor(id, js, o.Stdio)
			if err != nil {
				killProcess(process)
				return -1, err
			}
			sc.Judge.SupervisorPid = supPid
			if err := r.writeSidecar(id, sc); err != nil {
				killProcess(process)
				return -1, err
			}
		} else if sup, err = superviseForeground(c, js, o.Stdio); err != nil {
			killProcess(process)
			return -1, err
		}
	}
	if err := writePidFile(o.PidFile, pid); err != nil {
		killProcess(process)
		return -1, err
	}
	if !run {
		return 0, nil
	}
	if err := r.release(c, sc.Poststart); err != nil {
		killProcess(process)
		return -1, err
	}
	if detach {
		return 0, nil
	}
	logrus.Debug("run: process started")
	var report chan *meta.Result
	if sup != nil {
		report = make(chan *meta.Result, 1)
		go func() { report <- sup.Wait(ctx) }()
	}
	status, err = relay.wait(process, stdio)
	if err != nil {
		killProcess(process)
		return -1, err
	}
	logrus.Debugf("run: process exited with status %d", status)
	if sup != nil {
		res := <-report
		sup.Close()
		r.finishJudge(id, js.state, res)
	}
	if !o.Keep {
		r.destroy(c)
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
		runHooksWarn("poststart", poststart, state)
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
	if _, err := os.Stat(filepath.Join(dir, "state.json")); !errors.Is(err, os.ErrNotExist) {
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
// none is left.
func killCgroup(dir string) error {
	for i := 0; i < 100; i++ {
		pids, err := cgroups.GetAllPids(dir)
		if errors.Is(err, os.ErrNotExist) || (err == nil && len(pids) == 0) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, p := range pids {
			_ = unix.Kill(p, unix.SIGKILL)
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("processes left in %s", dir)
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
