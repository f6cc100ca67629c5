package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mini-isolate/mini-isolate/internal/kmsg"
)

// HostCase logs which of a host-dependent feature's cases a test checked,
// in the form make test's summary collects (hack/testsum).
func HostCase(t testing.TB, format string, args ...any) {
	t.Helper()
	t.Logf("host case: %s: %s", t.Name(), fmt.Sprintf(format, args...))
}

// BareEnding is how a test program ends when run on the host, outside any
// sandbox: its exit status, or the signal that killed it.
type BareEnding struct {
	Exit   int
	Signal syscall.Signal
}

func (e BareEnding) String() string {
	if e.Signal != 0 {
		return fmt.Sprintf("killed by signal %d (%v)", int(e.Signal), e.Signal)
	}
	return fmt.Sprintf("exit status %d", e.Exit)
}

// RunBare runs one of the test programs (Programs) on the host, outside
// any sandbox, and says how it ended: tests measure there first what the
// kernel does with a feature a host may lack, and assert the sandboxed
// behaviour against that.
func RunBare(t testing.TB, prog string, args ...string) BareEnding {
	t.Helper()
	cmd := exec.Command(filepath.Join(Programs(t), prog), args...)
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return BareEnding{}
	case errors.As(err, &ee):
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			return BareEnding{Signal: ws.Signal()}
		}
		return BareEnding{Exit: ws.ExitStatus()}
	default:
		t.Fatalf("run %s on the host: %v", prog, err)
		return BareEnding{}
	}
}

// KmsgMark is a place in the kernel log: SeccompLogged reads what was
// logged after it. A mark is a position, not a time, because the log's
// timestamps come from the scheduler's clock, which time synchronisation
// does not correct. Nil when the log cannot be read.
type KmsgMark struct{ r *kmsg.Reader }

// MarkKmsg marks the end of the kernel log now.
func MarkKmsg(t testing.TB) *KmsgMark {
	t.Helper()
	r, err := kmsg.Open()
	if err != nil {
		return nil
	}
	t.Cleanup(func() { r.Close() })
	if err := r.SeekEnd(); err != nil {
		return nil
	}
	return &KmsgMark{r: r}
}

// SeccompLogged says whether the kernel log has, after mark, a seccomp
// record (audit type 1326) of a process named comm, waiting up to wait
// for it. The kernel logs there only when no audit daemon takes the
// records and its printk rate limit lets them through, so tests check
// what this host logs before they expect a report to name a call.
func SeccompLogged(t testing.TB, mark *KmsgMark, comm string, wait time.Duration) bool {
	t.Helper()
	if mark == nil {
		return false
	}
	return mark.r.Find(wait, func(rec []byte) bool {
		_, msg, _ := bytes.Cut(rec, []byte(";"))
		return bytes.Contains(msg, []byte("type=1326 ")) && bytes.Contains(msg, []byte(` comm="`+comm+`"`))
	})
}

// referenceForkExec is what a bare fork, exec and wait of /bin/true takes
// on the machine the tests' time tolerances were set on.
const referenceForkExec = time.Millisecond

var (
	slownessOnce sync.Once
	slowness     float64
)

// Slowness is how many times slower than that machine this host starts a
// process (the median of 21 bare runs of /bin/true), and at least 1. Under
// software emulation it is 10 or more; on a loaded host, 2 or 3.
func Slowness() float64 {
	slownessOnce.Do(func() {
		slowness = 1
		var runs []time.Duration
		for i := 0; i < 21; i++ {
			start := time.Now()
			if err := exec.Command("/bin/true").Run(); err != nil {
				return
			}
			runs = append(runs, time.Since(start))
		}
		slices.Sort(runs)
		slowness = max(1, float64(runs[len(runs)/2])/float64(referenceForkExec))
	})
	return slowness
}

// Slack scales a time tolerance set on the reference machine to this
// host: how late a kill may land, or how much CPU start-up may take, grows
// with how slowly the host runs processes. The precision itself is
// measured by make bench, not by tests.
func Slack(d time.Duration) time.Duration {
	return time.Duration(float64(d) * Slowness())
}
