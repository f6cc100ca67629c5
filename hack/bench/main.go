// Command bench measures mini-isolate against other sandboxes. Scenarios
// (-scenarios, all by default, run in this order):
//
//   - startup: the cost of starting a sandboxed /bin/true with
//     `<runtime> run` for mini-isolate, runc and crun on one shared bundle.
//   - precision: how far the kill overshoots a limit: a spinner under a
//     0.5 s CPU limit and a sleeper under a 0.5 s wall limit, through
//     `mini-isolate run --meta`, and through isolate if it is installed.
//     The overshoot is the reported time minus the limit.
//   - accuracy: the CPU time mini-isolate reports for a program that burns
//     200 ms of CPU against the same program's rusage on the host.
//   - isolate-warm: /bin/true through `mini-isolate isolate -b B -s --run`
//     in a box initialised once (the warm path: a connect, a fork and an
//     exec), against a bare fork and exec of /bin/true on the host, and
//     through isolate if it is given.
//   - isolate-cold: --init, --run of /bin/true and --cleanup per round,
//     through mini-isolate's front end and isolate if it is given.
//
// isolate is the binary named by -isolate (or -isolate-bin), by default
// $ISOLATE or else isolate from PATH when it is installed; one named
// explicitly must work. The box scenarios use --cg on both sides when
// isolate can initialise a --cg box here (isolate 2.x's --cg needs cgroup
// v2, 1.x's works on v1), else neither does (-box-cg overrides this), and
// they say which. mini-isolate's boxes there live in the bench's temporary
// directory under a configuration of their own (see boxes.go).
//
// Within a scenario the subjects run interleaved: every round runs each
// once, so drift on the host (page cache, CPU frequency, other load) is
// spread over all of them, in an order that has each subject follow each
// one about equally often. Each run has its own container id and each
// runtime its own temporary --root. Every run goes to one CSV with the
// columns scenario,runtime,round,ms,exit, where warm-up rounds have round
// <= 0 and ms is the scenario's measurement: the elapsed time of the
// command (startup, isolate-warm) or of its three commands together
// (isolate-cold), the kill overshoot (precision) or the CPU time of the
// program (accuracy); it is empty for a run that gave no measurement, such
// as a wrong verdict. exit is the command's exit status (137 for a judged
// run whose program was killed; for isolate-cold, the last command's).
//
// It must run as root, from the repository (the judged scenarios compile
// the test programs in internal/testutil/progs with gcc -static):
//
//	go run ./hack/bench -runtime bin/mini-isolate [-n 50] [-warmup 3] [-scenarios startup,precision,accuracy,isolate-warm,isolate-cold] [-isolate /path/to/isolate]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// Scenario names for -scenarios, in the order they run.
const (
	scenarioStartup   = "startup"
	scenarioPrecision = "precision"
	scenarioAccuracy  = "accuracy"
)

var allScenarios = []string{scenarioStartup, scenarioPrecision, scenarioAccuracy, scenarioIsolateWarm, scenarioIsolateCold,
	scenarioAPI, scenarioThroughput, scenarioSupervision, scenarioInteract}

// Throughput windows: their number per front end and their length.
const (
	throughputWindows = 3
	throughputWindow  = 5 * time.Second
	supervisionRounds = 5
)

// config is the parsed command line.
type config struct {
	runtime       string
	runc          string
	crun          string
	scenarios     map[string]bool
	rounds        int
	precisionRuns int
	accuracyRuns  int
	apiRuns       int
	warmup        int
	timeout       time.Duration
	csvPath       string
	busybox       string
	progs         string
	cc            string
	isolate       string
	isolateSet    bool // -isolate, -isolate-bin or $ISOLATE named it
	isolateBox    int
	boxCg         string
	client        string // the C isolate client, for the manager subjects
	spares        int    // spare_boxes of the manager subjects' configuration
	managerConf   string // more lines of that configuration, ';'-separated
	goals         bool   // check the performance goals and fail when one is missed
	plot          string // the plot's path
	order         string
	maxFailures   int
	keep          bool
}

// parseFlags parses the command line; getenv reads the environment
// ($ISOLATE).
func parseFlags(args []string, getenv func(string) string) (*config, error) {
	c := &config{}
	var scenarios string
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&c.runtime, "runtime", "", "mini-isolate binary under test (required)")
	fs.StringVar(&scenarios, "scenarios", strings.Join(allScenarios, ","), "comma-separated scenarios to run: "+strings.Join(allScenarios, ", "))
	fs.StringVar(&c.runc, "runc", "runc", "runc binary, the startup baseline; empty disables it")
	fs.StringVar(&c.crun, "crun", "crun", "crun binary; empty disables it")
	fs.IntVar(&c.rounds, "n", 50, "measured rounds of the startup, isolate-warm and isolate-cold scenarios")
	fs.IntVar(&c.precisionRuns, "precision-n", 20, "measured rounds of the precision scenario (each kills at the CPU and at the wall limit)")
	fs.IntVar(&c.accuracyRuns, "accuracy-n", 20, "measured rounds of the accuracy scenario (each runs on the host and in mini-isolate)")
	fs.IntVar(&c.apiRuns, "api-n", 500, "measured rounds of the api scenario (each a bare fork+exec, an API run and a ping, about 3 ms)")
	fs.IntVar(&c.warmup, "warmup", 3, "warm-up rounds of every scenario, run and discarded before measuring")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "time limit for each run")
	fs.StringVar(&c.csvPath, "csv", "", "CSV of every run (default bench-results/bench-<UTC time>.csv)")
	fs.StringVar(&c.busybox, "busybox", "/bin/busybox", "static busybox for the startup rootfs; fetched with apt-get download if missing")
	fs.StringVar(&c.progs, "progs", "", "directory of the test programs' C sources (default internal/testutil/progs, from the working directory or next to -runtime's directory)")
	fs.StringVar(&c.cc, "cc", "gcc", "C compiler for the test programs, linked with -static")
	isolateDefault := "isolate"
	if env := getenv("ISOLATE"); env != "" {
		isolateDefault, c.isolateSet = env, true
	}
	isolateUsage := "isolate binary measured beside mini-isolate in the precision and isolate-* scenarios (default $ISOLATE, else isolate from PATH if it works); empty disables it"
	fs.StringVar(&c.isolate, "isolate", isolateDefault, isolateUsage)
	fs.StringVar(&c.isolate, "isolate-bin", isolateDefault, "the same as -isolate")
	fs.IntVar(&c.isolateBox, "isolate-box", 90, "box id the precision and isolate-* scenarios use (and clean up) with isolate, and the isolate-* ones with mini-isolate's private boxes")
	fs.StringVar(&c.boxCg, "box-cg", boxCgAuto, "--cg in the isolate-* scenarios: auto (as isolate supports it here; on without isolate), on or off")
	fs.StringVar(&c.client, "client", "", "the isolate client (cmd/isolate) for the manager subjects; default: isolate beside -runtime; empty or missing: no manager subjects")
	fs.IntVar(&c.spares, "spares", 2, "spare_boxes of the manager subjects' configuration")
	fs.StringVar(&c.managerConf, "manager-conf", "", "more lines of the manager subjects' configuration, separated by ';', e.g. \"manager_cpu = none\"")
	fs.BoolVar(&c.goals, "goals", true, "check the performance goals (docs/performance.md) and exit 1 when one is missed")
	fs.StringVar(&c.plot, "plot", "", "plot of the latency distributions (default: the CSV's path with .png)")
	fs.StringVar(&c.order, "order", orderBalanced, "run order within rounds: balanced (every runtime follows every runtime equally often) or rotate")
	fs.IntVar(&c.maxFailures, "max-failures", 3, "failed runs after which a runtime is dropped; 0 never drops")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary bundle and state roots")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "isolate" || f.Name == "isolate-bin" {
			c.isolateSet = c.isolate != ""
		}
	})
	var err error
	if c.scenarios, err = parseScenarios(scenarios); err != nil {
		return nil, fmt.Errorf("-scenarios: %w", err)
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	case c.runtime == "":
		return nil, errors.New("-runtime is required")
	case c.rounds < 1:
		return nil, fmt.Errorf("-n %d: need at least one round", c.rounds)
	case c.precisionRuns < 1:
		return nil, fmt.Errorf("-precision-n %d: need at least one round", c.precisionRuns)
	case c.apiRuns < 1:
		return nil, fmt.Errorf("-api-n %d: need at least one round", c.apiRuns)
	case c.accuracyRuns < 1:
		return nil, fmt.Errorf("-accuracy-n %d: need at least one round", c.accuracyRuns)
	case c.warmup < 0:
		return nil, fmt.Errorf("-warmup %d: must not be negative", c.warmup)
	case c.timeout <= 0:
		return nil, fmt.Errorf("-timeout %v: must be positive", c.timeout)
	case c.order != orderBalanced && c.order != orderRotate:
		return nil, fmt.Errorf("-order %q: want %s or %s", c.order, orderBalanced, orderRotate)
	case c.maxFailures < 0:
		return nil, fmt.Errorf("-max-failures %d: must not be negative", c.maxFailures)
	case c.isolateBox < 0:
		return nil, fmt.Errorf("-isolate-box %d: must not be negative", c.isolateBox)
	case c.boxCg != boxCgAuto && c.boxCg != boxCgOn && c.boxCg != boxCgOff:
		return nil, fmt.Errorf("-box-cg %q: want %s, %s or %s", c.boxCg, boxCgAuto, boxCgOn, boxCgOff)
	}
	if c.csvPath == "" {
		c.csvPath = filepath.Join("bench-results", "bench-"+time.Now().UTC().Format("20060102T150405Z")+".csv")
	}
	if c.plot == "" {
		c.plot = strings.TrimSuffix(c.csvPath, ".csv") + ".png"
	}
	return c, nil
}

// parseScenarios parses a comma-separated list of scenario names into a set.
func parseScenarios(list string) (map[string]bool, error) {
	set := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		known := false
		for _, s := range allScenarios {
			known = known || s == name
		}
		if !known {
			return nil, fmt.Errorf("unknown scenario %q (want some of %s)", name, strings.Join(allScenarios, ", "))
		}
		set[name] = true
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("no scenario in %q (want some of %s)", list, strings.Join(allScenarios, ", "))
	}
	return set, nil
}

// run is main without os.Exit, so deferred cleanup happens. It returns 2 for
// usage errors and 1 for any failure, including failed runs.
func run(args []string) int {
	cfg, err := parseFlags(args, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	failed, err := bench(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	if failed {
		return 1
	}
	return 0
}

// startupSetup is what the startup scenario (and the crun wrapper's
// overhead, when crun needs the wrapper) run with.
type startupSetup struct {
	subjects  []*subject
	scenarios []*scenario
	runc      bool     // runc is among the subjects
	crun      *subject // nil without crun
}

// setupStartup builds the busybox bundle and probes each runtime with it.
func setupStartup(ctx context.Context, cfg *config, r *runner, tmp, miPath, idPrefix string, newRoot func(string) (string, error)) (*startupSetup, error) {
	var runcPath, crunPath string
	var err error
	if cfg.runc != "" {
		if runcPath, err = resolveExecutable(cfg.runc); err != nil {
			return nil, fmt.Errorf("-runc: %w", err)
		}
	}
	if cfg.crun != "" {
		if crunPath, err = resolveExecutable(cfg.crun); err != nil {
			// crun is optional: say why and go on.
			fmt.Printf("crun: unavailable: %v\n", err)
		}
	}
	bundle := filepath.Join(tmp, "bundle")
	probeBundle := filepath.Join(tmp, "probe")
	if err := makeRootfs(ctx, filepath.Join(bundle, "rootfs"), cfg.busybox, tmp); err != nil {
		return nil, fmt.Errorf("building rootfs: %w", err)
	}
	if err := writeBundle(bundle, "rootfs", []string{"/bin/true"}); err != nil {
		return nil, err
	}
	if err := writeBundle(probeBundle, filepath.Join(bundle, "rootfs"), probeArgs); err != nil {
		return nil, err
	}
	st := &startupSetup{runc: runcPath != ""}
	for _, rt := range []struct{ label, path string }{{"mini-isolate", miPath}, {"runc", runcPath}} {
		if rt.path == "" {
			continue
		}
		root, err := newRoot(rt.label)
		if err != nil {
			return nil, err
		}
		s := &subject{label: rt.label, path: rt.path, root: root}
		if err := probe(ctx, r, probeBundle, s, idPrefix); err != nil {
			return nil, fmt.Errorf("%s (%s): %w", s.label, s.path, err)
		}
		st.subjects = append(st.subjects, s)
	}
	if crunPath != "" {
		root, err := newRoot("crun")
		if err != nil {
			return nil, err
		}
		st.crun, err = setupCrun(ctx, r, probeBundle, crunPath, root, idPrefix)
		if err != nil {
			fmt.Printf("crun: unavailable: %v\n", err)
		} else {
			st.subjects = append(st.subjects, st.crun)
		}
	}
	st.scenarios = []*scenario{startupScenario(bundle, st.subjects)}
	if st.crun != nil && len(st.crun.wrapper) > 0 {
		truePath, err := resolveExecutable("true")
		if err != nil {
			return nil, fmt.Errorf("timing the crun wrapper: %w", err)
		}
		st.scenarios = append(st.scenarios, wrapperOverheadScenario(st.crun.wrapper, truePath))
	}
	return st, nil
}

// bench sets everything up, runs the scenarios and prints the report. It
// reports failed runs through failed, after printing what was measured.
func bench(ctx context.Context, cfg *config) (failed bool, err error) {
	if os.Geteuid() != 0 {
		return false, errors.New("must run as root (runtimes need to create namespaces and cgroups)")
	}
	miPath, err := resolveExecutable(cfg.runtime)
	if err != nil {
		return false, fmt.Errorf("-runtime: %w", err)
	}
	var progsDir string
	if cfg.scenarios[scenarioPrecision] || cfg.scenarios[scenarioAccuracy] {
		// Before any slow set-up: a wrong directory is a usage error.
		if progsDir, err = findProgs(cfg.progs, miPath); err != nil {
			return false, err
		}
	}

	tmp, err := os.MkdirTemp("", "mini-isolate-bench-")
	if err != nil {
		return false, fmt.Errorf("creating temp dir: %w", err)
	}
	if cfg.keep {
		fmt.Fprintf(os.Stderr, "bench: keeping %s\n", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	r, err := newRunner(tmp, cfg.timeout)
	if err != nil {
		return false, err
	}
	defer r.close()
	idPrefix := fmt.Sprintf("mib%d", os.Getpid())
	newRoot := func(label string) (string, error) {
		dir := filepath.Join(tmp, "root-"+slug(label))
		if err := os.Mkdir(dir, 0o700); err != nil {
			return "", fmt.Errorf("creating state root: %w", err)
		}
		return dir, nil
	}

	pl, err := plan(ctx, cfg, r, tmp, progsDir, miPath, idPrefix, newRoot)
	if err != nil {
		return false, err
	}
	scenarios, header, st, boxes, isolateStatus := pl.scenarios, pl.header, pl.st, pl.boxes, pl.isolateStatus
	printHeader(ctx, header)
	if isolateStatus != "" {
		fmt.Println(isolateStatus)
	}
	if boxes != nil {
		fmt.Printf("isolate-* scenarios: %s\n", boxes.mode)
	}

	rec, err := openCSV(cfg.csvPath)
	if err != nil {
		return false, err
	}
	defer func() {
		if cerr := rec.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	opt := options{
		rounds:        cfg.rounds,
		warmup:        cfg.warmup,
		order:         cfg.order,
		maxFailures:   cfg.maxFailures,
		idPrefix:      idPrefix,
		progressEvery: 10,
	}
	if boxes != nil {
		defer stopManager(boxes.manager)
	}
	failed, runErr, err := runAll(ctx, cfg, r, scenarios, opt, rec, boxes, miPath, tmp, st)
	if err != nil {
		return true, err
	}
	fmt.Printf("host: load average at the end %s\n", loadAverage())
	fmt.Printf("bench: every run is in %s\n", rec.path)
	return failed, runErr
}

// runAll runs the scenarios and the manager's extras, prints every table,
// the goals and the plot, and says whether a run failed or a goal was
// missed.
func runAll(ctx context.Context, cfg *config, r *runner, scenarios []*scenario, opt options, rec *csvRecorder,
	boxes *boxSetup, miPath, tmp string, st *startupSetup) (failed bool, runErr, err error) {
	var results []*result
	for _, sc := range scenarios {
		res, err := runScenario(ctx, r, sc, opt, rec)
		results = append(results, res)
		if err != nil {
			runErr = err
			break
		}
	}
	in := goalInputs{}
	if runErr == nil && boxes != nil && boxes.manager != nil {
		in.extras, runErr = managerExtras(ctx, cfg, r, boxes, progsFor(cfg, miPath), tmp, rec)
	}
	if failed, err = printResults(results, cfg, st, boxes); err != nil {
		return true, runErr, err
	}
	throughputTable(os.Stdout, in.throughput, throughputWindow)
	supervisionTable(os.Stdout, in.supervision)
	interactTable(os.Stdout, in.interact)
	in.byName = map[string]*result{}
	for _, res := range results {
		in.byName[res.sc.name] = res
	}
	if missed := printGoals(os.Stdout, goals(in)); missed && cfg.goals && runErr == nil {
		failed = true
	}
	if err := plotResults(cfg.plot, results); err != nil {
		fmt.Fprintf(os.Stderr, "bench: plot: %v\n", err)
	} else {
		fmt.Printf("bench: plot of the distributions in %s\n", cfg.plot)
	}
	return failed, runErr, nil
}

// benchPlan is the scenarios to run and what the report's header needs.
type benchPlan struct {
	scenarios []*scenario
	// header names the runtimes, with their versions.
	header        []*subject
	st            *startupSetup
	boxes         *boxSetup
	isolateStatus string
}

// plan sets up every scenario cfg asks for.
func plan(ctx context.Context, cfg *config, r *runner, tmp, progsDir, miPath, idPrefix string, newRoot func(string) (string, error)) (*benchPlan, error) {
	p := &benchPlan{header: []*subject{{label: "mini-isolate", path: miPath}}}
	var err error
	if cfg.scenarios[scenarioStartup] {
		if p.st, err = setupStartup(ctx, cfg, r, tmp, miPath, idPrefix, newRoot); err != nil {
			return nil, err
		}
		p.header = p.st.subjects
		p.scenarios = append(p.scenarios, p.st.scenarios...)
	}
	boxing := cfg.scenarios[scenarioIsolateWarm] || cfg.scenarios[scenarioIsolateCold] ||
		cfg.scenarios[scenarioAPI] || cfg.scenarios[scenarioThroughput] || cfg.scenarios[scenarioSupervision] ||
		cfg.scenarios[scenarioInteract]
	var iso *isolateSandbox
	if cfg.scenarios[scenarioPrecision] || boxing {
		iso, p.isolateStatus = findIsolate(ctx, cfg.isolate, cfg.isolateBox, "", cfg.timeout)
		if iso == nil && cfg.isolateSet {
			return nil, fmt.Errorf("-isolate %s was given but cannot be measured: %s", cfg.isolate, p.isolateStatus)
		}
	}
	if cfg.scenarios[scenarioPrecision] || cfg.scenarios[scenarioAccuracy] {
		sc, err := judgeScenarios(ctx, cfg, tmp, progsDir, miPath, iso, p.isolateStatus, newRoot)
		if err != nil {
			return nil, err
		}
		p.scenarios = append(p.scenarios, sc...)
	}
	if boxing {
		root, err := newRoot("mini-isolate boxes")
		if err != nil {
			return nil, err
		}
		if p.boxes, err = setupBoxes(ctx, cfg, r, filepath.Join(tmp, "boxes"), miPath, root, idPrefix+"-boxes", iso); err != nil {
			return nil, err
		}
		p.scenarios = append(p.scenarios, p.boxes.scenarios...)
		if cfg.scenarios[scenarioAPI] && p.boxes.manager != nil {
			p.scenarios = append(p.scenarios, apiScenario(p.boxes.manager, cfg.apiRuns))
		}
	}
	return p, nil
}

// extras are the results of the scenarios that are not rounds of
// single runs.
type extras struct {
	throughput  *throughput
	supervision []supervisionCost
	interact    []interactCost
}

// managerExtras runs the throughput, supervision and interact scenarios,
// which are not rounds of single runs.
func managerExtras(ctx context.Context, cfg *config, r *runner, boxes *boxSetup, progs, tmp string, rec *csvRecorder) (extras, error) {
	var x extras
	if cfg.scenarios[scenarioThroughput] {
		fronts := []*boxFrontEnd{boxes.manager}
		if boxes.isolateFront != nil {
			fronts = append(fronts, boxes.isolateFront)
		}
		x.throughput = runThroughput(ctx, r, fronts, throughputWindow, throughputWindows, rec)
	}
	if (cfg.scenarios[scenarioSupervision] || cfg.scenarios[scenarioInteract]) && progs == "" {
		return x, errors.New("supervision, interact: the test programs' sources are needed (-progs)")
	}
	var err error
	if cfg.scenarios[scenarioSupervision] {
		if x.supervision, err = measureSupervision(ctx, boxes.manager, progs, cfg.cc, tmp, supervisionRounds, rec); err != nil {
			return x, fmt.Errorf("supervision: %w", err)
		}
	}
	if cfg.scenarios[scenarioInteract] {
		if x.interact, err = measureInteract(ctx, boxes.manager, progs, cfg.cc, tmp, interactRuns, rec); err != nil {
			return x, fmt.Errorf("interact: %w", err)
		}
	}
	return x, rec.flush()
}

// progsFor finds the test programs' sources, or "" without them.
func progsFor(cfg *config, miPath string) string {
	dir, err := findProgs(cfg.progs, miPath)
	if err != nil {
		return ""
	}
	return dir
}

// judgeScenarios sets up the precision and accuracy scenarios, which run
// judged programs through mini-isolate and, for precision, isolate.
func judgeScenarios(ctx context.Context, cfg *config, tmp, progsDir, miPath string, iso *isolateSandbox, isolateStatus string,
	newRoot func(string) (string, error)) ([]*scenario, error) {
	root, err := newRoot("mini-isolate judged")
	if err != nil {
		return nil, err
	}
	env, err := setupJudge(ctx, filepath.Join(tmp, "judge"), progsDir, cfg.cc, &subject{label: labelMI, path: miPath, root: root})
	if err != nil {
		return nil, err
	}
	var scenarios []*scenario
	if cfg.scenarios[scenarioPrecision] {
		if iso != nil {
			withProgs := *iso
			withProgs.progDir = env.rootfs
			env.isolate = &withProgs
		}
		env.isolateStatus = isolateStatus
		sc, err := env.precisionScenario(cfg.precisionRuns)
		if err != nil {
			return nil, err
		}
		scenarios = append(scenarios, sc)
	}
	if cfg.scenarios[scenarioAccuracy] {
		sc, err := env.accuracyScenario(cfg.accuracyRuns)
		if err != nil {
			return nil, err
		}
		scenarios = append(scenarios, sc)
	}
	return scenarios, nil
}

// printResults prints each scenario's table, then the headlines; failed
// says whether a run failed.
func printResults(results []*result, cfg *config, st *startupSetup, boxes *boxSetup) (failed bool, err error) {
	byName := map[string]*result{}
	for _, res := range results {
		byName[res.sc.name] = res
		printResult := printTable
		if res.sc.print != nil {
			printResult = res.sc.print
		}
		if err := printResult(os.Stdout, res, cfg.warmup); err != nil {
			return true, err
		}
		for _, n := range res.failures {
			if n > 0 {
				failed = true
			}
		}
	}
	fmt.Println()
	if start := byName[scenarioStartup]; start != nil {
		if st.runc {
			fmt.Println(headline(start, "mini-isolate", "runc"))
		} else {
			fmt.Println("bench: runc disabled, no mini-isolate/runc ratio")
		}
		if wo := byName["wrapper-overhead"]; wo != nil {
			printWrapperOverhead(wo, start.ms[st.crun.label])
		}
	}
	if res := byName[scenarioPrecision]; res != nil {
		fmt.Println(precisionHeadline(res))
	}
	if res := byName[scenarioAccuracy]; res != nil {
		fmt.Println(accuracyHeadline(res))
	}
	if res := byName[scenarioIsolateWarm]; res != nil {
		fmt.Println(boxResultMedians(res, boxes.isolate).headline("isolate --run warm"))
	}
	if res := byName[scenarioIsolateCold]; res != nil {
		fmt.Println(boxResultMedians(res, boxes.isolate).headline("isolate init+run+cleanup cold"))
	}
	return failed, nil
}

// printWrapperOverhead states what the crun wrapper adds to each run and,
// as a rough estimate, what is left for crun itself.
func printWrapperOverhead(res *result, crunMs []float64) {
	bare, berr := median(res.ms["/bin/true"])
	wrapped, werr := median(res.ms["wrapper + /bin/true"])
	if berr != nil || werr != nil {
		fmt.Println("bench: crun wrapper overhead: n/a (no successful runs)")
		return
	}
	fmt.Printf("bench: crun wrapper overhead = %.2f ms per run (median %.2f ms wrapped vs %.2f ms bare /bin/true)\n",
		wrapped-bare, wrapped, bare)
	if c, err := median(crunMs); err == nil {
		fmt.Printf("bench: crun (wrapped) median %.2f ms minus that overhead = about %.2f ms for crun itself\n", c, c-(wrapped-bare))
	}
}

// printHeader records what was measured on what host, so tables pasted
// elsewhere keep their context.
func printHeader(ctx context.Context, subjects []*subject) {
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	ctrl, err := os.ReadFile(unifiedControllers)
	unified := strings.TrimSpace(string(ctrl))
	switch {
	case err != nil:
		unified = "(absent)"
	case unified == "":
		unified = "(empty)"
	}
	fmt.Printf("host: kernel %s, %d CPUs, load average %s, %s: %s\n", strings.TrimSpace(string(kernel)),
		runtime.NumCPU(), loadAverage(), unifiedControllers, unified)
	for _, s := range subjects {
		fmt.Printf("runtime %s: %s: %s\n", s.label, s.path, version(ctx, s.path))
	}
}

// loadAverage returns the 1, 5 and 15 minute load averages: other load on
// the host shows up as noise in every measurement.
func loadAverage() string {
	load, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	fields := strings.Fields(string(load))
	if len(fields) > 3 {
		fields = fields[:3]
	}
	return strings.Join(fields, " ")
}
