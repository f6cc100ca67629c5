package supervise

import (
	"bytes"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/runtime/judgeinit"
	"github.com/mini-isolate/mini-isolate/runtime/meta"
)

func TestDecide(t *testing.T) {
	code := func(n int) *int { return &n }
	lim := policy.Limits{Time: policy.Duration(time.Second), WallTime: policy.Duration(2 * time.Second)}
	for _, tc := range []struct {
		name      string
		r         meta.Result
		o         outcome
		status    meta.Status
		limit     string
		messageOK func(string) bool
	}{
		{"ok", meta.Result{ExitCode: code(0), Time: 500 * time.Millisecond}, outcome{started: true, exited: true}, meta.OK, "", nil},
		{"runtime error", meta.Result{ExitCode: code(2)}, outcome{started: true, exited: true}, meta.RuntimeError, "", func(m string) bool { return m == "Exited with error status 2" }},
		{"signal", meta.Result{ExitSig: code(11)}, outcome{started: true, exited: true}, meta.Signaled, "", func(m string) bool { return m == "Caught fatal signal 11" }},
		{"killed for cpu", meta.Result{ExitSig: code(9), Time: 1002 * time.Millisecond}, outcome{killReason: meta.LimitTime, started: true, exited: true}, meta.TimedOut, meta.LimitTime, nil},
		{"finished over the cpu limit", meta.Result{ExitCode: code(0), Time: 1100 * time.Millisecond}, outcome{started: true, exited: true}, meta.TimedOut, meta.LimitTime, nil},
		{"killed for wall time", meta.Result{ExitSig: code(9)}, outcome{killReason: meta.LimitWallTime, started: true, exited: true}, meta.TimedOut, meta.LimitWallTime, func(m string) bool { return strings.Contains(m, "wall clock") }},
		{"oom", meta.Result{ExitSig: code(9), OOMKilled: true}, outcome{started: true, exited: true}, meta.MemoryLimit, meta.LimitMemory, nil},
		{"output", meta.Result{ExitSig: code(9)}, outcome{killReason: meta.LimitOutput, started: true, exited: true}, meta.OutputLimit, meta.LimitOutput, nil},
		{"cpu kill beats oom", meta.Result{ExitSig: code(9), OOMKilled: true}, outcome{killReason: meta.LimitTime, started: true, exited: true}, meta.TimedOut, meta.LimitTime, nil},
		{"failure", meta.Result{ExitCode: code(127)}, outcome{failure: "execve: nope", exited: true}, meta.InternalError, "", func(m string) bool { return m == "execve: nope" }},
		{"sandbox vanished", meta.Result{}, outcome{started: true}, meta.InternalError, "", func(m string) bool { return strings.Contains(m, "closed its connection") }},
		{"init died", meta.Result{}, outcome{started: true, initDied: true}, meta.InternalError, "", func(m string) bool { return strings.Contains(m, "init died") }},
		{"child died before exec", meta.Result{ExitSig: code(11)}, outcome{exited: true}, meta.InternalError, "", func(m string) bool { return strings.HasSuffix(m, "before it was started: signal 11") }},
		{"canceled", meta.Result{}, outcome{killReason: reasonCanceled, started: true}, meta.InternalError, "", nil},
	} {
		r := tc.r
		decide(&r, lim, tc.o)
		if r.Status != tc.status || r.Limit != tc.limit || r.Killed != (tc.o.killReason != "") {
			t.Errorf("%s: status %s limit %q killed %v", tc.name, r.Status, r.Limit, r.Killed)
		}
		if tc.messageOK != nil && !tc.messageOK(r.Message) {
			t.Errorf("%s: message %q", tc.name, r.Message)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

func TestCaptureLimit(t *testing.T) {
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	var out, errb syncBuffer
	c := NewCapture(1000, Stream{Dst: &out, Src: outR}, Stream{Dst: &errb, Src: errR})
	go func() {
		for i := 0; i < 10; i++ {
			_, _ = outW.Write(bytes.Repeat([]byte("o"), 100))
			_, _ = errW.Write(bytes.Repeat([]byte("e"), 100))
		}
		outW.Close()
		errW.Close()
	}()
	select {
	case <-c.Exceeded():
	case <-time.After(5 * time.Second):
		t.Fatal("2000 bytes did not exceed a 1000 byte limit")
	}
	c.Wait(5 * time.Second)
	if got := out.Len() + errb.Len(); got != 1000 {
		t.Errorf("forwarded %d bytes, want exactly 1000", got)
	}
	if c.Bytes() != 2000 {
		t.Errorf("counted %d bytes, want 2000", c.Bytes())
	}
}

func TestCaptureNoLimit(t *testing.T) {
	r, w := io.Pipe()
	var out syncBuffer
	c := NewCapture(0, Stream{Dst: &out, Src: r})
	go func() {
		_, _ = w.Write(bytes.Repeat([]byte("x"), 1<<16))
		w.Close()
	}()
	c.Wait(5 * time.Second)
	select {
	case <-c.Exceeded():
		t.Error("no limit, but exceeded")
	default:
	}
	if out.Len() != 1<<16 {
		t.Errorf("forwarded %d bytes", out.Len())
	}
}

// fakeCgroup is a runCgroup that reports fixed accounting.
type fakeCgroup struct {
	acct                      accounting
	err                       error
	removed, released, killed bool
}

func (f *fakeCgroup) setLimits(memory, pids int64) error { return nil }
func (f *fakeCgroup) joinFiles() ([]*os.File, error)     { return nil, nil }
func (f *fakeCgroup) add(pid int) error                  { return nil }
func (f *fakeCgroup) cpu() (time.Duration, error)        { return f.acct.CPU, f.err }
func (f *fakeCgroup) prefetch()                          {}
func (f *fakeCgroup) preopen()                           {}
func (f *fakeCgroup) final() (accounting, error)         { return f.acct, f.err }
func (f *fakeCgroup) samplesPeaks() bool                 { return f.acct.MemSampled }
func (f *fakeCgroup) sample()                            {}
func (f *fakeCgroup) kill()                              { f.killed = true }
func (f *fakeCgroup) remove() error                      { f.removed = true; return nil }
func (f *fakeCgroup) release()                           { f.released = true }
func (f *fakeCgroup) dir() string                        { return "" }

// TestReport: the report takes the cgroup's accounting, max-rss as a
// floor of a sampled memory peak, and a failure to read the cgroup as XX.
func TestReport(t *testing.T) {
	exited := &judgeinit.Event{Type: judgeinit.Exited, Status: 0, MaxRSSKB: 3000}
	for _, tc := range []struct {
		name    string
		cg      *fakeCgroup
		limit   policy.Size
		status  meta.Status
		memPeak int64
	}{
		{"kernel peak", &fakeCgroup{acct: accounting{CPU: time.Millisecond, MemPeak: 2 << 20, PidsPeak: 1}}, 0, meta.OK, 2 << 20},
		{"sampled peak below max-rss", &fakeCgroup{acct: accounting{MemPeak: 1 << 20, MemSampled: true}}, 0, meta.OK, 3000 << 10},
		{"sampled peak above max-rss", &fakeCgroup{acct: accounting{MemPeak: 8 << 20, MemSampled: true}}, 0, meta.OK, 8 << 20},
		// max-rss counts shared pages the cgroup may not.
		{"max-rss above the limit", &fakeCgroup{acct: accounting{MemPeak: 1 << 20, MemSampled: true}}, 2 << 20, meta.OK, 2 << 20},
		{"cgroup unreadable", &fakeCgroup{err: os.ErrNotExist}, 0, meta.InternalError, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Supervisor{cg: tc.cg, childPidfd: -1, initPidfd: -1}
			s.cfg.Limits.Memory = tc.limit
			r := s.report(true, 0, exited, nil)
			if r.Status != tc.status || r.MemPeak != tc.memPeak || r.CgMemKB != tc.memPeak/1024 {
				t.Errorf("status %s mem-peak %d cg-mem %d, want %s %d", r.Status, r.MemPeak, r.CgMemKB, tc.status, tc.memPeak)
			}
		})
	}
}

// TestReportPidsPeak: a sampled pids peak of a program that exec'd is at
// least 1, which a supervisor kept off the CPU for the whole run misses;
// a kernel's peak, and a run that never exec'd, are taken as they are.
func TestReportPidsPeak(t *testing.T) {
	exited := &judgeinit.Event{Type: judgeinit.Exited, Status: 0}
	for _, tc := range []struct {
		name    string
		acct    accounting
		started bool
		want    int64
	}{
		{"sampled, none seen", accounting{PidsSampled: true}, true, 1},
		{"sampled, seen", accounting{PidsPeak: 7, PidsSampled: true}, true, 7},
		{"sampled, never exec'd", accounting{PidsSampled: true}, false, 0},
		{"kernel peak", accounting{PidsPeak: 3}, true, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Supervisor{cg: &fakeCgroup{acct: tc.acct}, childPidfd: -1, initPidfd: -1}
			if r := s.report(tc.started, 0, exited, nil); r.PidsPeak != tc.want {
				t.Errorf("pids peak %d, want %d", r.PidsPeak, tc.want)
			}
		})
	}
}
