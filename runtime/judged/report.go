package judged

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"

	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
	"github.com/mini-isolate/mini-isolate/runtime/meta"
)

// reportName holds the report in the container's state directory.
const reportName = "judge.json"

// File files the report: in the meta file the container asked for, and
// in the container's state directory for `state`.
func File(stateDir string, st *State, res *meta.Result) {
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
