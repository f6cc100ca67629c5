// Package interact runs interactive problems: an interactor (a judge's
// program) and one solution, or a manager and several users (CMS's
// Communication task type), each in its own sandbox, wired to each other
// by pipes, with one verdict.
package interact

import (
	"fmt"

	"github.com/mini-isolate/mini-isolate/runtime/meta"
)

// Verdicts of an interaction: meta's statuses for what the sandbox saw,
// and the interactor's answers.
const (
	Accepted          = "OK"
	WrongAnswer       = "WA"
	PresentationError = "PE"
	TimeLimit         = "TO"
	MemoryLimit       = "ML"
	OutputLimit       = "OL"
	RuntimeError      = "RE"
	JudgeError        = "XX"
)

// Interactor exit codes, as testlib's: 0 accepted, 1 wrong answer, 2
// presentation error, 3 the interactor itself failed.
const (
	exitOK   = 0
	exitWA   = 1
	exitPE   = 2
	exitFail = 3
)

const sigpipe = 13

// Verdict is the outcome of an interaction.
type Verdict struct {
	Verdict string `json:"verdict"`
	// Message says which rule decided, for people.
	Message string `json:"message"`
	// User is the solution (index in the users) the verdict is about,
	// or -1 when it is about the interaction as a whole.
	User int `json:"user"`
}

// Ending is how one party's run ended, and whether it ended before the
// interactor did.
type Ending struct {
	*meta.Result
	// BeforeInteractor says the party's program ended first; for the
	// interactor itself it is false.
	BeforeInteractor bool
}

// Decide applies the rules of docs/interactive.md, in this order:
//
//  1. A sandbox failure on either side is a judge error (XX).
//  2. A solution that exceeded a limit (CPU or wall time, memory,
//     output) gets that verdict, whatever the interactor said: a
//     deadlock ends at the wall limit as TO for the solution.
//  3. An interactor killed at its wall-time limit while a solution still
//     ran: the interaction took too long, TO for that solution. (The
//     interactor was waiting for it, or both were.)
//  4. An interactor that died of SIGPIPE blames the solution, which
//     stopped reading (with several users, the one that ended first):
//     its RE stands, else WA.
//  5. Any other interactor failure (exit 3, an exit status other than
//     0, 1 and 2, a signal, a limit) is a judge error: never a verdict
//     against the contestant.
//  6. A solution that ended in error before the interactor did gets RE.
//  7. An interactor that exited 1 or 2 decides: WA or PE. A solution
//     that failed after it (of SIGPIPE or EPIPE, writing to it) does not
//     change that.
//  8. A solution that ended in error otherwise gets RE; one killed by
//     SIGPIPE after the interactor ended takes the interactor's verdict.
//  9. Otherwise: OK.
func Decide(interactor *meta.Result, users []Ending) Verdict {
	if v, ok := sandboxFailure(interactor, users); ok {
		return v
	}
	for i, u := range users {
		switch u.Status {
		case meta.TimedOut, meta.MemoryLimit, meta.OutputLimit:
			return Verdict{string(u.Status), "the solution: " + u.Message, i}
		}
	}
	if interactor.Status == meta.TimedOut && interactor.Limit == meta.LimitWallTime {
		for i, u := range users {
			if !u.BeforeInteractor {
				return Verdict{TimeLimit, "the interaction reached its wall-time limit while the solution ran", i}
			}
		}
	}
	code := -1
	if interactor.ExitCode != nil {
		code = *interactor.ExitCode
	}
	if interactor.Status != meta.OK && interactor.Status != meta.RuntimeError || code > exitPE || code < 0 {
		return interactorFailed(interactor, code, users)
	}
	for i, u := range users {
		if u.Status != meta.OK && u.BeforeInteractor && !diedOfSIGPIPE(u.Result) {
			return Verdict{RuntimeError, "the solution, before the interactor ended: " + u.Message, i}
		}
	}
	switch code {
	case exitWA:
		return Verdict{WrongAnswer, "the interactor says: wrong answer", -1}
	case exitPE:
		return Verdict{PresentationError, "the interactor says: presentation error", -1}
	}
	for i, u := range users {
		if u.Status != meta.OK && !diedOfSIGPIPE(u.Result) {
			return Verdict{RuntimeError, "the solution: " + u.Message, i}
		}
	}
	return Verdict{Accepted, "the interactor accepted", -1}
}

// diedOfSIGPIPE says the program was killed writing to a pipe nobody
// reads: the other side's doing, whatever the clocks say.
func diedOfSIGPIPE(r *meta.Result) bool {
	return r.ExitSig != nil && *r.ExitSig == sigpipe
}

func sandboxFailure(interactor *meta.Result, users []Ending) (Verdict, bool) {
	if interactor.Status == meta.InternalError {
		return Verdict{JudgeError, "the interactor's sandbox failed: " + interactor.Message, -1}, true
	}
	for i, u := range users {
		if u.Status == meta.InternalError {
			return Verdict{JudgeError, "the solution's sandbox failed: " + u.Message, i}, true
		}
	}
	return Verdict{}, false
}

// interactorFailed is the verdict when the interactor did not exit with
// 0, 1 or 2.
func interactorFailed(interactor *meta.Result, code int, users []Ending) Verdict {
	if diedOfSIGPIPE(interactor) {
		// With one solution only it reads what the interactor writes:
		// it stopped reading, whatever the clocks say (it may even have
		// closed its stdin and gone on running). With several, the one
		// that ended first is taken.
		for i, u := range users {
			if len(users) > 1 && !u.BeforeInteractor {
				continue
			}
			if u.Status != meta.OK {
				return Verdict{RuntimeError, "the solution: " + u.Message, i}
			}
			return Verdict{WrongAnswer, "the solution stopped reading while the interactor still wrote to it", i}
		}
	}
	switch {
	case code == exitFail:
		return Verdict{JudgeError, "the interactor says it failed (exit code 3)", -1}
	case interactor.Status == meta.OK || interactor.Status == meta.RuntimeError && code >= 0:
		return Verdict{JudgeError, fmt.Sprintf("the interactor exited with %d, not 0, 1, 2 or 3", code), -1}
	}
	return Verdict{JudgeError, "the interactor failed: " + interactor.Message, -1}
}
