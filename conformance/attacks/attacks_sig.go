package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	procstat "github.com/mini-isolate/mini-isolate/runtime/proc"
)

// Signals, ptrace and the caller's terminal. Every box has a host process
// of its own uid running beside it (see newBox); it must come out of every
// attack alive, unstopped, with its priorities.
func sigAttacks() []*attack {
	return []*attack{
		{name: "sig-kill-all", what: "kill PID 1 (the judge init) with 9 signals, via pidfd, tgkill, rt_sigqueueinfo; kill(-1); SIGKILL every pid up to pid_max", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "sig_kill")
			sc := c.s.scan
			r := c.iso(b, []string{"-t", sc.cpu, "-w", sc.wall}, "./sig_kill", strconv.Itoa(sc.top))
			c.ran(r, "kill(1, SIGKILL)", "pidfd_send_signal(1, SIGKILL)", "kill(-1, SIGKILL)", fmt.Sprintf("kill every pid up to %d:", sc.top))
			c.clean(r)
			c.checkBox(b, true)
			c.clean(c.iso(b, nil, "/bin/true"))
			visible := "?"
			if v, ok := line(r, "TRY kill every pid up to "); ok {
				visible = v
			}
			c.resultf("report exact (exitcode 0); init and same-uid host process alive; pids scan: %s", visible)
		}},
		{name: "sig-by-user", what: "setpriority(PRIO_USER) and ioprio_set(WHO_USER) on its uid (a host process shares it), renice/affinity/scheduler of PID 1, SCHED_FIFO, kill(-1, SIGSTOP)", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "sig_prio")
			r := c.iso(b, nil, "./sig_prio")
			c.ran(r, "setpriority(PRIO_USER", "ioprio_set(WHO_USER", "sched_setaffinity(1)", "sched_setscheduler(self, FIFO)")
			c.clean(r)
			c.checkBox(b, true)
			c.resultf("PRIO_USER: %s, ioprio WHO_USER: %s; the host process of the same uid keeps its nice and I/O priority",
				firstTried(r, "setpriority(PRIO_USER "), firstTried(r, "ioprio_set(WHO_USER "))
		}},
		{name: "init-tamper", what: "renice, SCHED_IDLE, idle I/O class, pin to one CPU and prlimit (nofile 8, fsize 4k, cpu 1, nproc 1, ...) the judge init, which the box's next runs inherit", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "init_tamper")
			base := c.iso(b, nil, "./init_tamper", "probe")
			c.clean(base)
			initBefore := initAttrs(b.initPid)
			r := c.iso(b, nil, "./init_tamper", "tamper")
			c.ran(r, "setpriority(PRIO_PROCESS 1, 19)", "sched_setscheduler(1, SCHED_IDLE)", "sched_setaffinity(1, {0})", "prlimit(1, nofile)")
			c.clean(r)
			next := c.iso(b, nil, "./init_tamper", "probe")
			c.checkBox(b, true)
			if d := attrsDiff(initBefore, initAttrs(c.initPid(b))); d != "" {
				c.failf("the program changed the judge init (the box's later runs inherit it): %s", d)
			}
			want, _ := line(base, "INHERIT ")
			got, ok := line(next, "INHERIT ")
			switch {
			case !ok:
				c.failf("the box's next run could not start: %s %q", next.meta["status"], next.meta["message"])
			case got != want:
				c.failf("the box's next run inherits the change: %s, a fresh run has %s", got, want)
			default:
				c.clean(next)
			}
			c.resultf("renice 1: %s, SCHED_IDLE 1: %s, prlimit 1: %s; init and next run unchanged", tried(r, "setpriority(PRIO_PROCESS 1, 19)"), tried(r, "sched_setscheduler(1, SCHED_IDLE)"), tried(r, "prlimit(1, nofile)"))
		}},
		{name: "ptrace-init", what: "ptrace ATTACH/SEIZE PID 1, process_vm_writev, /proc/1/mem, pidfd_getfd of the init's fds (the supervisor's socket), kcmp, ptrace own child", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "ptrace_init")
			r := c.iso(b, []string{"-p2"}, "./ptrace_init")
			c.ran(r, "ptrace(ATTACH, 1)", "process_vm_writev(1)", "open /proc/1/mem", "pidfd_getfd(init, 3)")
			c.clean(r)
			c.checkBox(b, true)
			c.clean(c.iso(b, nil, "/bin/true"))
			c.resultf("ptrace: %s, pidfd_getfd: %s; init alive, report exact, next run OK", tried(r, "ptrace(ATTACH, 1)"), tried(r, "pidfd_getfd(init, 3)"))
		}},
		{name: "sig-cross-box", what: "while another box runs a sleeper, SIGKILL every pid, PID 1, kill(-1), via pidfd from a second box", fn: func(c *ctx) {
			victim, attacker := c.newBox(), c.newBox()
			c.install(victim, "sleepy")
			c.install(attacker, "sig_kill")
			v, release := c.startHeld(victim, spec{opts: []string{"-w", "120"}, prog: []string{"./sleepy", "stdin"}})
			if !v.waitFor("AWAKE", 5*time.Second) {
				release()
				v.wait()
				c.fatalf("the victim box did not start")
			}
			sc := c.s.scan
			r := c.iso(attacker, []string{"-t", sc.cpu, "-w", sc.wall}, "./sig_kill", strconv.Itoa(sc.top))
			release()
			vr := v.wait()
			c.ran(r, fmt.Sprintf("kill every pid up to %d:", sc.top))
			c.clean(r)
			c.clean(vr)
			if !strings.Contains(vr.stdout, "SURVIVED") {
				c.failf("the victim box's program did not survive: %q %v", vr.stdout, vr.meta)
			}
			c.checkBox(victim, true)
			c.resultf("the other box's program survived and reported OK")
		}},
		{name: "stdio-flags", what: "fcntl F_SETFL O_NONBLOCK|O_APPEND|O_ASYNC, F_SETOWN, F_SETSIG on stdin/stdout/stderr, which are the caller's open file descriptions", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "stdio_flags")
			// Raw blocking pipes, so that no Go runtime bookkeeping touches
			// their flags: the judge keeps its copies of the very open file
			// descriptions the program gets as stdin and stdout.
			var in, outp [2]int
			if err := unix.Pipe2(in[:], unix.O_CLOEXEC); err != nil {
				c.fatalf("%v", err)
			}
			if err := unix.Pipe2(outp[:], unix.O_CLOEXEC); err != nil {
				c.fatalf("%v", err)
			}
			inR, inW := os.NewFile(uintptr(in[0]), "stdin-r"), os.NewFile(uintptr(in[1]), "stdin-w")
			outR, outW := os.NewFile(uintptr(outp[0]), "stdout-r"), os.NewFile(uintptr(outp[1]), "stdout-w")
			defer inR.Close()
			defer inW.Close()
			captured := newCapture(outR)
			flags := func() string {
				var s []string
				for _, fd := range []int{in[0], outp[1]} {
					fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
					own, _ := unix.FcntlInt(uintptr(fd), unix.F_GETOWN, 0)
					sig, _ := unix.FcntlInt(uintptr(fd), unix.F_GETSIG, 0)
					s = append(s, fmt.Sprintf("flags %#o owner %d sig %d", fl&(unix.O_NONBLOCK|unix.O_APPEND|unix.O_ASYNC), own, sig))
				}
				return strings.Join(s, ", ")
			}
			before := flags()
			// The judge's side keeps its ends: the same open file
			// descriptions the program gets as stdin and stdout.
			r := c.isoSpec(b, spec{prog: []string{"./stdio_flags"}, stdin: inR, stdout: outW})
			after := flags()
			outW.Close()
			select {
			case <-captured.done:
			case <-time.After(2 * time.Second):
				c.failf("the program's stdout is still held open after the run")
			}
			r.stdout = captured.String()
			c.outputs = append(c.outputs, r.stdout)
			c.ran(r, "fcntl(0, F_SETFL, O_NONBLOCK|O_APPEND|O_ASYNC)", "fcntl(1, F_SETOWN, self)")
			c.clean(r)
			if before != after {
				c.failf("the program changed the caller's stdin/stdout open file descriptions: %s -> %s", before, after)
				c.resultf("the caller's pipes changed: %s", after)
			} else {
				c.resultf("the caller's stdin and stdout keep their flags")
			}
		}},
		{name: "tty-tiocsti", what: "stdin is the judge's controlling terminal: setsid, TIOCSCTTY (also forced), TIOCSTI \"echo ATK-INJECTED\" into it, TIOCLINUX, TIOCCONS", fn: func(c *ctx) {
			ttyAttack(c, true, false)
		}},
		{name: "tty-tiocsti-orphan", what: "stdin is a terminal that is no session's controlling tty (a judge started by a service): setsid, TIOCSCTTY, then TIOCSTI into it", fn: func(c *ctx) {
			ttyAttack(c, false, false)
		}},
		{name: "tty-termios", what: "stdin is the judge's controlling terminal: tcsetattr (echo off, raw, no signals) and TIOCSWINSZ on it, which outlive the run", fn: func(c *ctx) {
			ttyAttack(c, true, true)
		}},
	}
}

// ttyAttack runs the tty program with a pty as stdin; ctty makes the pty
// the controlling terminal of the isolate process's session, as when a
// judge runs in a terminal. It checks for injected input, or (modes) for
// changed terminal modes and size.
func ttyAttack(c *ctx, ctty, modes bool) {
	master, slave, err := openPty()
	if err != nil {
		c.fatalf("pty: %v", err)
	}
	defer master.Close()
	defer slave.Close()
	// Raw, so that any injected byte is readable at once.
	t, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		c.fatalf("%v", err)
	}
	t.Lflag &^= unix.ICANON | unix.ECHO
	if err := unix.IoctlSetTermios(int(slave.Fd()), unix.TCSETS, t); err != nil {
		c.fatalf("%v", err)
	}
	_ = unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 120})
	termios := func() string {
		t, _ := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
		w, _ := unix.IoctlGetWinsize(int(slave.Fd()), unix.TIOCGWINSZ)
		return fmt.Sprintf("lflag %#o oflag %#o size %dx%d", t.Lflag, t.Oflag, w.Row, w.Col)
	}
	before := termios()
	b := c.newBox()
	c.install(b, "tty")
	sp := spec{prog: []string{"./tty"}, stdin: slave}
	if ctty {
		sp.sys = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	}
	r := c.isoSpec(b, sp)
	c.ran(r, "setsid()", "TIOCSCTTY(stdin)", "TIOCSTI on stdin", "tcsetattr(no echo, raw)")
	c.clean(r)
	if modes {
		after := termios()
		if after != before {
			c.failf("the program changed the judge's terminal: %s -> %s", before, after)
			c.resultf("terminal modes changed: %s", after)
		} else {
			c.resultf("terminal modes and size unchanged")
		}
		return
	}
	n, _ := unix.IoctlGetInt(int(slave.Fd()), unix.TIOCINQ)
	if n > 0 {
		buf := make([]byte, n)
		_ = unix.SetNonblock(int(slave.Fd()), true)
		k, _ := slave.Read(buf)
		c.failf("%d bytes were pushed into the judge's terminal input: %q (TIOCSCTTY: %s, TIOCSTI: %s)", n, buf[:max(k, 0)], tried(r, "TIOCSCTTY(stdin)"), tried(r, "TIOCSTI on stdin"))
		c.resultf("input injected into the terminal")
		return
	}
	c.resultf("TIOCSCTTY: %s, TIOCSTI: %s; no input reached the terminal", tried(r, "TIOCSCTTY(stdin)"), tried(r, "TIOCSTI on stdin"))
}

// openPty opens a new pseudo-terminal pair, neither end a controlling tty.
func openPty() (*os.File, *os.File, error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, nil, err
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, s, nil
}

// initAttrs describes what a box's later runs inherit from its init: nice
// value, scheduling policy, I/O priority, allowed CPUs and limits.
func initAttrs(pid int) map[string]string {
	a := map[string]string{}
	f, err := procstat.Stat(pid)
	if err != nil {
		a["init"] = "gone"
		return a
	}
	a["nice"], a["policy"], a["ioprio"] = at(f, 16), at(f, 38), fmt.Sprintf("%#x", ioprioOf(pid))
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok {
			a["cpus"] = strings.TrimSpace(v)
		}
	}
	limits, _ := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	for _, l := range strings.Split(string(limits), "\n")[1:] {
		// "Max open files            1024                 4096                 files"
		if len(l) > 26 {
			if v := strings.Fields(l[26:]); len(v) >= 2 {
				a[strings.TrimSpace(l[:26])] = v[0] + "/" + v[1]
			}
		}
	}
	return a
}

// attrsDiff lists what differs between two initAttrs.
func attrsDiff(before, after map[string]string) string {
	var out []string
	for k, v := range before {
		if after[k] != v {
			out = append(out, fmt.Sprintf("%s %s -> %s", k, v, after[k]))
		}
	}
	for k, v := range after {
		if _, ok := before[k]; !ok {
			out = append(out, fmt.Sprintf("%s -> %s", k, v))
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}
