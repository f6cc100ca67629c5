package runtime

import (
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/exeseal"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
	"github.com/mini-isolate/mini-isolate/runtime/judgeinit"
	"github.com/mini-isolate/mini-isolate/runtime/meta"
	"github.com/mini-isolate/mini-isolate/runtime/proc"
	"github.com/mini-isolate/mini-isolate/runtime/supervise"
	"github.com/mini-isolate/mini-isolate/specconv"
)

// Headroom the container's own cgroup keeps above the program's limits:
// libcontainer's Go init runs there while it sets the container up, and it
// needs memory and threads the program's limits must not count.
const (
	memoryHeadroom = 64 << 20
	pidsHeadroom   = 32
)

// judgeResultName holds the report in the container's state directory.
const judgeResultName = "judge.json"

// judgeState is what create records for whoever supervises a judged
// container: the detached supervisor reads it from the sidecar.
type judgeState struct {
	Limits     supervise.Limits `json:"limits"`
	Run        judgeinit.Run    `json:"run"`
	CPUs       int              `json:"cpus"`
	Capture    bool             `json:"capture,omitempty"`
	Meta       string           `json:"meta,omitempty"`
	MetaFormat string           `json:"metaFormat,omitempty"`
	// SupervisorPid is the detached supervisor, which delete waits for.
	SupervisorPid int `json:"supervisorPid,omitempty"`
}

// judgeSetup is a judged container on its way to being started.
type judgeSetup struct {
	state *judgeState
	conn  *judgeinit.Conn
	// ct is the init's end of the socket and exe the sealed binary it runs
	// from; outR/errR and outW/errW are the captured stdout and stderr,
	// when there is an output limit.
	ct, exe, outR, outW, errR, errW *os.File
}

// judgeOf reads the judge settings of a spec, with --meta from the command
// line. It returns nil for a plain OCI container.
func judgeOf(spec *specs.Spec, o *CreateOpts) (*specconv.Judge, error) {
	j, err := specconv.JudgeFromAnnotations(spec.Annotations)
	if err != nil {
		return nil, err
	}
	if o.Meta != "" {
		if j == nil {
			j = &specconv.Judge{MetaFormat: meta.FormatIsolate}
		}
		j.Meta = o.Meta
	}
	if o.MetaFormat != "" {
		if o.MetaFormat != meta.FormatIsolate && o.MetaFormat != meta.FormatJSON {
			return nil, fmt.Errorf("--meta-format %q: want isolate or json", o.MetaFormat)
		}
		if j != nil {
			j.MetaFormat = o.MetaFormat
		}
	}
	if j == nil {
		return nil, nil
	}
	if err := specconv.ValidateJudge(spec); err != nil {
		return nil, err
	}
	if j.OutputLimit > 0 && spec.Process.Terminal {
		return nil, errors.New("config.json: process.terminal: an output limit needs plain stdout and stderr, not a terminal")
	}
	return j, nil
}

// prepareJudge turns a container into a judged one: its process becomes
// the judge init, which will run the real process under supervision; the
// program's rlimits and limits move to where the init and the run's cgroup
// apply them.
func prepareJudge(j *specconv.Judge, spec *specs.Spec, cfg *configs.Config, p *libcontainer.Process, preserved int, tmpDir string) (_ *judgeSetup, retErr error) {
	res := cfg.Cgroups.Resources
	st := &judgeState{
		Limits: supervise.Limits{
			Time: j.Time, ExtraTime: j.ExtraTime, WallTime: j.WallTime, OutputLimit: j.OutputLimit,
		},
		Run: judgeinit.Run{
			Args: spec.Process.Args, Env: spec.Process.Env,
			Stdin: j.Stdin, Stdout: j.Stdout, Stderr: j.Stderr, StderrToStdout: j.StderrToStdout,
			KeepFDs: preserved,
		},
		CPUs:       cpuCount(spec),
		Capture:    j.OutputLimit > 0,
		Meta:       j.Meta,
		MetaFormat: j.MetaFormat,
	}
	if res.Memory > 0 {
		st.Limits.Memory = res.Memory
		res.Memory += memoryHeadroom
		res.MemorySwap = res.Memory
	}
	if res.PidsLimit != nil && *res.PidsLimit > 0 {
		st.Limits.Pids = *res.PidsLimit
		limit := *res.PidsLimit + pidsHeadroom
		res.PidsLimit = &limit
	}
	for _, rl := range p.Rlimits {
		st.Run.Rlimits = append(st.Run.Rlimits, judgeinit.Rlimit{Resource: rl.Type, Soft: rl.Soft, Hard: rl.Hard})
	}
	// No RLIMIT_CPU backstop: it arms the process CPU timer, which makes
	// the program's own clock() tick-coarse.
	p.Rlimits = nil

	s := &judgeSetup{state: st}
	defer func() {
		if retErr != nil {
			s.close()
		}
	}()
	if err := requireStaticSelf(); err != nil {
		return nil, err
	}
	var err error
	if s.conn, s.ct, err = judgeinit.NewPair(); err != nil {
		return nil, err
	}
	// The init runs from a sealed copy of this binary (a read-only overlay,
	// or a sealed memfd), held open by an fd: nothing in the sandbox can
	// reach or modify the binary on the host.
	if s.exe, err = exeseal.CloneSelfExe(tmpDir); err != nil {
		return nil, fmt.Errorf("judge init binary: %w", err)
	}
	exeFd := 3 + len(p.ExtraFiles)
	sockFd := exeFd + 1
	p.ExtraFiles = append(p.ExtraFiles, s.exe, s.ct)
	p.Args = []string{"/proc/self/fd/" + strconv.Itoa(exeFd), judgeinit.Arg, strconv.Itoa(sockFd)}
	if st.Capture {
		if s.outR, s.outW, err = os.Pipe(); err != nil {
			return nil, err
		}
		if s.errR, s.errW, err = os.Pipe(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// started drops our copies of what the container now holds.
func (s *judgeSetup) started() {
	for _, f := range []*os.File{s.ct, s.exe, s.outW, s.errW} {
		if f != nil {
			f.Close()
		}
	}
	s.ct, s.exe, s.outW, s.errW = nil, nil, nil, nil
}

func (s *judgeSetup) close() {
	s.started()
	for _, f := range []*os.File{s.outR, s.errR} {
		if f != nil {
			f.Close()
		}
	}
	if s.conn != nil {
		s.conn.Close()
	}
}

// cpuCount is how many CPUs the sandbox can use at once: its cpuset, its
// CFS quota, or the machine.
func cpuCount(spec *specs.Spec) int {
	n := goruntime.NumCPU()
	if spec.Linux == nil || spec.Linux.Resources == nil || spec.Linux.Resources.CPU == nil {
		return n
	}
	c := spec.Linux.Resources.CPU
	if c.Cpus != "" {
		if set, err := parseCPUSet(c.Cpus); err == nil && set > 0 {
			n = min(n, set)
		}
	}
	if c.Quota != nil && *c.Quota > 0 && c.Period != nil && *c.Period > 0 {
		n = min(n, int(math.Ceil(float64(*c.Quota)/float64(*c.Period))))
	}
	return max(n, 1)
}

func parseCPUSet(s string) (int, error) {
	n := 0
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return 0, err
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return 0, fmt.Errorf("bad cpu range %q", part)
			}
		}
		n += b - a + 1
	}
	return n, nil
}

// superviseConfig completes the supervisor's configuration from the live
// container.
func superviseConfig(c *libcontainer.Container, st *judgeState) (supervise.Config, error) {
	ls, err := c.State()
	if err != nil {
		return supervise.Config{}, err
	}
	return supervise.Config{
		Limits:      st.Limits,
		Run:         st.Run,
		InitPid:     ls.InitProcessPid,
		InitStart:   ls.InitProcessStartTime,
		CgroupPaths: ls.CgroupPaths,
		CgroupV2:    cgroups.IsCgroup2UnifiedMode(),
		CPUs:        st.CPUs,
	}, nil
}

// finishJudge files the report: in the meta file the container asked for,
// and in the state directory for `state`.
func (r *Runtime) finishJudge(id string, st *judgeState, res *meta.Result) {
	if st.Meta != "" {
		if err := res.WriteFile(st.Meta, st.MetaFormat); err != nil {
			logrus.Errorf("%s: %v", id, err)
		}
	}
	data, err := json.Marshal(res)
	if err != nil {
		return
	}
	_ = hostfile.Write(filepath.Join(r.stateDir(id), judgeResultName), data, 0o644)
}

// judgeFailure writes an XX report for a judged container that could not
// be set up at all.
func judgeFailure(j *specconv.Judge, cause error) {
	if j == nil || j.Meta == "" || cause == nil {
		return
	}
	if err := meta.Failure(cause.Error()).WriteFile(j.Meta, j.MetaFormat); err != nil {
		logrus.Errorf("%v", err)
	}
}

// judgeResult returns the report of a judged container once it exists.
func (r *Runtime) judgeResult(id string) *meta.Result {
	data, err := os.ReadFile(filepath.Join(r.stateDir(id), judgeResultName))
	if err != nil {
		return nil
	}
	var res meta.Result
	if err := json.Unmarshal(data, &res); err != nil {
		return nil
	}
	return &res
}

// superviseForeground supervises a judged run from this process.
func superviseForeground(c *libcontainer.Container, s *judgeSetup, stdio Stdio) (*supervise.Supervisor, error) {
	cfg, err := superviseConfig(c, s.state)
	if err != nil {
		return nil, err
	}
	if s.state.Capture {
		cfg.Output = supervise.NewCapture(s.state.Limits.OutputLimit,
			supervise.Stream{Dst: stdio.Out, Src: s.outR}, supervise.Stream{Dst: stdio.Err, Src: s.errR})
		s.outR, s.errR = nil, nil
	}
	sup, err := supervise.Start(s.conn, cfg)
	if err != nil {
		return nil, err
	}
	return sup, nil
}

// Extra files of the detached supervisor process, in this order.
const (
	supFdSocket = 3 + iota
	supFdReady
	supFdOutR
	supFdErrR
	supFdOutDst
	supFdErrDst
)

// spawnSupervisor starts `mini-isolate supervise ID` as a process of its
// own, in a session of its own, so that supervision goes on after create
// exits, and waits until it supervises.
func (r *Runtime) spawnSupervisor(id string, s *judgeSetup, stdio Stdio) (int, error) {
	sock, err := s.conn.File()
	if err != nil {
		return 0, err
	}
	defer sock.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer readyR.Close()
	files := []*os.File{sock, readyW}
	if s.state.Capture {
		files = append(files, s.outR, s.errR, stdio.Out, stdio.Err)
	}
	args := append(append([]string{}, r.SupervisorArgs...), "--root", r.Root, "supervise", id)
	cmd := exec.Command("/proc/self/exe", args...)
	cmd.Args[0] = os.Args[0]
	cmd.ExtraFiles = files
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		readyW.Close()
		return 0, fmt.Errorf("start supervisor: %w", err)
	}
	readyW.Close()
	pid := cmd.Process.Pid
	// Not waited for: it outlives us and is reaped by whoever inherits it.
	_ = cmd.Process.Release()

	msg := make(chan string, 1)
	go func() {
		data, _ := io.ReadAll(io.LimitReader(readyR, 4096))
		msg <- strings.TrimSpace(string(data))
	}()
	select {
	case m := <-msg:
		if m != "ok" {
			if m == "" {
				m = "supervisor exited before it was ready"
			}
			return 0, fmt.Errorf("supervisor: %s", m)
		}
	case <-time.After(30 * time.Second):
		_ = unix.Kill(pid, unix.SIGKILL)
		return 0, errors.New("supervisor did not get ready within 30s")
	}
	return pid, nil
}

// Supervise is the detached supervisor of a judged container: create
// starts it as `mini-isolate supervise ID` with the judge socket and a
// readiness pipe as extra files. It returns once the report is filed.
func (r *Runtime) Supervise(ctx context.Context, id string) error {
	ready := os.NewFile(supFdReady, "ready")
	fail := func(err error) error {
		fmt.Fprintln(ready, err.Error())
		ready.Close()
		return err
	}
	c, err := r.load(id)
	if err != nil {
		return fail(err)
	}
	sc, err := r.readSidecar(id)
	if err != nil {
		return fail(err)
	}
	if sc.Judge == nil {
		return fail(fmt.Errorf("container %s is not judged", id))
	}
	st := sc.Judge
	cfg, err := superviseConfig(c, st)
	if err != nil {
		return fail(err)
	}
	sockFile := os.NewFile(supFdSocket, "judge-socket")
	conn, err := judgeinit.FileConn(sockFile)
	sockFile.Close()
	if err != nil {
		return fail(err)
	}
	defer conn.Close()
	if st.Capture {
		cfg.Output = supervise.NewCapture(st.Limits.OutputLimit,
			supervise.Stream{Dst: os.NewFile(supFdOutDst, "stdout"), Src: os.NewFile(supFdOutR, "program-stdout")},
			supervise.Stream{Dst: os.NewFile(supFdErrDst, "stderr"), Src: os.NewFile(supFdErrR, "program-stderr")})
	}
	sup, err := supervise.Start(conn, cfg)
	if err != nil {
		return fail(err)
	}
	defer sup.Close()
	fmt.Fprintln(ready, "ok")
	ready.Close()
	res := sup.Wait(ctx)
	r.finishJudge(id, st, res)
	return nil
}

// waitSupervisor gives a detached supervisor time to file its report
// before the container's cgroups and state go away.
func waitSupervisor(sc *sidecar) {
	if sc == nil || sc.Judge == nil || sc.Judge.SupervisorPid <= 0 {
		return
	}
	pid := sc.Judge.SupervisorPid
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	// The pid may have been reused since: only wait for our supervisor.
	if !strings.Contains(cmdline(pid), "\x00supervise\x00") {
		unix.Close(fd)
		return
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		n, err := unix.Poll(fds, int(time.Until(deadline).Milliseconds())+1)
		if n > 0 || (err != nil && !errors.Is(err, unix.EINTR)) {
			return
		}
	}
}

// requireStaticSelf refuses a dynamically linked build: the judge init runs
// from this binary inside the sandbox, where there may be no C library.
func requireStaticSelf() error {
	f, err := elf.Open("/proc/self/exe")
	if err != nil {
		return fmt.Errorf("judge init binary: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("judge supervision needs a statically linked mini-isolate; build it with make")
		}
	}
	return nil
}

// prepareBoxInit makes the process of a box container the judge init in
// listening mode. It returns the sealed binary's file, which the caller
// closes once the container has started.
func prepareBoxInit(spec *specs.Spec, p *libcontainer.Process, listener *os.File, tmpDir string) (*os.File, error) {
	if err := specconv.ValidateJudge(spec); err != nil {
		return nil, err
	}
	if err := requireStaticSelf(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(tmpDir, 0o711); err != nil {
		return nil, err
	}
	exe, err := exeseal.CloneSelfExe(tmpDir)
	if err != nil {
		return nil, fmt.Errorf("judge init binary: %w", err)
	}
	exeFd := 3 + len(p.ExtraFiles)
	p.ExtraFiles = append(p.ExtraFiles, exe, listener)
	p.Args = []string{"/proc/self/fd/" + strconv.Itoa(exeFd), judgeinit.Arg, "-l", strconv.Itoa(exeFd + 1)}
	// Each run sets the program's rlimits itself.
	p.Rlimits = nil
	return exe, nil
}

// Target is what a supervisor needs to know of a running container.
type Target struct {
	InitPid int `json:"initPid"`
	// InitStart is the init's start time in clock ticks since boot, which
	// tells a live init from a reused pid.
	InitStart   uint64            `json:"initStart"`
	CgroupPaths map[string]string `json:"cgroupPaths"`
	CgroupV2    bool              `json:"cgroupV2"`
}

// Target describes a running container for supervision.
func (r *Runtime) Target(id string) (*Target, error) {
	c, err := r.load(id)
	if err != nil {
		return nil, err
	}
	st, err := c.Status()
	if err != nil {
		return nil, err
	}
	if st != libcontainer.Running {
		return nil, fmt.Errorf("container %s is %s, not running", id, st)
	}
	ls, err := c.State()
	if err != nil {
		return nil, err
	}
	return &Target{InitPid: ls.InitProcessPid, InitStart: ls.InitProcessStartTime,
		CgroupPaths: ls.CgroupPaths, CgroupV2: cgroups.IsCgroup2UnifiedMode()}, nil
}

// Alive reports whether the target's init is still the process it was.
func (t *Target) Alive() bool {
	start, err := proc.StartTime(t.InitPid)
	return err == nil && start == t.InitStart
}
