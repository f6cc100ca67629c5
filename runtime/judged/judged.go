// Package judged makes a container judged: its process becomes the judge
// init (package judgeinit), which runs the real process under a supervisor
// (package supervise), in the foreground or in a detached process of its
// own, and the report is filed where the container asked. It also makes a
// box's container process the judge init that serves one run per
// connection.
//
// Package runtime calls it while it builds a container, on libcontainer's
// config and process, before the container exists.
package judged

import (
	"debug/elf"
	"errors"
	"fmt"
	"math"
	"os"
	goruntime "runtime"
	"strconv"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/exeseal"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/runtime/judgeinit"
	"github.com/mini-isolate/mini-isolate/runtime/meta"
)

// Headroom the container's own cgroup keeps above the program's limits:
// libcontainer's Go init runs there while it sets the container up, and it
// needs memory and threads the program's limits must not count.
const (
	MemoryHeadroom = 64 << 20
	PidsHeadroom   = 32
)

// State is what create records of a judged container, in its state
// directory, for whoever supervises it and for update.
type State struct {
	// Limits are the run's: those of the annotations, and Memory and
	// Processes from the OCI resources, which the run's cgroup enforces.
	Limits     policy.Limits `json:"limits"`
	Run        judgeinit.Run `json:"run"`
	CPUs       int           `json:"cpus"`
	Meta       string        `json:"meta,omitempty"`
	MetaFormat string        `json:"metaFormat,omitempty"`
	// BoxDir is the program's box on the host: its working directory's
	// read-write bind, from a directory its user owns. A bundle reused for
	// the next test gets it back without special files, as a box does.
	BoxDir string `json:"boxDir,omitempty"`
}

// Capture says whether the supervisor relays and counts the program's
// stdout and stderr: with an output limit.
func (s *State) Capture() bool { return s.Limits.Output > 0 }

// Settings reads the judge settings of a spec, with --meta and
// --meta-format from the command line. It returns nil for a plain OCI
// container.
func Settings(spec *specs.Spec, metaPath, metaFormat string) (*policy.Judge, error) {
	j, err := policy.JudgeFromAnnotations(spec.Annotations)
	if err != nil {
		return nil, err
	}
	if metaPath != "" {
		if j == nil {
			j = &policy.Judge{MetaFormat: meta.FormatIsolate}
		}
		j.Meta = metaPath
	}
	if metaFormat != "" {
		if metaFormat != meta.FormatIsolate && metaFormat != meta.FormatJSON {
			return nil, fmt.Errorf("--meta-format %q: want isolate or json", metaFormat)
		}
		if j != nil {
			j.MetaFormat = metaFormat
		}
	}
	if j == nil {
		return nil, nil
	}
	if err := policy.ValidateJudge(spec); err != nil {
		return nil, err
	}
	if j.Limits.Output > 0 && spec.Process.Terminal {
		return nil, errors.New("config.json: process.terminal: an output limit needs plain stdout and stderr, not a terminal")
	}
	return j, nil
}

// Setup is a judged container on its way to being started.
type Setup struct {
	State *State
	Conn  *judgeinit.Conn
	// ct is the init's end of the socket and exe the sealed binary it runs
	// from; OutR/ErrR and OutW/ErrW are the captured stdout and stderr,
	// when there is an output limit.
	ct, exe                *os.File
	OutR, OutW, ErrR, ErrW *os.File
}

// Prepare turns a container into a judged one: its process becomes the
// judge init, which will run the real process under supervision. The
// program's memory and pids limits move to the run's cgroup, where the
// supervisor sets them, and the container's cgroup keeps them plus the
// headroom; its rlimits move to the run request, which the init applies.
func Prepare(j *policy.Judge, spec *specs.Spec, cfg *configs.Config, p *libcontainer.Process, preserved int, tmpDir string) (_ *Setup, retErr error) {
	st := &State{
		Limits: j.Limits,
		Run: judgeinit.Run{
			Args: spec.Process.Args, Env: spec.Process.Env,
			Stdin: j.IO.Stdin, Stdout: j.IO.Stdout, Stderr: j.IO.Stderr, StderrToStdout: j.IO.StderrToStdout,
			KeepFDs: preserved,
		},
		CPUs:       CPUs(spec),
		Meta:       j.Meta,
		MetaFormat: j.MetaFormat,
	}
	res := cfg.Cgroups.Resources
	if res.Memory > 0 {
		st.Limits.Memory = policy.Size(res.Memory)
	}
	if res.PidsLimit != nil && *res.PidsLimit >= 0 {
		// 0 is one process, as the cgroup library writes it.
		st.Limits.Processes = max(*res.PidsLimit, 1)
	}
	OuterLimits(res, st.Limits)
	for _, rl := range p.Rlimits {
		st.Run.Rlimits = append(st.Run.Rlimits, judgeinit.Rlimit{Resource: rl.Type, Soft: rl.Soft, Hard: rl.Hard})
	}
	protectInit(spec.Process, p, &st.Run)
	st.BoxDir = boxDir(cfg, spec.Process)
	// No RLIMIT_CPU backstop: it arms the process CPU timer, which makes
	// the program's own clock() tick-coarse.
	p.Rlimits = nil

	s := &Setup{State: st}
	defer func() {
		if retErr != nil {
			s.Close()
		}
	}()
	var err error
	if s.Conn, s.ct, err = judgeinit.NewPair(); err != nil {
		return nil, err
	}
	if s.exe, err = sealedSelf(tmpDir); err != nil {
		return nil, err
	}
	exeFd := 3 + len(p.ExtraFiles)
	sockFd := exeFd + 1
	p.ExtraFiles = append(p.ExtraFiles, s.exe, s.ct)
	p.Args = []string{"/proc/self/fd/" + strconv.Itoa(exeFd), judgeinit.Arg, strconv.Itoa(sockFd)}
	if st.Capture() {
		if s.OutR, s.OutW, err = os.Pipe(); err != nil {
			return nil, err
		}
		if s.ErrR, s.ErrW, err = os.Pipe(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// boxDir finds the host directory bound read-write at the process's
// working directory, when the process's user owns it: the program's box.
func boxDir(cfg *configs.Config, sp *specs.Process) string {
	for _, m := range cfg.Mounts {
		if m.Destination != sp.Cwd || !m.IsBind() || m.Flags&unix.MS_RDONLY != 0 {
			continue
		}
		var st unix.Stat_t
		if unix.Lstat(m.Source, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR && st.Uid == sp.User.UID && st.Uid != 0 {
			return m.Source
		}
	}
	return ""
}

// protectInit runs the init as root with only the capabilities it needs
// to start the program as the bundle's user, as a box's init runs: a
// program that shares its init's uid could renice, re-limit or re-pin it,
// or signal it. This applies to the usual judged bundle, a non-root user
// without capabilities; a bundle that gives its user capabilities keeps
// its init as that user (docs/security.md says what follows).
func protectInit(sp *specs.Process, p *libcontainer.Process, run *judgeinit.Run) {
	if sp.User.UID == 0 || hasCapabilities(sp.Capabilities) {
		return
	}
	run.User = &judgeinit.User{UID: sp.User.UID, GID: sp.User.GID, Groups: sp.User.AdditionalGids}
	p.UID, p.GID, p.AdditionalGroups = 0, 0, nil
	caps := judgeinit.InitCapabilities
	p.Capabilities = &configs.Capabilities{Bounding: caps, Effective: caps, Permitted: caps}
}

func hasCapabilities(c *specs.LinuxCapabilities) bool {
	return c != nil && len(c.Bounding)+len(c.Effective)+len(c.Permitted)+len(c.Inheritable)+len(c.Ambient) > 0
}

// OuterLimits sets the container's own cgroup limits from the run's: the
// run's plus the headroom, or none.
func OuterLimits(res *cgroups.Resources, l policy.Limits) {
	if l.Memory > 0 {
		res.Memory = int64(l.Memory) + MemoryHeadroom
		res.MemorySwap = res.Memory
	}
	if l.Processes > 0 {
		limit := l.Processes + PidsHeadroom
		res.PidsLimit = &limit
	}
}

// Started drops our copies of what the container now holds.
func (s *Setup) Started() {
	for _, f := range []*os.File{s.ct, s.exe, s.OutW, s.ErrW} {
		if f != nil {
			f.Close()
		}
	}
	s.ct, s.exe, s.OutW, s.ErrW = nil, nil, nil, nil
}

// Close releases everything the setup holds.
func (s *Setup) Close() {
	s.Started()
	for _, f := range []*os.File{s.OutR, s.ErrR} {
		if f != nil {
			f.Close()
		}
	}
	if s.Conn != nil {
		s.Conn.Close()
	}
}

// CPUs is how many CPUs the sandbox can use at once: its cpuset, its CFS
// quota, or the machine.
func CPUs(spec *specs.Spec) int {
	n := goruntime.NumCPU()
	if spec.Linux == nil || spec.Linux.Resources == nil || spec.Linux.Resources.CPU == nil {
		return n
	}
	c := spec.Linux.Resources.CPU
	if c.Cpus != "" {
		if set, err := policy.CountCPUs(c.Cpus); err == nil && set > 0 {
			n = min(n, set)
		}
	}
	if c.Quota != nil && *c.Quota > 0 && c.Period != nil && *c.Period > 0 {
		n = min(n, int(math.Ceil(float64(*c.Quota)/float64(*c.Period))))
	}
	return max(n, 1)
}

// PrepareBoxInit makes the process of a box container the judge init in
// listening mode. It returns the sealed binary's file, which the caller
// closes once the container has started.
func PrepareBoxInit(spec *specs.Spec, p *libcontainer.Process, listener *os.File, tmpDir string) (*os.File, error) {
	if err := policy.ValidateJudge(spec); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(tmpDir, 0o711); err != nil {
		return nil, err
	}
	exe, err := sealedSelf(tmpDir)
	if err != nil {
		return nil, err
	}
	exeFd := 3 + len(p.ExtraFiles)
	p.ExtraFiles = append(p.ExtraFiles, exe, listener)
	p.Args = []string{"/proc/self/fd/" + strconv.Itoa(exeFd), judgeinit.Arg, "-l", strconv.Itoa(exeFd + 1)}
	// Each run sets the program's rlimits itself.
	p.Rlimits = nil
	return exe, nil
}

// sealedSelf is the binary the init runs from: a sealed copy of this one
// (a read-only overlay, or a sealed memfd), held open by an fd, so that
// nothing in the sandbox can reach or modify the binary on the host. It
// must be static: the sandbox may have no C library.
func sealedSelf(tmpDir string) (*os.File, error) {
	f, err := elf.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("judge init binary: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return nil, errors.New("judge supervision needs a statically linked mini-isolate; build it with make")
		}
	}
	exe, err := exeseal.CloneSelfExe(tmpDir)
	if err != nil {
		return nil, fmt.Errorf("judge init binary: %w", err)
	}
	return exe, nil
}
