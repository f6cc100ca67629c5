package interact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mini-isolate/mini-isolate/runtime/meta"
)

// ExitCode is the command's exit status for a verdict, as isolate's: 0
// accepted, 1 a verdict against the solution, 2 a judge error.
func (v Verdict) ExitCode() int {
	switch v.Verdict {
	case Accepted:
		return 0
	case JudgeError:
		return 2
	}
	return 1
}

// FormatJSON is the report as JSON: the verdict, then each run's report.
func (r *Result) FormatJSON() ([]byte, error) {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// FormatIsolate is the report in isolate's key:value format: the verdict,
// then the solution's keys as isolate writes them (with one solution) or
// prefixed "userN." (with several), then the interactor's, prefixed
// "interactor.".
func (r *Result) FormatIsolate() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "verdict:%s\nverdict-message:%s\n", r.Verdict.Verdict, r.Message)
	for i, u := range r.Users {
		prefix := ""
		if len(r.Users) > 1 {
			prefix = fmt.Sprintf("user%d.", i+1)
		}
		prefixed(&b, prefix, u)
	}
	prefixed(&b, "interactor.", r.Interactor)
	return b.Bytes()
}

func prefixed(b *bytes.Buffer, prefix string, r *meta.Result) {
	if r == nil {
		return
	}
	for _, line := range strings.SplitAfter(string(r.FormatIsolate()), "\n") {
		if line != "" {
			b.WriteString(prefix + line)
		}
	}
}
