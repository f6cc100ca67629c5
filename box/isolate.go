package box

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/runtime/judgeinit"
	"github.com/mini-isolate/mini-isolate/runtime/meta"
)

// IsolateReport puts a report in isolate's vocabulary, as the front end
// writes it: an OOM kill is a fatal signal 9 with cg-oom-killed, a timeout
// has no exit code, and a program that could not be executed exited 127,
// as isolate 2.x reports them. cg says whether the box runs in cgroup mode
// (isolate writes the cg- keys only then). It returns the message of an
// exec failure, which isolate prints on stderr, or "".
func IsolateReport(r *meta.Result, cg bool) (execFailure string) {
	r.NoCgroupKeys = !cg
	if r.Status == meta.TimedOut {
		r.ExitCode = nil
	}
	var start *judgeinit.StartError
	switch {
	case r.Status == meta.MemoryLimit:
		sig := int(unix.SIGKILL)
		r.Status, r.ExitSig, r.Message = meta.Signaled, &sig, "Caught fatal signal 9"
	case r.Status == meta.InternalError && errors.As(r.Cause, &start) && start.Stage == judgeinit.StageExec:
		execFailure = r.Message
		code := 127
		r.Status, r.ExitCode, r.Message = meta.RuntimeError, &code, "Exited with error status 127"
	}
	return execFailure
}

// IsolateStatusLine is the line isolate prints on stderr after a run.
func IsolateStatusLine(r *meta.Result) string {
	if r.Status == meta.OK {
		return fmt.Sprintf("OK (%s sec real, %s sec wall)", meta.Seconds(r.Time), meta.Seconds(r.TimeWall))
	}
	return r.Message
}
