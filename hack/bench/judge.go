package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Judged scenarios run test programs under `mini-isolate run --meta` (and,
// for comparison, isolate or directly on the host) and record what the
// report says rather than how long the command took.

// annotationPrefix starts every judge annotation (docs/annotations.md).
const annotationPrefix = "io.github.mini-isolate."

// limitKind is the limit a task sets, spelt as the report's limit key
// spells it.
type limitKind string

const (
	limitCPU  limitKind = "time"
	limitWall limitKind = "wall-time"
)

// short is the name of k in labels and tables.
func (k limitKind) short() string {
	if k == limitWall {
		return "wall"
	}
	return "cpu"
}

// timeoutMessage is the report's message for a kill at each limit, in
// isolate's wording; isolate's reports have no limit key, so this is what
// tells its two TO verdicts apart.
var timeoutMessage = map[limitKind]string{
	limitCPU:  "Time limit exceeded",
	limitWall: "Time limit exceeded (wall clock)",
}

// task is what a judged subject runs: a program of the judge rootfs under
// one limit.
type task struct {
	prog  string   // file name of the program in the judge rootfs
	args  []string // its arguments
	kind  limitKind
	limit time.Duration
	// killed: the run must end in a kill at the limit (verdict TO) and its
	// value is the overshoot past the limit. Otherwise it must exit 0 within
	// the limit and its value is its CPU time.
	killed bool
	bundle string // mini-isolate's bundle for the task
}

// sandbox runs tasks and says what CPU and wall time a run took.
type sandbox interface {
	// prepare readies one run outside the timed window.
	prepare(ctx context.Context, r *runner, t *task, id string) error
	// argv is the run's command line; a report, if any, goes to meta.
	argv(t *task, id, meta string) []string
	// times checks the run's verdict against t and returns its CPU and
	// wall time as the sandbox reports them.
	times(t *task, meta string, out runResult) (cpu, wall time.Duration, err error)
	// release undoes prepare; it is called after every run.
	release(ctx context.Context, r *runner, id string)
}

// miSandbox runs tasks with `mini-isolate run --meta`.
type miSandbox struct{ s *subject }

func (miSandbox) prepare(context.Context, *runner, *task, string) error { return nil }

func (m miSandbox) argv(t *task, id, meta string) []string {
	return m.s.runtimeArgv("run", "--meta", meta, "--bundle", t.bundle, id)
}

func (miSandbox) times(t *task, meta string, out runResult) (time.Duration, time.Duration, error) {
	return metaTimes(t, meta, out)
}

func (miSandbox) release(context.Context, *runner, string) {}

// hostSandbox runs tasks directly on the host, outside any sandbox, and
// takes the CPU time from the child's rusage. It cannot enforce limits.
type hostSandbox struct{ dir string }

func (hostSandbox) prepare(context.Context, *runner, *task, string) error { return nil }

func (h hostSandbox) argv(t *task, _, _ string) []string {
	return append([]string{filepath.Join(h.dir, t.prog)}, t.args...)
}

func (hostSandbox) times(t *task, _ string, out runResult) (time.Duration, time.Duration, error) {
	if t.killed {
		return 0, 0, errors.New("the host enforces no limits")
	}
	if out.err != nil {
		return 0, 0, errors.New(out.describe())
	}
	return out.cpu, out.elapsed, nil
}

func (hostSandbox) release(context.Context, *runner, string) {}

// metaTimes reads the report of a run written in isolate's meta format,
// checks its verdict and returns the reported CPU and wall time.
func metaTimes(t *task, meta string, out runResult) (cpu, wall time.Duration, err error) {
	if out.exit < 0 {
		// Timed out, interrupted or signalled: any report is not the run's.
		return 0, 0, fmt.Errorf("no verdict: %s", out.describe())
	}
	data, err := os.ReadFile(meta)
	if err != nil {
		how := "exit status 0"
		if out.err != nil {
			how = out.describe()
		}
		return 0, 0, fmt.Errorf("reading the report: %w (run: %s)", err, how)
	}
	m, err := parseMeta(data)
	if err != nil {
		return 0, 0, fmt.Errorf("report %s: %w", meta, err)
	}
	if err := checkVerdict(m, t); err != nil {
		return 0, 0, fmt.Errorf("wrong verdict: %w; report: %s", err, strings.Join(strings.Fields(string(data)), " "))
	}
	return reportedTimes(m)
}

// parseMeta parses a report in isolate's key:value format.
func parseMeta(data []byte) (map[string]string, error) {
	m := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || k == "" {
			return nil, fmt.Errorf("line %d %q is not key:value", i+1, line)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("line %d: key %s appears twice", i+1, k)
		}
		m[k] = v
	}
	if len(m) == 0 {
		return nil, errors.New("empty report")
	}
	return m, nil
}

// checkVerdict says how the report m differs from the verdict t expects:
// TO at t's limit with killed:1, or a clean exit 0.
func checkVerdict(m map[string]string, t *task) error {
	if !t.killed {
		if st, ok := m["status"]; ok && st != "OK" {
			return fmt.Errorf("%s, want a clean exit", statusText(m))
		}
		if m["exitcode"] != "0" {
			return fmt.Errorf("exitcode %q, want 0", m["exitcode"])
		}
		if k, ok := m["killed"]; ok {
			return fmt.Errorf("killed:%s, want no kill", k)
		}
		return nil
	}
	if m["status"] != "TO" {
		return fmt.Errorf("%s, want TO for the %s limit", statusText(m), t.kind)
	}
	if lim, ok := m["limit"]; ok {
		if lim != string(t.kind) {
			return fmt.Errorf("limit %q, want %q", lim, t.kind)
		}
	} else if want := timeoutMessage[t.kind]; m["message"] != want {
		return fmt.Errorf("message %q and no limit key, want %q", m["message"], want)
	}
	if m["killed"] != "1" {
		return fmt.Errorf("killed %q, want 1", m["killed"])
	}
	return nil
}

// statusText describes the verdict of report m: its status and message.
func statusText(m map[string]string) string {
	st, ok := m["status"]
	if !ok {
		st = "none (OK)"
	} else {
		st = strconv.Quote(st)
	}
	if msg := m["message"]; msg != "" {
		return fmt.Sprintf("status %s (%s)", st, msg)
	}
	return "status " + st
}

// reportedTimes returns the CPU and wall time of a report, from the -us
// keys mini-isolate writes or else from isolate's seconds.
func reportedTimes(m map[string]string) (cpu, wall time.Duration, err error) {
	if cpu, err = metaDuration(m, "time"); err != nil {
		return 0, 0, err
	}
	if wall, err = metaDuration(m, "time-wall"); err != nil {
		return 0, 0, err
	}
	return cpu, wall, nil
}

// metaDuration reads key+"-us" (microseconds) or else key (seconds).
func metaDuration(m map[string]string, key string) (time.Duration, error) {
	if v, ok := m[key+"-us"]; ok {
		us, err := strconv.ParseInt(v, 10, 64)
		if err != nil || us < 0 {
			return 0, fmt.Errorf("report key %s-us: %q is not a count of microseconds", key, v)
		}
		return time.Duration(us) * time.Microsecond, nil
	}
	v, ok := m[key]
	if !ok {
		return 0, fmt.Errorf("report has neither %s-us nor %s", key, key)
	}
	s, err := strconv.ParseFloat(v, 64)
	if err != nil || s < 0 || math.IsInf(s, 0) || math.IsNaN(s) {
		return 0, fmt.Errorf("report key %s: %q is not a number of seconds", key, v)
	}
	return time.Duration(math.Round(s*1e6)) * time.Microsecond, nil
}

// measurement is the value recorded for a run of t that took cpu and wall:
// the overshoot past the limit of a killed run, or the CPU time, in ms. A
// kill before the limit is an error.
func measurement(t *task, cpu, wall time.Duration) (float64, error) {
	if !t.killed {
		return ms(cpu), nil
	}
	got := cpu
	if t.kind == limitWall {
		got = wall
	}
	if over := got - t.limit; over >= 0 {
		return ms(over), nil
	}
	return math.NaN(), fmt.Errorf("killed at %v, before the %s limit of %v", got, t.kind, t.limit)
}

// ms converts d to milliseconds.
func ms(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}

// seconds formats d for an annotation or isolate's command line.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// judgedCase is what one subject of a judged scenario runs, and where.
type judgedCase struct {
	sb sandbox
	t  *task
}

// judged builds scenarios whose subjects are sandboxes running tasks.
type judged struct {
	metaDir string
	cases   map[*subject]judgedCase
}

// add returns a new subject labelled label that runs t in sb.
func (j *judged) add(label string, sb sandbox, t *task) *subject {
	s := &subject{label: label}
	if m, ok := sb.(miSandbox); ok {
		// The state root, so that cleanup can delete a container left behind.
		s.path, s.root = m.s.path, m.s.root
	}
	j.cases[s] = judgedCase{sb: sb, t: t}
	return s
}

// metaPath is where the run id writes its report.
func (j *judged) metaPath(id string) string {
	return filepath.Join(j.metaDir, id+".meta")
}

// scenario returns a scenario running subjects, which add returned.
func (j *judged) scenario(name, title, baseline string, rounds int, subjects []*subject) *scenario {
	return &scenario{
		name:     name,
		title:    title,
		baseline: baseline,
		subjects: subjects,
		rounds:   rounds,
		command: func(s *subject, id string) []string {
			c := j.cases[s]
			return c.sb.argv(c.t, id, j.metaPath(id))
		},
		cleanup: deleteContainer,
		before: func(ctx context.Context, r *runner, s *subject, id string) error {
			c := j.cases[s]
			return c.sb.prepare(ctx, r, c.t, id)
		},
		after: func(ctx context.Context, r *runner, s *subject, id string) {
			j.cases[s].sb.release(ctx, r, id)
			if err := os.Remove(j.metaPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(os.Stderr, "bench: removing report: %v\n", err)
			}
		},
		measure: func(s *subject, id string, out runResult) (float64, error) {
			c := j.cases[s]
			cpu, wall, err := c.sb.times(c.t, j.metaPath(id), out)
			if err != nil {
				return math.NaN(), err
			}
			return measurement(c.t, cpu, wall)
		},
	}
}

// judgeEnv is what the precision and accuracy scenarios share: the test
// programs in a rootfs of their own, and the sandboxes that run them.
type judgeEnv struct {
	dir     string // bundles and reports go here
	rootfs  string // the programs, at /<name>, and mount points
	mi      *subject
	isolate *isolateSandbox // nil when isolate is not measured
	// isolateStatus says which isolate is measured, or why none is.
	isolateStatus string
}

// judgePrograms are the test programs the judged scenarios run.
var judgePrograms = []string{"spin", "sleeper", "burn"}

// setupJudge compiles the test programs from progsDir into a rootfs under
// dir with cc.
func setupJudge(ctx context.Context, dir, progsDir, cc string, mi *subject) (*judgeEnv, error) {
	env := &judgeEnv{dir: dir, rootfs: filepath.Join(dir, "rootfs"), mi: mi}
	for _, d := range []string{"proc", "dev", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(env.rootfs, d), 0o755); err != nil {
			return nil, fmt.Errorf("creating judge rootfs: %w", err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "meta"), 0o700); err != nil {
		return nil, fmt.Errorf("creating report directory: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for _, p := range judgePrograms {
		src := filepath.Join(progsDir, p+".c")
		if err := runQuiet(ctx, dir, cc, "-O2", "-static", "-o", filepath.Join(env.rootfs, p), src); err != nil {
			return nil, fmt.Errorf("compiling test program %s: %w", p, err)
		}
	}
	return env, nil
}

// findProgs returns the directory of the test programs' C sources: dir if
// set, else internal/testutil/progs of the repository, looked for from the
// working directory and from the runtime binary's directory (bin/).
func findProgs(dir, runtimePath string) (string, error) {
	candidates := []string{dir}
	if dir == "" {
		rel := filepath.Join("internal", "testutil", "progs")
		candidates = []string{rel, filepath.Join(filepath.Dir(runtimePath), "..", rel)}
	}
	for _, c := range candidates {
		if _, err := os.Stat(filepath.Join(c, judgePrograms[0]+".c")); err == nil {
			return filepath.Abs(c)
		}
	}
	return "", fmt.Errorf("test program sources (%s.c) not found in %s; pass -progs DIR",
		strings.Join(judgePrograms, ".c, "), strings.Join(candidates, " or "))
}

// bundle writes a bundle named name running t's program under its limit
// and sets t.bundle.
func (env *judgeEnv) bundle(name string, t *task) error {
	spec := benchSpec(env.rootfs, append([]string{"/" + t.prog}, t.args...))
	spec.Annotations = map[string]string{annotationPrefix + string(t.kind): seconds(t.limit)}
	t.bundle = filepath.Join(env.dir, name)
	return writeSpec(t.bundle, spec)
}

// newJudged returns an empty judged whose reports go under env.dir.
func (env *judgeEnv) newJudged() *judged {
	return &judged{metaDir: filepath.Join(env.dir, "meta"), cases: map[*subject]judgedCase{}}
}

// Labels of the judged scenarios' subjects, also the runtime column of the
// CSV. The precision scenario's are precisionLabel(labelMI or labelIsolate,
// kind).
const (
	labelMI         = "mini-isolate"
	labelManager    = "mini-isolate manager"
	labelIsolate    = "isolate"
	labelHostRusage = "host rusage"
	labelMITimeUs   = "mini-isolate time-us"
)

const (
	// precisionLimit is the CPU and the wall limit of the precision scenario.
	precisionLimit = 500 * time.Millisecond
	// accuracyBurn is the CPU time the accuracy scenario's program burns.
	accuracyBurn = 200 * time.Millisecond
	// accuracyLimit is the CPU limit of its judged runs, a safety net far
	// above accuracyBurn.
	accuracyLimit = 2 * time.Second
)

func precisionLabel(sandbox string, k limitKind) string {
	return sandbox + " " + k.short()
}

// precisionKinds are the limits the precision scenario measures, in table order.
var precisionKinds = []limitKind{limitCPU, limitWall}

// precisionScenario kills a spinner at a 0.5 s CPU limit and a sleeper at a
// 0.5 s wall limit, with mini-isolate and, if available, isolate.
func (env *judgeEnv) precisionScenario(rounds int) (*scenario, error) {
	j := env.newJudged()
	tasks := map[limitKind]*task{
		limitCPU:  {prog: "spin", kind: limitCPU, limit: precisionLimit, killed: true},
		limitWall: {prog: "sleeper", kind: limitWall, limit: precisionLimit, killed: true},
	}
	var subjects []*subject
	for _, k := range precisionKinds {
		if err := env.bundle("precision-"+k.short(), tasks[k]); err != nil {
			return nil, err
		}
		subjects = append(subjects, j.add(precisionLabel(labelMI, k), miSandbox{env.mi}, tasks[k]))
	}
	if env.isolate != nil {
		for _, k := range precisionKinds {
			subjects = append(subjects, j.add(precisionLabel(labelIsolate, k), env.isolate, tasks[k]))
		}
	}
	title := fmt.Sprintf("kill overshoot = reported time - limit: spin under a %s s CPU limit (time-us), sleeper under a %s s wall limit (time-wall-us)",
		seconds(precisionLimit), seconds(precisionLimit))
	sc := j.scenario("precision", title, "", rounds, subjects)
	sc.print = func(w io.Writer, res *result, warmup int) error {
		return printPrecision(w, res, warmup, env.isolate != nil, env.isolateStatus)
	}
	return sc, nil
}

// accuracyScenario runs burn 200 on the host and under mini-isolate,
// interleaved, recording the CPU time of each run.
func (env *judgeEnv) accuracyScenario(rounds int) (*scenario, error) {
	j := env.newJudged()
	t := &task{
		prog:  "burn",
		args:  []string{strconv.FormatInt(accuracyBurn.Milliseconds(), 10)},
		kind:  limitCPU,
		limit: accuracyLimit,
	}
	if err := env.bundle("accuracy", t); err != nil {
		return nil, err
	}
	subjects := []*subject{
		j.add(labelHostRusage, hostSandbox{env.rootfs}, t),
		j.add(labelMITimeUs, miSandbox{env.mi}, t),
	}
	title := fmt.Sprintf("CPU time of burn %s: host rusage (wait4 utime+stime, no sandbox) vs mini-isolate run --meta time-us (under a %s s CPU limit)",
		t.args[0], seconds(accuracyLimit))
	sc := j.scenario("accuracy", title, labelHostRusage, rounds, subjects)
	sc.print = printAccuracy
	return sc, nil
}
