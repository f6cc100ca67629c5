// Package supervise enforces a judge's limits on one run from outside the
// sandbox, and accounts for it: CPU and wall time, memory, processes and
// output, ending in a meta.Result.
//
// The judge init (package judgeinit) forks the program inside the sandbox
// and holds it before exec. The supervisor moves it into a cgroup of its
// own, releases it, and from then on sleeps only until the moment a limit
// could first be crossed: CPU time grows at most as fast as wall time times
// the CPUs the sandbox may use.
package supervise

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/runtime/judgeinit"
	"github.com/mini-isolate/mini-isolate/runtime/meta"
	"github.com/mini-isolate/mini-isolate/runtime/proc"
)

// Target is the running container a supervisor runs programs in.
type Target struct {
	// InitPid is the init's host pid, and InitStart its start time in
	// clock ticks since boot, which tells a live init from a reused pid.
	InitPid   int    `json:"initPid"`
	InitStart uint64 `json:"initStart"`
	// CgroupPaths are the container's cgroups (libcontainer's map), and
	// CgroupV2 says whether they are one v2 hierarchy.
	CgroupPaths map[string]string `json:"cgroupPaths"`
	CgroupV2    bool              `json:"cgroupV2"`
}

// Alive reports whether the target's init is still the process it was.
func (t *Target) Alive() bool {
	start, err := proc.StartTime(t.InitPid)
	return err == nil && start == t.InitStart
}

// Processes lists every process in the container's cgroups, its run
// cgroups included, read from cgroupfs: cheaper than loading the
// container. The tree below the container's cgroup is the supervisor's:
// a sandbox cannot make cgroups.
func (t *Target) Processes() ([]int, error) {
	dir, err := t.pidsDir()
	if err != nil {
		return nil, err
	}
	var all []int
	err = walkCgroups(dir, 0, func(d string) error {
		pids, err := procsOf(d)
		if errors.Is(err, fs.ErrNotExist) && d != dir {
			return nil // a run cgroup removed meanwhile held nothing
		}
		all = append(all, pids...)
		return err
	})
	return all, err
}

// Tasks is the number of tasks (threads) in the container's cgroups, its
// run cgroups included, which the pids controller counts: one file read,
// against Processes' walk. A task that exited counts until it is reaped.
func (t *Target) Tasks() (int64, error) {
	dir, err := t.pidsDir()
	if err != nil {
		return 0, err
	}
	return readInt(filepath.Join(dir, "pids.current"))
}

// pidsDir is the container's cgroup that the pids controller counts: the
// pids hierarchy's on v1, the one cgroup on v2.
func (t *Target) pidsDir() (string, error) {
	dir := t.CgroupPaths["pids"]
	if t.CgroupV2 {
		dir = t.CgroupPaths[""]
	}
	if dir == "" {
		return "", errors.New("the container has no pids cgroup")
	}
	return dir, nil
}

// maxCgroupDepth bounds walkCgroups below a container's cgroup, where
// there are run cgroups and, with v2, the init's.
const maxCgroupDepth = 4

func walkCgroups(dir string, depth int, fn func(string) error) error {
	if err := fn(dir); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) && depth > 0 {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if depth >= maxCgroupDepth {
			return fmt.Errorf("%s: cgroups nested deeper than %d", dir, maxCgroupDepth)
		}
		if err := walkCgroups(filepath.Join(dir, e.Name()), depth+1, fn); err != nil {
			return err
		}
	}
	return nil
}

// defaultRunCgroup names a run's cgroup below the container's.
const defaultRunCgroup = "run"

// Config describes one supervised run.
type Config struct {
	Target
	// Limits are what the supervisor enforces: Time, ExtraTime, WallTime,
	// Output, and Memory and Processes on the run's cgroup. The rlimits
	// travel in Run.
	Limits policy.Limits
	// Run is sent to the judge init.
	Run judgeinit.Run
	// RunCgroup names the run's cgroup below the container's (with
	// Cgroups, it is the start of the name).
	RunCgroup string
	// Cgroups, when set, gives the run a cgroup made ahead of time and
	// removes it in the background.
	Cgroups *RunCgroups
	// Inits, when set, gives the run a pidfd of the init from those it
	// keeps.
	Inits *InitConns
	// CPUs is how many CPUs the sandbox may use at once.
	CPUs int
	// Output, when set, carries the program's stdout and stderr, and
	// counts them against Limits.Output.
	Output *Capture
	// PrivateFiles says the files in Run are the caller's own, open for
	// this run alone: what the program changes in them (flags, owner)
	// needs no restoring.
	PrivateFiles bool
}

// killGrace is how long after killing the program the supervisor waits for
// the init to report before it kills the init too.
const killGrace = 2 * time.Second

// initExitWait is how long a report without an exit waits to learn
// whether the init died or only hung up.
const initExitWait = 100 * time.Millisecond

// reasonCanceled is the kill reason when the caller gave up.
const reasonCanceled = "canceled"

// The kernel adds a running task's CPU time to its cgroup only at a
// scheduler tick or a context switch, so a reading can lag the truth by up
// to a tick per CPU in use: 4 ms at HZ=250, 10 ms at HZ=100. tickBound
// covers HZ >= 100. Within that distance of the threshold the watch reads
// every nearCheck, so it sees the tick that crosses it almost at once,
// and it never kills on a guess: only on a reading at or past the limit.
const (
	tickBound = 10 * time.Millisecond
	nearCheck = 200 * time.Microsecond
)

// peakSample is how often the supervisor samples memory and process
// counts on a kernel that keeps no peak of them (memory.peak is Linux
// 5.19+, pids.peak 6.1+). A peak reached between samples is missed,
// except a limit the kernel says was hit, which counts as the peak.
const peakSample = 10 * time.Millisecond

// setupSlack is how much longer than the wall limit a run may take from
// the moment the init starts on it (its child forked) to its end: the
// wall clock covers set-up too, such as opening a redirection that is a
// FIFO nobody opens from the other side, as isolate's does.
const setupSlack = 50 * time.Millisecond

// Supervisor runs one program in a sandbox whose judge init is connected.
type Supervisor struct {
	cfg    Config
	conn   *judgeinit.Conn
	cg     runCgroup
	events chan eventOrErr

	initPidfd  int
	childPid   int
	childPidfd int
	// joined: the child joins the run's cgroup itself, at once (v1), and
	// sends no Ready.
	joined bool
	// sentAt is when the request was sent: an Exec from before it is
	// another run's.
	sentAt time.Duration
	// stdio is the state of the files handed to the program, restored
	// when the run is over.
	stdio      []fileState
	killReason string
	killedAt   time.Duration // CLOCK_MONOTONIC, as the init's times
	// ended: the init reported the exit, the run's last message, and
	// was never killed. goPending: a GO sent that the child may not have
	// read (it was killed first), left for the init to find.
	ended, initKilled, goPending bool
}

type eventOrErr struct {
	ev  *judgeinit.Event
	err error
}

// Start creates the run's cgroup and asks the init to run the program. The
// init reads the request whenever it starts: for a created container, when
// it is started.
func Start(conn *judgeinit.Conn, cfg Config) (*Supervisor, error) {
	if cfg.CPUs < 1 {
		cfg.CPUs = 1
	}
	if cfg.RunCgroup == "" {
		cfg.RunCgroup = defaultRunCgroup
	}
	// Every signal to the init goes through a pidfd: a pid alone may name
	// another process by the time it is used.
	initPidfd, err := cfg.Inits.OpenInit(&cfg.Target)
	if err != nil {
		return nil, fmt.Errorf("judge init: %w", err)
	}
	cg, err := cfg.Cgroups.runCgroupFor(&cfg)
	if err != nil {
		unix.Close(initPidfd)
		return nil, err
	}
	// With v1 the child joins the run's cgroups itself, through files
	// sent with the request, and starts without a round trip to here.
	join, err := cg.joinFiles()
	if err != nil {
		_ = cg.remove()
		unix.Close(initPidfd)
		return nil, err
	}
	cfg.Run.Join = join
	joined := len(join) > 0
	var stdio []fileState
	if !cfg.PrivateFiles {
		stdio = saveFiles(append(cfg.Run.Files[:], cfg.Run.ExtraFiles...))
	}
	sentAt := judgeinit.Monotonic()
	err = conn.SendRun(&cfg.Run)
	closeAll(join)
	cfg.Run.Join = nil
	if err != nil {
		restoreFiles(stdio)
		_ = cg.remove()
		unix.Close(initPidfd)
		return nil, err
	}
	// While the init starts the program, on another CPU if there is one.
	cg.prefetch()
	s := &Supervisor{cfg: cfg, conn: conn, cg: cg, events: make(chan eventOrErr, 16),
		initPidfd: initPidfd, childPidfd: -1, stdio: stdio, joined: joined, sentAt: sentAt}
	go s.readEvents()
	return s, nil
}

// readEvents reads the run's events up to its exit, the last: the
// connection may carry another run after it (InitConns).
func (s *Supervisor) readEvents() {
	defer close(s.events)
	for {
		ev, err := s.conn.Recv()
		s.events <- eventOrErr{ev, err}
		if err != nil || ev.Type == judgeinit.Exited {
			return
		}
	}
}

// Close releases the run's cgroup; the container's deletion would too.
func (s *Supervisor) Close() {
	restoreFiles(s.stdio)
	s.stdio = nil
	for _, fd := range []*int{&s.childPidfd, &s.initPidfd} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
	if s.cfg.Cgroups != nil {
		s.cfg.Cgroups.retire(&s.cfg, s.cg)
	} else {
		discard(s.cg)
	}
}

// Wait enforces the limits until the run is over and returns the report.
// Cancelling ctx kills the program.
func (s *Supervisor) Wait(ctx context.Context) *meta.Result {
	w := &watch{cpu: stoppedTimer(), wall: stoppedTimer(), grace: stoppedTimer(), rekill: stoppedTimer()}
	defer w.stop()
	var outputExceeded <-chan struct{}
	if s.cfg.Output != nil {
		outputExceeded = s.cfg.Output.Exceeded()
	}
	if s.joined {
		// The child's Exec is read on demand (pollQuiet): the clocks start
		// now, and the wall timer first looks for it a limit from now.
		s.armClocks(w)
		if lim := time.Duration(s.cfg.Limits.WallTime); lim > 0 {
			w.wall.Reset(lim)
		}
		// It may have come already (a caller that waits late).
		s.pollQuiet(w)
	}
	for done := false; !done; {
		select {
		case <-ctx.Done():
			s.kill(reasonCanceled, w)
		case <-outputExceeded:
			outputExceeded = nil
			s.kill(meta.LimitOutput, w)
		case <-w.cpu.C:
			s.checkCPU(w)
		case <-w.wall.C:
			s.onWall(w)
		case <-w.rekill.C:
			s.rekill(w)
		case <-w.sampler:
			s.cg.sample()
		case <-w.grace.C:
			// The program was killed but the init did not report.
			logrus.Warnf("supervise: no report %v after the kill; killing the sandbox", killGrace)
			s.killInit()
		case e, ok := <-s.events:
			done = s.onEvent(w, e, ok)
		}
	}
	if s.joined {
		s.pollQuiet(w)
	}
	if s.cfg.Output != nil {
		s.cfg.Output.Wait(5 * time.Second)
	}
	// The program and all it started are gone (or the init is): nothing
	// can change the files again.
	restoreFiles(s.stdio)
	s.stdio = nil
	s.ended = w.exit != nil && !s.initKilled && !s.goPending
	start := w.wallStart()
	if !w.started {
		// Killed during set-up: the wall time it had is since Ready.
		start = w.ready
	}
	return s.report(w.started, start, w.exit, w.failure)
}

// watch is what Wait knows of the run so far, and its timers.
type watch struct {
	started bool
	armed   bool          // the CPU watch and the sampler run
	ready   time.Duration // CLOCK_MONOTONIC when the init forked the child
	start   time.Duration // CLOCK_MONOTONIC at exec
	exit    *judgeinit.Event
	failure error

	cpu, wall, grace *time.Timer
	rekill           *time.Timer // a joined child killed before its Exec was read
	ticker           *time.Ticker
	sampler          <-chan time.Time // peak samples, on kernels without peaks
}

// wallStart is where an exec'd run's wall clock starts, for its limit and
// its report alike: the exec, or setupSlack after Ready when the set-up
// took longer (a FIFO redirection opened late counts against the limit).
func (w *watch) wallStart() time.Duration { return min(w.start, w.ready+setupSlack) }

func (w *watch) stop() {
	w.cpu.Stop()
	w.wall.Stop()
	w.grace.Stop()
	w.rekill.Stop()
	if w.ticker != nil {
		w.ticker.Stop()
	}
}

// onEvent handles a message of the init, or its connection's end, and
// says whether the run is over.
func (s *Supervisor) onEvent(w *watch, e eventOrErr, ok bool) bool {
	if !ok || e.err != nil {
		if ok && !errors.Is(e.err, io.EOF) {
			w.failure = fmt.Errorf("judge init: %w", e.err)
			s.killInit()
		}
		return true
	}
	switch ev := e.ev; ev.Type {
	case judgeinit.Ready:
		// A second Ready comes from a child started again by fork (a
		// FIFO redirection): the set-up's clock runs on.
		s.setupStarted(w, judgeinit.Monotonic())
		if err := s.admit(ev.Pid); err != nil {
			w.failure = err
			s.killInit()
			return true
		}
	case judgeinit.Forked:
		s.adopt(w, ev)
	case judgeinit.Exec:
		s.execed(w, ev)
	case judgeinit.Failed:
		s.goPending = false // the child read it, or the init failed the run
		w.failure = ev.StartError()
	case judgeinit.Exited:
		logrus.Debugf("supervise: exited at %v, seen at %v", ev.Mono, judgeinit.Monotonic())
		w.exit = ev
		if w.ready == 0 {
			w.ready = ev.Start // killed or failed in set-up, unannounced
		}
		return true
	}
	return false
}

// execed starts the limits' clocks at the program's exec, ev.Mono.
func (s *Supervisor) execed(w *watch, ev *judgeinit.Event) {
	if ev.Start != 0 {
		s.setupStarted(w, ev.Start)
	}
	s.goPending = false // read before the child's exec
	if s.killReason != "" {
		// Killed before the child joined its cgroup: again, now.
		s.cg.kill()
	}
	w.started, w.start = true, ev.Mono
	if w.ready == 0 {
		w.ready = ev.Mono // no set-up start came: bound from here
	}
	if s.childPid == 0 {
		s.childPid = ev.Pid // the child sends Exec itself
	}
	logrus.Debugf("supervise: exec at %v, seen at %v", ev.Mono, judgeinit.Monotonic())
	if lim := s.cfg.Limits.WallTime; lim > 0 {
		// From the exec, and never past the bound set at Ready.
		w.wall.Reset(w.wallStart() + time.Duration(lim) - judgeinit.Monotonic())
	}
	s.armClocks(w)
}

// rekillEvery is how often a joined child killed before its Exec was
// read is killed again, through its cgroup, until it is.
const rekillEvery = time.Millisecond

// rekill kills a joined child again until its Exec is read, which kills
// once more: it may have joined its cgroup after the last kill.
func (s *Supervisor) rekill(w *watch) {
	s.pollQuiet(w)
	if !w.started {
		s.cg.kill()
		w.rekill.Reset(rekillEvery)
	}
}

// armClocks starts the CPU watch and the peak sampler, once.
func (s *Supervisor) armClocks(w *watch) {
	if w.armed {
		return
	}
	w.armed = true
	if s.cfg.Limits.Time > 0 {
		w.cpu.Reset(0)
	}
	if s.cg.samplesPeaks() {
		w.ticker = time.NewTicker(peakSample)
		w.sampler = w.ticker.C
	}
}

// pollQuiet reads a joined child's Exec, if it has come. It is read on
// demand, not as it comes, so that the supervisor does not take the CPU
// from the child as it execs.
func (s *Supervisor) pollQuiet(w *watch) {
	for {
		ev, err := s.conn.RecvQuiet()
		if err != nil {
			logrus.Warnf("supervise: %v", err)
			return
		}
		if ev == nil {
			return
		}
		if ev.Start < s.sentAt {
			logrus.Warnf("supervise: an exec message of an earlier run, dropped")
			continue
		}
		s.execed(w, ev)
	}
}

// onWall kills once the wall limit is reached: from the exec, or while
// the child is set up, setupSlack past it from the set-up's start.
// Neither known yet (the child's Exec not come, an OCI create not yet
// started), it looks again a limit later.
func (s *Supervisor) onWall(w *watch) {
	if s.joined && !w.started {
		s.pollQuiet(w)
	}
	lim := time.Duration(s.cfg.Limits.WallTime)
	var deadline time.Duration
	switch {
	case w.started:
		deadline = w.wallStart() + lim
	case w.ready != 0:
		deadline = w.ready + lim + setupSlack
	default:
		w.wall.Reset(lim)
		return
	}
	if now := judgeinit.Monotonic(); now < deadline {
		w.wall.Reset(deadline - now)
		return
	}
	s.kill(meta.LimitWallTime, w)
}

// setupStarted starts the set-up's wall clock at at (CLOCK_MONOTONIC),
// once: the wall limit plus setupSlack bounds the run from there until
// the exec.
func (s *Supervisor) setupStarted(w *watch, at time.Duration) {
	if w.ready != 0 {
		return
	}
	w.ready = at
	if lim := s.cfg.Limits; lim.WallTime > 0 {
		w.wall.Reset(at + time.Duration(lim.WallTime) + setupSlack - judgeinit.Monotonic())
	}
}

// adopt takes what Forked says of a child that joins its cgroups itself
// and was started by fork: the set-up's clock starts when the init
// started it, not when the request was sent (at an OCI create, the init
// reads it only at start); and its pidfd.
func (s *Supervisor) adopt(w *watch, ev *judgeinit.Event) {
	s.setupStarted(w, ev.Start)
	if ev.Pidfd < 0 {
		return
	}
	logrus.Debug("supervise: child forked")
	if s.childPidfd < 0 {
		s.childPidfd = ev.Pidfd
	} else {
		unix.Close(ev.Pidfd)
	}
	if s.killReason != "" {
		// Killed before the child was known: again, now.
		_ = unix.PidfdSendSignal(s.childPidfd, unix.SIGKILL, nil, 0)
	}
}

// admit moves the forked child into the run's cgroup and lets it exec.
func (s *Supervisor) admit(pid int) error {
	logrus.Debug("supervise: child ready")
	if pid <= 0 || pid == s.cfg.InitPid {
		return fmt.Errorf("judge init: ready message from unexpected pid %d", pid)
	}
	// A pidfd pins the process: the kill can never hit a reused pid.
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("judge init: pidfd of %d: %w", pid, err)
	}
	if s.childPidfd >= 0 {
		unix.Close(s.childPidfd)
	}
	s.childPid, s.childPidfd = pid, fd
	join, err := s.cg.joinFiles()
	if err != nil {
		return err
	}
	defer closeAll(join)
	if join == nil {
		if err := s.cg.add(pid); err != nil {
			return err
		}
	}
	if err := s.conn.SendGo(join...); err != nil {
		return fmt.Errorf("judge init: %w", err)
	}
	s.goPending = true
	return nil
}

// checkCPU kills once CPU time reaches the limit plus the extra time, or
// sleeps until the earliest moment it could.
func (s *Supervisor) checkCPU(w *watch) {
	t := w.cpu
	if s.killReason != "" {
		return
	}
	used, err := s.cg.cpu()
	if err != nil {
		logrus.Debugf("supervise: %v", err)
		t.Reset(nearCheck)
		return
	}
	threshold := time.Duration(s.cfg.Limits.Time + s.cfg.Limits.ExtraTime)
	if used >= threshold {
		s.kill(meta.LimitTime, w)
		return
	}
	// The earliest the true usage can reach the threshold, were the reading
	// a full lag behind and every CPU busy.
	cpus := time.Duration(s.cfg.CPUs)
	t.Reset(max((threshold-used-tickBound*cpus)/cpus, nearCheck))
}

// kill ends the program for reason. The init reaps it, kills what it
// left, and reports; grace covers an init that does not.
func (s *Supervisor) kill(reason string, w *watch) {
	grace := w.grace
	if s.killReason != "" {
		return
	}
	s.killReason, s.killedAt = reason, judgeinit.Monotonic()
	logrus.Debugf("supervise: kill for %s at %v", reason, s.killedAt)
	if s.childPidfd >= 0 {
		_ = unix.PidfdSendSignal(s.childPidfd, unix.SIGKILL, nil, 0)
	}
	s.cg.kill()
	grace.Reset(killGrace)
	if s.joined && !w.started {
		// The child may not have joined the cgroup yet: again until its
		// Exec is read (which kills once more) or the run ends.
		w.rekill.Reset(rekillEvery)
	}
	if s.childPidfd < 0 && !s.joined {
		// Nothing was started yet: end the sandbox itself. A child that
		// joins its cgroup at once is in it, and the cgroup kill reaches
		// it; grace covers the rest.
		s.killInit()
	}
}

// killInit ends the whole sandbox.
func (s *Supervisor) killInit() {
	s.initKilled = true
	_ = unix.PidfdSendSignal(s.initPidfd, unix.SIGKILL, nil, 0)
}

// Ended says, once Wait has returned, whether the run ended with the
// init's report of its exit: then nothing more of it can come on the
// connection, which may carry another run (judgeinit.Run.Persist).
func (s *Supervisor) Ended() bool { return s.ended }

func (s *Supervisor) report(started bool, start time.Duration, exit *judgeinit.Event, failure error) *meta.Result {
	r := &meta.Result{}
	acct, err := s.cg.final()
	if err == nil {
		r.Time, r.TimeUser, r.TimeSystem = acct.CPU, acct.User, acct.System
		r.MemPeak = acct.MemPeak
		r.CgMemKB = acct.MemPeak / 1024
		r.OOMKilled = acct.OOMKills > 0
		r.PidsPeak = acct.PidsPeak
		if acct.PidsSampled && started {
			// The exec'd program was in the run cgroup, though a
			// supervisor kept off the CPU for its whole run sampled none.
			r.PidsPeak = max(r.PidsPeak, 1)
		}
	} else if failure == nil {
		failure = fmt.Errorf("read run cgroup: %w", err)
	}
	if s.cfg.Output != nil {
		r.OutputBytes = s.cfg.Output.Bytes()
	}
	end := judgeinit.Monotonic()
	if exit != nil {
		logrus.Debugf("supervise: rusage user %v system %v, cgroup %v", exit.User, exit.System, r.Time)
		end = exit.Mono
		r.MaxRSSKB = exit.MaxRSSKB
		if acct.MemSampled {
			// Samples miss a peak between them; the largest process's
			// resident size, which the kernel keeps, is a floor. It counts
			// shared pages the cgroup may not, so never past the limit.
			floor := exit.MaxRSSKB * 1024
			if lim := int64(s.cfg.Limits.Memory); lim > 0 {
				floor = min(floor, lim)
			}
			r.MemPeak = max(r.MemPeak, floor)
			r.CgMemKB = r.MemPeak / 1024
		}
		r.CswVoluntary, r.CswForced = exit.Nvcsw, exit.Nivcsw
		switch st := exit.Status; {
		case st.Exited():
			code := st.ExitStatus()
			r.ExitCode = &code
		case st.Signaled():
			sig := int(st.Signal())
			r.ExitSig = &sig
		}
	} else if s.killReason != "" {
		sig := int(unix.SIGKILL)
		r.ExitSig = &sig
	}
	if s.killReason != "" {
		r.KilledAt = s.killedAt
	}
	if start > 0 && end > start {
		r.TimeWall = end - start
		r.Ended = end
	}
	var why string
	if failure != nil {
		why, r.Cause = failure.Error(), failure
	}
	decide(r, s.cfg.Limits, outcome{killReason: s.killReason, failure: why, started: started,
		exited: exit != nil, initDied: exit == nil && proc.Exited(s.initPidfd, initExitWait)})
	if r.Status == meta.Signaled && *r.ExitSig == int(unix.SIGSYS) && s.childPid > 0 {
		// A seccomp kill: the kernel log names the call.
		if k, ok := findSeccompKill(s.childPid, start-time.Second, 100*time.Millisecond); ok {
			r.Message += ": forbidden syscall " + k.String()
		}
	}
	return r
}

// outcome is what the supervisor saw of a run, besides the accounting.
type outcome struct {
	killReason string // why the supervisor killed the program, if it did
	failure    string // what went wrong setting the run up, if anything
	started    bool   // the program was exec'd
	exited     bool   // the init reported its exit
	initDied   bool   // the init itself is gone
}

// decide sets the verdict from what happened, most specific cause first.
func decide(r *meta.Result, lim policy.Limits, o outcome) {
	killReason := o.killReason
	r.Killed = killReason != ""
	switch {
	case o.failure != "":
		r.Status, r.Message = meta.InternalError, o.failure
	case killReason == reasonCanceled:
		r.Status, r.Message = meta.InternalError, "supervision was canceled"
	case killReason == meta.LimitOutput:
		r.Status, r.Limit, r.Message = meta.OutputLimit, meta.LimitOutput, "Output limit exceeded"
	case killReason == meta.LimitTime || (lim.Time > 0 && r.Time > time.Duration(lim.Time)):
		r.Status, r.Limit, r.Message = meta.TimedOut, meta.LimitTime, meta.TimeLimitMessage(false)
	case killReason == meta.LimitWallTime || (lim.WallTime > 0 && r.TimeWall > time.Duration(lim.WallTime)):
		r.Status, r.Limit, r.Message = meta.TimedOut, meta.LimitWallTime, meta.TimeLimitMessage(true)
	case r.OOMKilled:
		r.Status, r.Limit, r.Message = meta.MemoryLimit, meta.LimitMemory, "Memory limit exceeded"
	case !o.exited && o.initDied:
		r.Status, r.Message = meta.InternalError, "the judge init died before it reported the program's exit"
	case !o.exited:
		r.Status, r.Message = meta.InternalError, "the judge init closed its connection before it reported the program's exit"
	case !o.started:
		r.Status, r.Message = meta.InternalError, "the program ended before it was started: "+describeExit(r)
	case r.ExitSig != nil:
		r.Status, r.Message = meta.Signaled, fmt.Sprintf("Caught fatal signal %d", *r.ExitSig)
	case r.ExitCode != nil && *r.ExitCode != 0:
		r.Status, r.Message = meta.RuntimeError, fmt.Sprintf("Exited with error status %d", *r.ExitCode)
	default:
		r.Status = meta.OK
	}
}

// describeExit says how a process ended, from the report's exit fields.
func describeExit(r *meta.Result) string {
	switch {
	case r.ExitSig != nil:
		return fmt.Sprintf("signal %d", *r.ExitSig)
	case r.ExitCode != nil:
		return fmt.Sprintf("exit status %d", *r.ExitCode)
	}
	return "no status"
}

func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

// Capture relays a program's stdout and stderr to their destinations and
// stops forwarding, and reports, once together they pass the limit.
type Capture struct {
	limit    int64
	mu       sync.Mutex
	total    int64
	exceeded chan struct{}
	once     sync.Once
	done     sync.WaitGroup
}

// Stream is one captured output: the program writes into Src, and what
// the limit allows goes on to Dst.
type Stream struct {
	Dst io.Writer
	Src io.ReadCloser
}

// NewCapture starts relaying the streams; limit 0 means none.
func NewCapture(limit int64, streams ...Stream) *Capture {
	c := &Capture{limit: limit, exceeded: make(chan struct{})}
	for _, st := range streams {
		c.done.Add(1)
		go c.relay(st.Dst, st.Src)
	}
	return c
}

func (c *Capture) relay(dst io.Writer, src io.ReadCloser) {
	defer c.done.Done()
	defer src.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if allowed := c.take(int64(n)); allowed > 0 {
				_, _ = dst.Write(buf[:allowed])
			}
		}
		if err != nil {
			return
		}
	}
}

// take counts n bytes and returns how many of them may still be forwarded.
func (c *Capture) take(n int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	before := c.total
	c.total += n
	if c.limit <= 0 {
		return n
	}
	if c.total > c.limit {
		c.once.Do(func() { close(c.exceeded) })
	}
	return max(0, min(n, c.limit-before))
}

// Exceeded is closed once the output passed the limit.
func (c *Capture) Exceeded() <-chan struct{} { return c.exceeded }

// Bytes is how much the program wrote.
func (c *Capture) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// Wait waits up to timeout for the streams to close.
func (c *Capture) Wait(timeout time.Duration) {
	done := make(chan struct{})
	go func() { c.done.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
	}
}
