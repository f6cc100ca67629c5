package judged

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
	"github.com/mini-isolate/mini-isolate/runtime/meta"
)

// reportName holds the report in the container's state directory.
const reportName = "judge.json"

// File files the report: in the meta file the container asked for, and
// in the container's state directory for `state`. It first takes the
// special files (symlinks, FIFOs, sockets, devices) out of the program's
// box, as a box's run does, so that a bundle reused for the next test
// starts clean; failing that, the run failed.
func File(stateDir string, st *State, res *meta.Result) {
	if err := cleanBox(st.BoxDir); err != nil && res.Status != meta.InternalError {
		res.Status, res.Message, res.Cause = meta.InternalError, "after the run: "+err.Error(), err
		res.Limit, res.Killed = "", false
	}
	if st.Meta != "" {
		if err := res.WriteFile(st.Meta, st.MetaFormat); err != nil {
			logrus.Errorf("%s: %v", filepath.Base(stateDir), err)
		}
	}
	data, err := json.Marshal(res)
	if err != nil {
		return
	}
	_ = hostfile.Write(filepath.Join(stateDir, reportName), data, 0o644)
}

// Failure writes an XX report for a judged container that could not be
// set up at all.
func Failure(j *policy.Judge, cause error) {
	if j == nil || j.Meta == "" || cause == nil {
		return
	}
	if err := meta.Failure(cause.Error()).WriteFile(j.Meta, j.MetaFormat); err != nil {
		logrus.Errorf("%v", err)
	}
}

// Report returns the report of a judged container once it exists.
func Report(stateDir string) *meta.Result {
	data, err := os.ReadFile(filepath.Join(stateDir, reportName))
	if err != nil {
		return nil
	}
	var res meta.Result
	if err := json.Unmarshal(data, &res); err != nil {
		return nil
	}
	return &res
}

// cleanBox removes the special files below dir, without following links
// or blocking (hostfile.Walk).
func cleanBox(dir string) error {
	if dir == "" {
		return nil
	}
	return hostfile.Walk(dir, func(parent int, name string, st *unix.Stat_t) error {
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG, unix.S_IFDIR:
			return nil
		}
		return unix.Unlinkat(parent, name, 0)
	})
}
