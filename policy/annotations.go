package policy

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"

	"github.com/mini-isolate/mini-isolate/runtime/meta"
	"github.com/mini-isolate/mini-isolate/specconv"
)

// AnnotationPrefix starts every judge annotation in config.json.
const AnnotationPrefix = "io.github.mini-isolate."

// Judge annotations: what OCI has no field for. docs/annotations.md
// describes each.
const (
	AnnotationJudge          = AnnotationPrefix + "judge"
	AnnotationTime           = AnnotationPrefix + "time"
	AnnotationExtraTime      = AnnotationPrefix + "extra-time"
	AnnotationWallTime       = AnnotationPrefix + "wall-time"
	AnnotationOutputLimit    = AnnotationPrefix + "output-limit"
	AnnotationMeta           = AnnotationPrefix + "meta"
	AnnotationMetaFormat     = AnnotationPrefix + "meta-format"
	AnnotationStdin          = AnnotationPrefix + "stdin"
	AnnotationStdout         = AnnotationPrefix + "stdout"
	AnnotationStderr         = AnnotationPrefix + "stderr"
	AnnotationStderrToStdout = AnnotationPrefix + "stderr-to-stdout"
)

// Bounds that catch absurd values before they reach the kernel.
const (
	maxDuration    = 24 * time.Hour
	maxOutputLimit = 1 << 40
)

// Judge holds what a judged container carries beyond OCI's fields: the
// limits the supervisor enforces, where the program's stdio goes, and
// where the report goes.
type Judge struct {
	// Limits: Time, ExtraTime, WallTime and Output come from the
	// annotations; FromSpec adds Memory and Processes from the OCI
	// resources.
	Limits Limits
	IO     IO
	// Meta is the host path of the report, and MetaFormat its format.
	Meta       string
	MetaFormat string
}

// IO are a run's redirections, opened inside the sandbox relative to the
// process's working directory.
type IO struct {
	Stdin, Stdout, Stderr string
	StderrToStdout        bool
}

var judgeKeys = []string{
	AnnotationJudge, AnnotationTime, AnnotationExtraTime, AnnotationWallTime, AnnotationOutputLimit,
	AnnotationMeta, AnnotationMetaFormat, AnnotationStdin, AnnotationStdout, AnnotationStderr,
	AnnotationStderrToStdout,
}

// podSandboxTypes are the annotations CRI runtimes put on a pod's sandbox
// (pause) container, with the value that marks it.
var podSandboxTypes = map[string]string{
	"io.kubernetes.cri.container-type":  "sandbox", // containerd
	"io.kubernetes.cri-o.ContainerType": "sandbox", // CRI-O
}

// IsPodSandbox tells a pod's sandbox (pause) container. containerd and
// CRI-O copy pod annotations, the judge's included, onto it as well as onto
// the pod's containers; it holds the pod's namespaces and must never be
// judged, or its report would replace the program's.
func IsPodSandbox(a map[string]string) bool {
	for k, v := range podSandboxTypes {
		if a[k] == v {
			return true
		}
	}
	return false
}

// JudgeFromAnnotations reads the judge settings. It returns nil when no
// judge annotation is present, or for a pod's sandbox container: the
// container is then a plain OCI one.
func JudgeFromAnnotations(a map[string]string) (*Judge, error) {
	if judged, err := isJudged(a); !judged || err != nil {
		return nil, err
	}
	j := &Judge{MetaFormat: meta.FormatIsolate}
	var err error
	for _, f := range []struct {
		key string
		dst *Duration
	}{{AnnotationTime, &j.Limits.Time}, {AnnotationExtraTime, &j.Limits.ExtraTime}, {AnnotationWallTime, &j.Limits.WallTime}} {
		d, err := parseSeconds(a, f.key)
		if err != nil {
			return nil, err
		}
		*f.dst = Duration(d)
	}
	if v, ok := a[AnnotationOutputLimit]; ok {
		n, err := units.RAMInBytes(v)
		if err != nil || n <= 0 || n > maxOutputLimit {
			return nil, annotationErr(AnnotationOutputLimit, v, "want a size in bytes such as 65536 or 64m, at most 1t")
		}
		j.Limits.Output = Size(n)
	}
	if v, ok := a[AnnotationMeta]; ok {
		if v == "" || (v != "-" && !filepath.IsAbs(v)) {
			return nil, annotationErr(AnnotationMeta, v, "want an absolute path on the host, or - for stdout")
		}
		j.Meta = v
	}
	if v, ok := a[AnnotationMetaFormat]; ok {
		if v != meta.FormatIsolate && v != meta.FormatJSON {
			return nil, annotationErr(AnnotationMetaFormat, v, "want isolate or json")
		}
		j.MetaFormat = v
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{AnnotationStdin, &j.IO.Stdin}, {AnnotationStdout, &j.IO.Stdout}, {AnnotationStderr, &j.IO.Stderr}} {
		if v, ok := a[f.key]; ok {
			if v == "" || strings.IndexByte(v, 0) >= 0 {
				return nil, annotationErr(f.key, v, "want a path inside the sandbox")
			}
			*f.dst = v
		}
	}
	if v, ok := a[AnnotationStderrToStdout]; ok {
		if j.IO.StderrToStdout, err = parseBool(AnnotationStderrToStdout, v); err != nil {
			return nil, err
		}
		if j.IO.StderrToStdout && j.IO.Stderr != "" {
			return nil, annotationErr(AnnotationStderrToStdout, v, "conflicts with "+AnnotationStderr)
		}
	}
	return j, nil
}

// isJudged says whether the annotations make a container judged: one of
// ours is present, and judge is not false. A pod's sandbox container never
// is.
func isJudged(a map[string]string) (bool, error) {
	if IsPodSandbox(a) {
		return false, nil
	}
	present := false
	for k := range a {
		if !strings.HasPrefix(k, AnnotationPrefix) {
			continue
		}
		if slices.Contains(judgeKeys, k) {
			present = true
		} else if k != AnnotationPrefix+"version" {
			// The spec forbids failing on unknown annotations; a typo in
			// ours should still be visible.
			logrus.Warnf("ignoring unknown annotation %s", k)
		}
	}
	v, ok := a[AnnotationJudge]
	if !present || !ok {
		return present, nil
	}
	on, err := parseBool(AnnotationJudge, v)
	if err != nil {
		return false, err
	}
	if !on && anyOtherJudgeKey(a) {
		return false, annotationErr(AnnotationJudge, v, "is false, but other judge annotations are set")
	}
	return on, nil
}

func anyOtherJudgeKey(a map[string]string) bool {
	for _, k := range judgeKeys {
		if _, ok := a[k]; ok && k != AnnotationJudge {
			return true
		}
	}
	return false
}

// Annotations writes the settings back as annotations, for bundles that
// profiles generate. Memory and Processes belong in the OCI resources.
func (j *Judge) Annotations() map[string]string {
	a := map[string]string{AnnotationJudge: "true"}
	l := &j.Limits
	for key, d := range map[string]Duration{AnnotationTime: l.Time, AnnotationExtraTime: l.ExtraTime, AnnotationWallTime: l.WallTime} {
		if d > 0 {
			a[key] = d.String()
		}
	}
	if l.Output > 0 {
		a[AnnotationOutputLimit] = strconv.FormatInt(int64(l.Output), 10)
	}
	if j.Meta != "" {
		a[AnnotationMeta] = j.Meta
	}
	if j.MetaFormat != "" && j.MetaFormat != meta.FormatIsolate {
		a[AnnotationMetaFormat] = j.MetaFormat
	}
	for k, v := range map[string]string{AnnotationStdin: j.IO.Stdin, AnnotationStdout: j.IO.Stdout, AnnotationStderr: j.IO.Stderr} {
		if v != "" {
			a[k] = v
		}
	}
	if j.IO.StderrToStdout {
		a[AnnotationStderrToStdout] = "true"
	}
	return a
}

// ValidateJudge checks what judge supervision needs from the rest of the
// spec: its own PID namespace (the init must be PID 1) and /proc (the init
// is started through /proc/self/exe).
func ValidateJudge(spec *specs.Spec) error {
	private := false
	if spec.Linux != nil {
		for _, ns := range spec.Linux.Namespaces {
			if ns.Type == specs.PIDNamespace && ns.Path == "" {
				private = true
			}
		}
	}
	if !private {
		return &specconv.FieldError{Field: "linux.namespaces", Msg: "judge supervision needs a new pid namespace"}
	}
	for _, m := range spec.Mounts {
		if filepath.Clean(m.Destination) == "/proc" && m.Type == "proc" {
			return nil
		}
	}
	return &specconv.FieldError{Field: "mounts", Msg: "judge supervision needs proc mounted at /proc"}
}

func annotationErr(key, val, want string) error {
	return &specconv.FieldError{Field: "annotations." + key, Msg: fmt.Sprintf("%q: %s", val, want)}
}

// parseSeconds reads a positive number of seconds ("1.5") or a Go duration
// ("1500ms"). An absent key is zero.
func parseSeconds(a map[string]string, key string) (time.Duration, error) {
	v, ok := a[key]
	if !ok {
		return 0, nil
	}
	const want = "want seconds such as 1.5 or a duration such as 1500ms, at most 24h"
	var d time.Duration
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > maxDuration.Seconds() {
			return 0, annotationErr(key, v, want)
		}
		// Rounded: 1.51713 * 1e9 is 1517129999.9999998 in floating point.
		d = time.Duration(math.Round(f * float64(time.Second)))
	} else if d, err = time.ParseDuration(v); err != nil || d < 0 || d > maxDuration {
		return 0, annotationErr(key, v, want)
	}
	if d == 0 && key != AnnotationExtraTime {
		return 0, annotationErr(key, v, "a limit of zero would kill every program; leave the key out for no limit")
	}
	return d, nil
}

func parseBool(key, v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, annotationErr(key, v, "want true or false")
	}
	return b, nil
}
