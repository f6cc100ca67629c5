package interact

import (
	"testing"
	"time"

	"github.com/mini-isolate/mini-isolate/runtime/meta"
)

func exited(code int) *meta.Result {
	st := meta.OK
	if code != 0 {
		st = meta.RuntimeError
	}
	return &meta.Result{Status: st, ExitCode: &code}
}

func signaled(sig int) *meta.Result {
	return &meta.Result{Status: meta.Signaled, ExitSig: &sig}
}

func limited(st meta.Status) *meta.Result {
	sig := 9
	return &meta.Result{Status: st, Killed: true, ExitSig: &sig}
}

func TestDecide(t *testing.T) {
	first := func(r *meta.Result) Ending { return Ending{Result: r, BeforeInteractor: true} }
	after := func(r *meta.Result) Ending { return Ending{Result: r} }
	for _, tc := range []struct {
		name       string
		interactor *meta.Result
		users      []Ending
		want       string
		user       int
	}{
		{"accepted", exited(0), []Ending{after(exited(0))}, Accepted, -1},
		{"wrong answer", exited(1), []Ending{after(exited(0))}, WrongAnswer, -1},
		{"presentation error", exited(2), []Ending{first(exited(0))}, PresentationError, -1},
		{"the interactor failed", exited(3), []Ending{after(exited(0))}, JudgeError, -1},
		{"the interactor exited 4", exited(4), []Ending{after(exited(0))}, JudgeError, -1},
		{"the interactor crashed", signaled(11), []Ending{after(exited(0))}, JudgeError, -1},
		{"the interactor's CPU limit", &meta.Result{Status: meta.TimedOut, Limit: meta.LimitTime}, []Ending{after(exited(0))}, JudgeError, -1},
		{"the interactor's wall limit while the solution ran", &meta.Result{Status: meta.TimedOut, Limit: meta.LimitWallTime},
			[]Ending{after(exited(1))}, TimeLimit, 0},
		{"the interactor's wall limit after the solution ended", &meta.Result{Status: meta.TimedOut, Limit: meta.LimitWallTime},
			[]Ending{first(exited(0))}, JudgeError, -1},
		{"the interactor's sandbox failed", &meta.Result{Status: meta.InternalError}, []Ending{after(exited(0))}, JudgeError, -1},
		{"the solution's sandbox failed", exited(0), []Ending{after(&meta.Result{Status: meta.InternalError})}, JudgeError, 0},
		{"a solution TO stands against WA", exited(1), []Ending{after(limited(meta.TimedOut))}, TimeLimit, 0},
		{"a solution ML stands against an interactor crash", signaled(11), []Ending{first(limited(meta.MemoryLimit))}, MemoryLimit, 0},
		{"a solution OL stands", exited(0), []Ending{first(limited(meta.OutputLimit))}, OutputLimit, 0},
		{"SIGPIPE after WA is WA", exited(1), []Ending{after(signaled(13))}, WrongAnswer, -1},
		{"SIGPIPE is WA whatever the clocks say", exited(1), []Ending{first(signaled(13))}, WrongAnswer, -1},
		{"EPIPE after WA is WA", exited(1), []Ending{after(exited(1))}, WrongAnswer, -1},
		{"RE before the interactor's PE stands", exited(2), []Ending{first(exited(7))}, RuntimeError, 0},
		{"a crash before the interactor's WA stands", exited(1), []Ending{first(signaled(11))}, RuntimeError, 0},
		{"RE after the interactor accepted", exited(0), []Ending{after(exited(7))}, RuntimeError, 0},
		{"the interactor's SIGPIPE after a solution RE", signaled(13), []Ending{first(exited(7))}, RuntimeError, 0},
		{"the interactor's SIGPIPE after the solution quit", signaled(13), []Ending{first(exited(0))}, WrongAnswer, 0},
		{"the interactor's SIGPIPE with the solution alive (it closed its stdin)", signaled(13), []Ending{after(exited(0))}, WrongAnswer, 0},
		{"the interactor's SIGPIPE, no user ended first", signaled(13), []Ending{after(exited(0)), after(exited(0))}, JudgeError, -1},
		{"the interactor's SIGPIPE after the second user ended", signaled(13), []Ending{after(exited(0)), first(exited(0))}, WrongAnswer, 1},
		{"SIGPIPE after the interactor accepted", exited(0), []Ending{after(signaled(13))}, Accepted, -1},
		{"the second user's RE", exited(0), []Ending{after(exited(0)), after(exited(3))}, RuntimeError, 1},
		{"the second user's TO before the first's RE", exited(0), []Ending{first(exited(3)), after(limited(meta.TimedOut))}, TimeLimit, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Decide(tc.interactor, tc.users)
			if v.Verdict != tc.want || v.User != tc.user || v.Message == "" {
				t.Errorf("Decide = %+v, want %s about user %d", v, tc.want, tc.user)
			}
			if got := v.ExitCode(); (tc.want == Accepted) != (got == 0) || (tc.want == JudgeError) != (got == 2) {
				t.Errorf("exit code %d for %s", got, tc.want)
			}
		})
	}
}

// TestEndedBefore: an interactor killed at its wall limit ended at the
// kill, however late its init timed the end; a solution that exited on
// the end-of-file that followed did not end first.
func TestEndedBefore(t *testing.T) {
	const ms = 1e6
	for _, tc := range []struct {
		name                  string
		user, ended, killedAt float64 // ms; the interactor's Ended and KilledAt
		want                  bool
	}{
		{"solution first", 100, 200, 0, true},
		{"interactor first", 300, 200, 0, false},
		{"interactor killed, solution reaped sooner", 1003, 1005, 1000, false},
		{"solution ended before the kill", 900, 1005, 1000, true},
		{"interactor exited as the kill came", 1001, 999, 1000, false},
		{"solution never started", 0, 200, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := &meta.Result{Ended: time.Duration(tc.user * ms)}
			i := &meta.Result{Ended: time.Duration(tc.ended * ms), KilledAt: time.Duration(tc.killedAt * ms)}
			if got := endedBefore(u, i); got != tc.want {
				t.Errorf("endedBefore = %v, want %v", got, tc.want)
			}
		})
	}
}
