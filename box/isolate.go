package box

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/mini-isolate/mini-isolate/runtime/judgeinit"
	"github.com/mini-isolate/mini-isolate/runtime/meta"
)

// IsolateReport puts a report in isolate's vocabulary, as the front end
// writes it: the status comes only from how the program itself ended
// (isolate's box_keeper), so an OOM kill of a helper is not a verdict on
// a program that exited 0, and a shell that exits 137 after its child's
// OOM kill is RE 137; the OOM killer shows as cg-oom-killed. A timeout has
// neither exit code nor signal. A program that could not be executed
// exited 127, as isolate 2.x reports it. It returns the message of an
// exec failure, which isolate prints on stderr, or "".
func IsolateReport(r *meta.Result) (execFailure string) {
	var start *judgeinit.StartError
	switch {
	case r.Status == meta.TimedOut:
		r.ExitCode, r.ExitSig = nil, nil
	case r.Status == meta.MemoryLimit || r.Status == meta.OutputLimit:
		r.Limit = ""
		fromEnding(r)
	case r.Status == meta.InternalError && errors.As(r.Cause, &start) && start.Stage == judgeinit.StageExec:
		execFailure = r.Message
		code := 127
		r.Status, r.ExitCode, r.ExitSig, r.Message = meta.RuntimeError, &code, nil, "Exited with error status 127"
	}
	return execFailure
}

// fromEnding sets the status from the program's own ending.
func fromEnding(r *meta.Result) {
	switch {
	case r.ExitSig != nil:
		r.ExitCode = nil
		r.Status, r.Message = meta.Signaled, fmt.Sprintf("Caught fatal signal %d", *r.ExitSig)
	case r.ExitCode != nil && *r.ExitCode != 0:
		r.Status, r.Message = meta.RuntimeError, fmt.Sprintf("Exited with error status %d", *r.ExitCode)
	default:
		r.Status, r.Message = meta.OK, ""
	}
}

// IsolateMeta is the meta file isolate writes for a report, with its keys
// in its order: the statistics, then exitcode or exitsig, status and
// message; a run the timer killed starts with status, message and killed.
// The cg- keys come with --cg only (cg-mem when the cgroup has a figure).
// extended adds mini-isolate's own keys at the end (--extended-meta).
func IsolateMeta(r *meta.Result, cg, extended bool) []byte {
	var b bytes.Buffer
	kv := func(k, v string) { fmt.Fprintf(&b, "%s:%s\n", k, v) }
	verdict := func() {
		if r.Status != meta.OK && r.Status != "" {
			kv("status", string(r.Status))
			kv("message", r.Message)
		}
	}
	stats := func() {
		kv("time", meta.Seconds(r.Time))
		kv("time-wall", meta.Seconds(r.TimeWall))
		kv("max-rss", strconv.FormatInt(r.MaxRSSKB, 10))
		kv("csw-voluntary", strconv.FormatInt(r.CswVoluntary, 10))
		kv("csw-forced", strconv.FormatInt(r.CswForced, 10))
		if cg && r.CgMemKB > 0 {
			kv("cg-mem", strconv.FormatInt(r.CgMemKB, 10))
		}
		if cg && r.OOMKilled {
			kv("cg-oom-killed", "1")
		}
	}
	switch {
	case r.Killed:
		// The timer's kill (or an interrupt, or a failure while running):
		// the verdict first, as isolate writes it the moment it kills.
		verdict()
		kv("killed", "1")
		stats()
	case r.Status == meta.InternalError && r.TimeWall == 0:
		// Nothing ran.
		verdict()
	default:
		stats()
		if r.ExitCode != nil {
			kv("exitcode", strconv.Itoa(*r.ExitCode))
		}
		if r.ExitSig != nil {
			kv("exitsig", strconv.Itoa(*r.ExitSig))
		}
		verdict()
	}
	if extended {
		r.ExtendedKeys(kv)
	}
	return b.Bytes()
}

// IsolateStatusLine is the line isolate prints on stderr after a run.
func IsolateStatusLine(r *meta.Result) string {
	if r.Status == meta.OK {
		return fmt.Sprintf("OK (%s sec real, %s sec wall)", meta.Seconds(r.Time), meta.Seconds(r.TimeWall))
	}
	return r.Message
}
