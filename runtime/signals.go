package runtime

import (
	"os"
	"os/signal"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// signalRelay forwards the signals a foreground run or exec receives to the
// container process and reaps its exit.
type signalRelay struct {
	ch chan os.Signal
	// terminate, when set, handles SIGTERM, SIGINT, SIGHUP and SIGQUIT
	// instead: a judged run's supervisor ends the run and reports it, while
	// the judge init, PID 1, would ignore them.
	terminate func()
}

// newSignalRelay must be called before the process starts: libcontainer's
// init is re-parented to us only if we are already a subreaper, and a
// SIGCHLD that arrives before Notify would be lost.
func newSignalRelay() *signalRelay {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		logrus.Warnf("set subreaper: %v", err)
	}
	r := &signalRelay{ch: make(chan os.Signal, 2048)}
	signal.Notify(r.ch)
	return r
}

// stop ends the relay in the background. Go's runtime disables each
// signal Notify enabled in a round trip to its signal-mask thread: 1 to
// 6 ms in all on a 2-CPU VM, which every foreground run would otherwise
// wait for at its end (runc, which exits instead, never does). Signals
// that arrive meanwhile go to the buffered channel, which nobody reads.
func (r *signalRelay) stop() {
	go signal.Stop(r.ch)
}

// wait relays signals until the process exits and returns its exit status,
// 128+N for death by signal N.
func (r *signalRelay) wait(p *libcontainer.Process, io *stdioSetup) (int, error) {
	pid, err := p.Pid()
	if err != nil {
		return -1, err
	}
	io.resize()
	for s := range r.ch {
		switch s {
		case unix.SIGWINCH:
			io.resize()
		case unix.SIGCHLD:
			if status, ok := reapPid(pid); ok {
				// Wait flushes libcontainer's own pipes; the status is ours.
				_, _ = p.Wait()
				return status, nil
			}
		case unix.SIGURG:
			// Go's runtime uses SIGURG for preemption; it is not for the container.
		case unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT:
			if r.terminate != nil {
				r.terminate()
				continue
			}
			if err := p.Signal(s); err != nil {
				logrus.Debugf("forward %v: %v", s, err)
			}
		default:
			if err := p.Signal(s); err != nil {
				logrus.Debugf("forward %v: %v", s, err)
			}
		}
	}
	return -1, nil
}

// reapPid reaps pid if it exited and reports its status. It reaps no
// other child: a process may run several containers at once (an
// interaction's parties), and each relay waits for its own.
func reapPid(pid int) (int, bool) {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil || got != pid:
			return -1, false
		}
		return utils.ExitStatus(ws), true
	}
}
