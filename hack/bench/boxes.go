package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mini-isolate/mini-isolate/box"
	"github.com/mini-isolate/mini-isolate/manager"
	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
)

// The box scenarios time isolate's command line (`--init`, `--run`,
// `--cleanup`) through mini-isolate's front end and, when one is given,
// through isolate itself:
//
//   - isolate-warm: `-b B -s --run -- /bin/true` in a box initialised once
//     before the rounds, beside a bare fork and exec of /bin/true on the
//     host, which is the floor the warm path can approach.
//   - isolate-cold: `--init`, `-s --run -- /bin/true` and `--cleanup` in
//     every round.
//
// mini-isolate's front end reads a configuration written into the bench's
// temporary directory, with its own box_root, lock_root and cg_parent and a
// state root (--root) of its own, so the bench never touches anyone else's
// boxes; isolate uses the configuration compiled into it, and the box
// -isolate-box.

// Scenario names of the box scenarios.
const (
	scenarioIsolateWarm = "isolate-warm"
	scenarioIsolateCold = "isolate-cold"
)

// labelBare is the host baseline of the warm scenario.
const labelBare = "bare fork+exec"

// boxProgram is what the box scenarios run.
const boxProgram = "/bin/true"

// boxFirstID is first_uid and first_gid of the bench's mini-isolate boxes:
// away from the default of mini-isolate and isolate (60000), the isolate
// front end's tests (61000) and the attack suite (64400), so that a box
// never runs as the uid of a box of something running beside the bench.
const boxFirstID = 62000

// -box-cg values.
const (
	boxCgAuto = "auto"
	boxCgOn   = "on"
	boxCgOff  = "off"
)

// boxFrontEnd is one implementation of isolate's command line.
type boxFrontEnd struct {
	socket string // the manager's, for a manager's front end
	label  string
	argv   []string // the command before isolate's options: [isolate] or [mini-isolate --root R isolate]
	env    []string // added to the environment, e.g. the configuration path
	box    int
	cg     bool
}

// command returns the argv running the front end on its box with args.
func (f *boxFrontEnd) command(args ...string) []string {
	argv := slices.Clone(f.argv)
	if f.cg {
		argv = append(argv, "--cg")
	}
	argv = append(argv, "-b", strconv.Itoa(f.box))
	return append(argv, args...)
}

// runCommand returns the argv of a silent run of prog in the box.
func (f *boxFrontEnd) runCommand(prog ...string) []string {
	return f.command(append([]string{"-s", "--run", "--"}, prog...)...)
}

// do runs the front end with args, untimed, and says why it failed.
func (f *boxFrontEnd) do(ctx context.Context, r *runner, args ...string) error {
	out := r.runEnv(ctx, f.command(args...), f.env)
	if out.err != nil {
		return fmt.Errorf("%s %s: %s", f.label, strings.Join(args, " "), out.describe())
	}
	return nil
}

// probe initialises the box, runs probeArgs in it with a report and checks
// that the program's exit status went through (isolate exits 1 for a
// program that failed, and the report has its exit code), then cleans the
// box up. /bin/true could not tell a front end that runs nothing.
func (f *boxFrontEnd) probe(ctx context.Context, r *runner, metaPath string) (err error) {
	_ = f.do(ctx, r, "--cleanup") // a box left over by an earlier bench
	if err := f.do(ctx, r, "--init"); err != nil {
		return err
	}
	defer func() {
		if cerr := f.do(context.WithoutCancel(ctx), r, "--cleanup"); cerr != nil && err == nil {
			err = cerr
		}
	}()
	defer os.Remove(metaPath)
	argv := f.command(append([]string{"-M", metaPath, "--run", "--"}, probeArgs...)...)
	out := r.runEnv(ctx, argv, f.env)
	if out.exit != 1 {
		how := "exit status 0"
		if out.err != nil {
			how = out.describe()
		}
		return fmt.Errorf("%s --run -- %s: %s, want exit status 1 (the program failed)", f.label, strings.Join(probeArgs, " "), how)
	}
	data, err := os.ReadFile(metaPath)
	if err != nil {
		return fmt.Errorf("%s --run: reading the report: %w", f.label, err)
	}
	m, err := parseMeta(data)
	if err != nil {
		return fmt.Errorf("%s --run: report: %w", f.label, err)
	}
	if want := strconv.Itoa(probeExit); m["exitcode"] != want {
		return fmt.Errorf("%s --run -- %s: report says exitcode %q, want %s", f.label, strings.Join(probeArgs, " "), m["exitcode"], want)
	}
	return nil
}

// boxConfig is the mini-isolate configuration of the bench's boxes, in
// dir, with box the highest box id used.
func boxConfig(dir, cgParent string, box int) string {
	return fmt.Sprintf(`# hack/bench's own boxes, removed when it ends.
box_root = %s
lock_root = %s
cg_parent = %s
first_uid = %d
first_gid = %d
num_boxes = %d
`, filepath.Join(dir, "boxes"), filepath.Join(dir, "locks"), cgParent, boxFirstID, boxFirstID, box+1)
}

// managerFront is the manager's front end: the C client with a
// configuration of its own that asks for spare boxes, under dir/managed.
// The client starts the manager on its first call; stopManager ends it.
func managerFront(cfg *config, dir, miPath, cgParent string, cg bool) (*boxFrontEnd, error) {
	client := cfg.client
	if client == "" {
		client = filepath.Join(filepath.Dir(miPath), "isolate")
		if _, err := os.Stat(client); err != nil {
			fmt.Printf("manager: not measured: no client at %s (make build makes it)\n", client)
			return nil, nil
		}
	}
	managed := filepath.Join(dir, "managed")
	if err := os.MkdirAll(managed, 0o700); err != nil {
		return nil, err
	}
	conf := boxConfig(managed, cgParent+"-m", cfg.isolateBox+1) +
		fmt.Sprintf("spare_boxes = %d\nmanager_idle = 600\n", cfg.spares)
	for _, line := range strings.Split(cfg.managerConf, ";") {
		if line = strings.TrimSpace(line); line != "" {
			conf += line + "\n"
		}
	}
	parsed, err := box.ParseConfig(strings.NewReader(conf))
	if err != nil {
		return nil, fmt.Errorf("-manager-conf: %w", err)
	}
	path := filepath.Join(managed, "isolate.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return &boxFrontEnd{label: labelManager, argv: []string{client}, env: []string{"MINI_ISOLATE_CONFIG=" + path},
		box: cfg.isolateBox, cg: cg, socket: parsed.Socket()}, nil
}

// stopManager ends the manager a front end started, and waits until it
// has torn its spares down: removing the bench's directories under it
// would leave their containers running.
func stopManager(f *boxFrontEnd) {
	if f == nil || f.socket == "" {
		return
	}
	// One that no longer listens (idle, or stopping) may still be
	// tearing down: it holds <socket>.lock until it exits.
	if c, err := manager.Dial(f.socket); err == nil {
		_, _ = c.Do(&manager.Request{Op: "shutdown"})
		c.Close()
	}
	lock, err := os.Open(f.socket + ".lock")
	if err != nil {
		return
	}
	defer lock.Close()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if err := hostfile.Lock(lock, false); !errors.Is(err, hostfile.ErrLocked) {
			return
		}
	}
	fmt.Fprintf(os.Stderr, "bench: the manager at %s has not exited after 2 minutes\n", f.socket)
}

// boxMode decides whether the box scenarios pass --cg. flag is -box-cg;
// measured says whether isolate is measured and isolateCg whether it could
// initialise a --cg box here (isolate 2.x's --cg needs cgroup v2; 1.x's
// works on v1). Both front ends use the same mode, so isolate is left out
// (withIsolate false) when the mode is forced to one it cannot use. why
// says which mode and why.
func boxMode(flag string, measured, isolateCg bool) (cg, withIsolate bool, why string) {
	switch {
	case flag == boxCgOff:
		return false, measured, "without --cg (-box-cg off)"
	case flag == boxCgOn && measured && !isolateCg:
		return true, false, "--cg (-box-cg on); isolate left out: it cannot initialise a --cg box here"
	case flag == boxCgOn:
		return true, measured, "--cg (-box-cg on)"
	case !measured:
		return true, false, "--cg (isolate not measured; -box-cg off for the other mode)"
	case isolateCg:
		return true, true, "--cg for both (isolate initialises a --cg box here)"
	default:
		return false, true, "without --cg for both (isolate cannot initialise a --cg box here)"
	}
}

// boxSetup is what the box scenarios run with.
type boxSetup struct {
	scenarios []*scenario
	mode      string // which --cg mode and why, for the tables
	// isolate says whether isolate is among the subjects.
	isolate bool
	// manager is mini-isolate's front end through the manager (the C
	// client), nil when there is no client.
	manager      *boxFrontEnd
	isolateFront *boxFrontEnd
}

// setupBoxes writes mini-isolate's box configuration under dir, decides
// the --cg mode, probes each front end in it and builds the box scenarios
// (warm and cold as selected). iso is isolate as findIsolate found it, nil
// when it is not measured.
func setupBoxes(ctx context.Context, cfg *config, r *runner, dir, miPath, stateRoot, cgParent string, iso *isolateSandbox) (*boxSetup, error) {
	if _, err := resolveExecutable(boxProgram); err != nil {
		return nil, fmt.Errorf("the box scenarios run %s: %w", boxProgram, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating box directory: %w", err)
	}
	confPath := filepath.Join(dir, "isolate.conf")
	if err := os.WriteFile(confPath, []byte(boxConfig(dir, cgParent, cfg.isolateBox)), 0o644); err != nil {
		return nil, fmt.Errorf("writing mini-isolate's box configuration: %w", err)
	}
	cg, withIsolate, why := boxMode(cfg.boxCg, iso != nil, iso != nil && iso.cg)
	st := &boxSetup{mode: why, isolate: withIsolate}
	fronts := []*boxFrontEnd{{
		label: labelMI,
		argv:  []string{miPath, "--root", stateRoot, "isolate"},
		env:   []string{"MINI_ISOLATE_CONFIG=" + confPath},
		box:   cfg.isolateBox,
		cg:    cg,
	}}
	mgr, err := managerFront(cfg, dir, miPath, cgParent, cg)
	if err != nil {
		return nil, err
	}
	if mgr != nil {
		fronts = append(fronts, mgr)
		st.manager = mgr
	}
	if withIsolate {
		st.isolateFront = &boxFrontEnd{label: labelIsolate, argv: []string{iso.path}, box: cfg.isolateBox, cg: cg}
		fronts = append(fronts, st.isolateFront)
	}
	for _, f := range fronts {
		if err := f.probe(ctx, r, filepath.Join(dir, "probe.meta")); err != nil {
			return nil, fmt.Errorf("probing isolate's command line (%s): %w", why, err)
		}
	}
	removeCgroups(cgParent)
	b := &boxScenarios{cfg: cfg, fronts: fronts, cgParent: cgParent, st: st}
	if cg {
		b.cgFlag = " --cg"
	}
	if cfg.scenarios[scenarioIsolateWarm] {
		st.scenarios = append(st.scenarios, b.warm())
	}
	if cfg.scenarios[scenarioIsolateCold] {
		st.scenarios = append(st.scenarios, b.cold())
	}
	return st, nil
}

// boxScenarios makes the box scenarios of the front ends.
type boxScenarios struct {
	cfg      *config
	fronts   []*boxFrontEnd
	cgParent string
	cgFlag   string
	st       *boxSetup
}

// subjects are the front ends as a scenario's subjects.
func (b *boxScenarios) subjects() (map[*subject]*boxFrontEnd, []*subject) {
	byS := map[*subject]*boxFrontEnd{}
	var list []*subject
	for _, f := range b.fronts {
		s := &subject{label: f.label, path: f.argv[0], env: f.env}
		byS[s] = f
		list = append(list, s)
	}
	return byS, list
}

// warm runs a program in a box initialised once. The ratio column divides
// by isolate when it is measured, else by the bare fork and exec.
func (b *boxScenarios) warm() *scenario {
	byS, list := b.subjects()
	bare := &subject{label: labelBare, path: boxProgram}
	baseline := labelBare
	if b.st.isolate {
		baseline = labelIsolate
	}
	sc := &scenario{
		name: scenarioIsolateWarm,
		title: fmt.Sprintf("<front end> -b %d%s -s --run -- %s in a box initialised once; %s: os/exec of %s on the host",
			b.cfg.isolateBox, b.cgFlag, boxProgram, labelBare, boxProgram),
		baseline: baseline,
		subjects: append([]*subject{bare}, list...),
		command: func(s *subject, _ string) []string {
			if f := byS[s]; f != nil {
				return f.runCommand(boxProgram)
			}
			return []string{s.path}
		},
		start: func(ctx context.Context, r *runner) error {
			for _, f := range b.fronts {
				_ = f.do(ctx, r, "--cleanup")
				if err := f.do(ctx, r, "--init"); err != nil {
					return err
				}
			}
			return nil
		},
		finish: func(ctx context.Context, r *runner) {
			for _, f := range b.fronts {
				if err := f.do(ctx, r, "--cleanup"); err != nil {
					fmt.Fprintf(os.Stderr, "bench: %s: %v\n", scenarioIsolateWarm, err)
				}
			}
			removeCgroups(b.cgParent)
		},
	}
	sc.print = func(w io.Writer, res *result, warmup int) error {
		if err := printTable(w, res, warmup); err != nil {
			return err
		}
		fmt.Fprintf(w, "mode: %s\n", b.st.mode)
		fmt.Fprintln(w, warmOverhead(res, b.st.isolate))
		return nil
	}
	return sc
}

// cold times --init, --run and --cleanup together.
func (b *boxScenarios) cold() *scenario {
	byS, list := b.subjects()
	baseline := ""
	if b.st.isolate {
		baseline = labelIsolate
	}
	sc := &scenario{
		name: scenarioIsolateCold,
		title: fmt.Sprintf("<front end> -b %d%s --init, then -s --run -- %s, then --cleanup, timed together",
			b.cfg.isolateBox, b.cgFlag, boxProgram),
		baseline: baseline,
		subjects: list,
		steps: func(s *subject, _ string) [][]string {
			f := byS[s]
			return [][]string{f.command("--init"), f.runCommand(boxProgram), f.command("--cleanup")}
		},
		cleanup: func(ctx context.Context, r *runner, s *subject, _ string) {
			if err := byS[s].do(context.WithoutCancel(ctx), r, "--cleanup"); err != nil {
				fmt.Fprintf(os.Stderr, "bench: %s: %v\n", scenarioIsolateCold, err)
			}
		},
		start: func(ctx context.Context, r *runner) error {
			for _, f := range b.fronts {
				_ = f.do(ctx, r, "--cleanup")
			}
			return nil
		},
		finish: func(context.Context, *runner) { removeCgroups(b.cgParent) },
	}
	sc.print = func(w io.Writer, res *result, warmup int) error {
		if err := printTable(w, res, warmup); err != nil {
			return err
		}
		fmt.Fprintf(w, "mode: %s\n", b.st.mode)
		return nil
	}
	return sc
}

// boxMedians are the medians a box scenario's final line compares, in ms;
// NaN for a subject without a successful run.
type boxMedians struct {
	mi, manager, isolate, bare float64
	// isolateMeasured and bareMeasured say whether isolate and the bare
	// fork and exec were subjects at all.
	isolateMeasured, bareMeasured bool
	failed                        int // failed runs left out
}

// medianOr returns the median of xs, or NaN when it has none.
func medianOr(xs []float64) float64 {
	m, err := median(xs)
	if err != nil {
		return math.NaN()
	}
	return m
}

// boxResultMedians collects the medians of res.
func boxResultMedians(res *result, isolateMeasured bool) boxMedians {
	b := boxMedians{
		mi:              medianOr(res.ms[labelMI]),
		manager:         medianOr(res.ms[labelManager]),
		isolate:         medianOr(res.ms[labelIsolate]),
		bare:            medianOr(res.ms[labelBare]),
		isolateMeasured: isolateMeasured,
	}
	for _, s := range res.sc.subjects {
		b.bareMeasured = b.bareMeasured || s.label == labelBare
		b.failed += res.failures[s.label]
	}
	return b
}

// fmtMs formats a median in ms, or n/a.
func fmtMs(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f ms", x)
}

// fmtRatio formats a/b, or n/a when either is missing or b is not positive.
func fmtRatio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// headline is the final line of a box scenario; what names it.
func (b boxMedians) headline(what string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "bench: %s: mini-isolate %s", what, fmtMs(b.mi))
	if !math.IsNaN(b.manager) && b.manager > 0 {
		fmt.Fprintf(&sb, ", mini-isolate manager %s", fmtMs(b.manager))
	}
	if b.isolateMeasured {
		fmt.Fprintf(&sb, ", isolate %s, ratio %s", fmtMs(b.isolate), fmtRatio(b.mi, b.isolate))
		if !math.IsNaN(b.manager) && b.manager > 0 {
			fmt.Fprintf(&sb, " (manager %s)", fmtRatio(b.manager, b.isolate))
		}
	} else {
		sb.WriteString(", isolate not measured")
	}
	if b.bareMeasured {
		fmt.Fprintf(&sb, "; bare fork+exec %s, mini-isolate/bare %s", fmtMs(b.bare), fmtRatio(b.mi, b.bare))
		if b.isolateMeasured {
			fmt.Fprintf(&sb, ", isolate/bare %s", fmtRatio(b.isolate, b.bare))
		}
	}
	if b.failed > 0 {
		fmt.Fprintf(&sb, "; %d failed runs left out", b.failed)
	}
	return sb.String()
}

// warmOverhead says how much each front end's warm run adds to a bare fork
// and exec of the same program.
func warmOverhead(res *result, isolateMeasured bool) string {
	b := boxResultMedians(res, isolateMeasured)
	part := func(label string, x float64) string {
		if math.IsNaN(x) || math.IsNaN(b.bare) {
			return label + " n/a"
		}
		return fmt.Sprintf("%s %+.2f ms (x%s)", label, x-b.bare, fmtRatio(x, b.bare))
	}
	line := "over a bare fork+exec (median): " + part(labelMI, b.mi)
	if isolateMeasured {
		line += ", " + part(labelIsolate, b.isolate)
	}
	return line
}
