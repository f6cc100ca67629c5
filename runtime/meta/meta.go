// Package meta is the judge's report of one run: the verdict, times,
// memory and process counts, in isolate's key:value format or as JSON,
// written atomically.
package meta

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
)

// Status is the verdict of a run.
type Status string

// Verdicts. OK is written as no status line in isolate's format, as isolate
// does.
const (
	OK            Status = "OK"
	RuntimeError  Status = "RE" // exited with a non-zero status
	Signaled      Status = "SG" // died of a signal
	TimedOut      Status = "TO" // CPU or wall-time limit
	MemoryLimit   Status = "ML" // killed by the OOM killer
	OutputLimit   Status = "OL" // wrote more than the output limit
	InternalError Status = "XX" // the sandbox itself failed
)

// Limit names, as reported in the "limit" key.
const (
	LimitTime     = "time"
	LimitWallTime = "wall-time"
	LimitMemory   = "memory"
	LimitOutput   = "output"
)

// Formats of the report file.
const (
	FormatIsolate = "isolate"
	FormatJSON    = "json"
)

// Result is everything the report says about one run.
type Result struct {
	Status  Status `json:"status"`
	Message string `json:"message,omitempty"`
	// Cause is the error behind an XX verdict, for callers that must tell
	// causes apart (a *judgeinit.StartError, say); not part of the report.
	Cause error `json:"-"`
	// Killed is set when the supervisor killed the program.
	Killed bool `json:"killed"`
	// Limit names the limit that decided the verdict, if any.
	Limit    string `json:"limit,omitempty"`
	ExitCode *int   `json:"exitcode,omitempty"`
	ExitSig  *int   `json:"exitsig,omitempty"`

	// CPU time of every process of the run, from the cgroup.
	Time       time.Duration `json:"-"`
	TimeUser   time.Duration `json:"-"`
	TimeSystem time.Duration `json:"-"`
	// Wall time from the exec of the program until its last process was gone.
	TimeWall time.Duration `json:"-"`
	// Ended is CLOCK_MONOTONIC when the last process was gone, for callers
	// that order runs (interact); not part of the report.
	Ended time.Duration `json:"-"`
	// KilledAt is CLOCK_MONOTONIC when the supervisor killed the program
	// (0: it did not): what ended the run, unless the program exited as
	// the kill came. Not part of the report.
	KilledAt time.Duration `json:"-"`

	MaxRSSKB     int64 `json:"max-rss"`
	CgMemKB      int64 `json:"cg-mem"`
	MemPeak      int64 `json:"mem-peak"`
	OOMKilled    bool  `json:"cg-oom-killed"`
	PidsPeak     int64 `json:"pids-peak"`
	CswVoluntary int64 `json:"csw-voluntary"`
	CswForced    int64 `json:"csw-forced"`
	// OutputBytes is what the program wrote to captured stdout and stderr.
	OutputBytes int64 `json:"output-bytes,omitempty"`
}

// Seconds formats a duration as isolate does: seconds with three
// decimals, truncated to the millisecond.
func Seconds(d time.Duration) string {
	ms := d.Milliseconds()
	return fmt.Sprintf("%d.%03d", ms/1000, ms%1000)
}

// ExtendedKeys gives mini-isolate's own keys, which isolate's reports do
// not have, to kv in their order: split CPU times, microseconds, peaks,
// and the limit that decided.
func (r *Result) ExtendedKeys(kv func(key, value string)) {
	kv("time-user", Seconds(r.TimeUser))
	kv("time-system", Seconds(r.TimeSystem))
	kv("time-us", strconv.FormatInt(r.Time.Microseconds(), 10))
	kv("time-wall-us", strconv.FormatInt(r.TimeWall.Microseconds(), 10))
	kv("mem-peak", strconv.FormatInt(r.MemPeak, 10))
	kv("pids-peak", strconv.FormatInt(r.PidsPeak, 10))
	if r.Limit != "" {
		kv("limit", r.Limit)
	}
}

// FormatIsolate renders the report in isolate's format: one key:value per
// line, isolate's keys first, then mini-isolate's own.
func (r *Result) FormatIsolate() []byte {
	var b bytes.Buffer
	kv := func(k, v string) { fmt.Fprintf(&b, "%s:%s\n", k, v) }
	kv("time", Seconds(r.Time))
	kv("time-wall", Seconds(r.TimeWall))
	kv("max-rss", strconv.FormatInt(r.MaxRSSKB, 10))
	kv("csw-voluntary", strconv.FormatInt(r.CswVoluntary, 10))
	kv("csw-forced", strconv.FormatInt(r.CswForced, 10))
	kv("cg-mem", strconv.FormatInt(r.CgMemKB, 10))
	if r.OOMKilled {
		kv("cg-oom-killed", "1")
	}
	if r.ExitCode != nil {
		kv("exitcode", strconv.Itoa(*r.ExitCode))
	}
	if r.ExitSig != nil {
		kv("exitsig", strconv.Itoa(*r.ExitSig))
	}
	if r.Killed {
		kv("killed", "1")
	}
	if r.Status != OK && r.Status != "" {
		kv("status", string(r.Status))
	}
	if r.Message != "" {
		kv("message", r.Message)
	}
	r.ExtendedKeys(kv)
	if r.OutputBytes > 0 {
		kv("output-bytes", strconv.FormatInt(r.OutputBytes, 10))
	}
	return b.Bytes()
}

// MarshalJSON renders the report with the same content as FormatIsolate.
func (r *Result) MarshalJSON() ([]byte, error) {
	type plain Result // no MarshalJSON: avoids recursion
	sec := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e6 }
	return json.Marshal(struct {
		*plain
		Time         float64 `json:"time"`
		TimeWall     float64 `json:"time-wall"`
		TimeUser     float64 `json:"time-user"`
		TimeSystem   float64 `json:"time-system"`
		TimeUs       int64   `json:"time-us"`
		TimeWallUs   int64   `json:"time-wall-us"`
		TimeUserUs   int64   `json:"time-user-us"`
		TimeSystemUs int64   `json:"time-system-us"`
	}{
		(*plain)(r),
		sec(r.Time), sec(r.TimeWall), sec(r.TimeUser), sec(r.TimeSystem),
		r.Time.Microseconds(), r.TimeWall.Microseconds(), r.TimeUser.Microseconds(), r.TimeSystem.Microseconds(),
	})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (r *Result) UnmarshalJSON(data []byte) error {
	type plain Result
	var aux struct {
		*plain
		TimeUs       int64 `json:"time-us"`
		TimeWallUs   int64 `json:"time-wall-us"`
		TimeUserUs   int64 `json:"time-user-us"`
		TimeSystemUs int64 `json:"time-system-us"`
	}
	aux.plain = (*plain)(r)
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	r.Time = time.Duration(aux.TimeUs) * time.Microsecond
	r.TimeWall = time.Duration(aux.TimeWallUs) * time.Microsecond
	r.TimeUser = time.Duration(aux.TimeUserUs) * time.Microsecond
	r.TimeSystem = time.Duration(aux.TimeSystemUs) * time.Microsecond
	return nil
}

// Format renders the report in the named format ("isolate" or "json").
func (r *Result) Format(format string) ([]byte, error) {
	switch format {
	case "", FormatIsolate:
		return r.FormatIsolate(), nil
	case FormatJSON:
		data, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return nil, err
		}
		return append(data, '\n'), nil
	}
	return nil, fmt.Errorf("unknown meta format %q (want isolate or json)", format)
}

// WriteFile writes the report to path: a regular file is replaced
// atomically (a reader sees the old file or the whole new one), a device,
// FIFO or root's link to one, such as /dev/stdout, is written into; "-" is
// stdout. See hostfile.Write.
func (r *Result) WriteFile(path, format string) error {
	data, err := r.Format(format)
	if err != nil {
		return err
	}
	if path == "-" {
		_, err := os.Stdout.Write(data)
		return err
	}
	if err := hostfile.Write(path, data, 0o644); err != nil {
		return fmt.Errorf("write meta: %w", err)
	}
	return nil
}

// Failure is the report of a sandbox that could not run the program.
func Failure(msg string) *Result {
	return &Result{Status: InternalError, Message: msg}
}

// TimeLimitMessage is isolate's message for a CPU or wall-time verdict.
func TimeLimitMessage(wall bool) string {
	if wall {
		return "Time limit exceeded (wall clock)"
	}
	return "Time limit exceeded"
}
