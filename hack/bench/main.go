// Command bench measures the cost of starting a sandboxed /bin/true with
// `<runtime> run` for mini-isolate, runc and crun on one shared bundle.
//
// The runtimes run interleaved: every round runs each once, so drift on the
// host (page cache, CPU frequency, other load) is spread over all of them,
// in an order that has each runtime follow each one about equally often.
// Each run has its own container id and each runtime its own temporary
// --root. Every run goes to a CSV with the columns
// scenario,runtime,round,ms,exit, where warm-up rounds have round <= 0.
//
// It must run as root:
//
//	go run ./hack/bench -runtime bin/mini-isolate [-n 50] [-warmup 3]
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

// config is the parsed command line.
type config struct {
	runtime     string
	runc        string
	crun        string
	rounds      int
	warmup      int
	timeout     time.Duration
	csvPath     string
	busybox     string
	order       string
	maxFailures int
	keep        bool
}

func parseFlags(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&c.runtime, "runtime", "", "mini-isolate binary under test (required)")
	fs.StringVar(&c.runc, "runc", "runc", "runc binary, the baseline; empty disables it")
	fs.StringVar(&c.crun, "crun", "crun", "crun binary; empty disables it")
	fs.IntVar(&c.rounds, "n", 50, "measured rounds")
	fs.IntVar(&c.warmup, "warmup", 3, "warm-up rounds, run and discarded before measuring")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "time limit for each run")
	fs.StringVar(&c.csvPath, "csv", "", "CSV of every run (default bench-results/startup-<UTC time>.csv)")
	fs.StringVar(&c.busybox, "busybox", "/bin/busybox", "static busybox for the rootfs; fetched with apt-get download if missing")
	fs.StringVar(&c.order, "order", orderBalanced, "run order within rounds: balanced (every runtime follows every runtime equally often) or rotate")
	fs.IntVar(&c.maxFailures, "max-failures", 3, "failed runs after which a runtime is dropped; 0 never drops")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary bundle and state roots")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	case c.runtime == "":
		return nil, errors.New("-runtime is required")
	case c.rounds < 1:
		return nil, fmt.Errorf("-n %d: need at least one round", c.rounds)
	case c.warmup < 0:
		return nil, fmt.Errorf("-warmup %d: must not be negative", c.warmup)
	case c.timeout <= 0:
		return nil, fmt.Errorf("-timeout %v: must be positive", c.timeout)
	case c.order != orderBalanced && c.order != orderRotate:
		return nil, fmt.Errorf("-order %q: want %s or %s", c.order, orderBalanced, orderRotate)
	case c.maxFailures < 0:
		return nil, fmt.Errorf("-max-failures %d: must not be negative", c.maxFailures)
	}
	if c.csvPath == "" {
		c.csvPath = filepath.Join("bench-results", "startup-"+time.Now().UTC().Format("20060102T150405Z")+".csv")
	}
	return c, nil
}

// run is main without os.Exit, so deferred cleanup happens. It returns 2 for
// usage errors and 1 for any failure, including failed runs.
func run(args []string) int {
	cfg, err := parseFlags(args)
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
	var runcPath, crunPath string
	if cfg.runc != "" {
		if runcPath, err = resolveExecutable(cfg.runc); err != nil {
			return false, fmt.Errorf("-runc: %w", err)
		}
	}
	if cfg.crun != "" {
		if crunPath, err = resolveExecutable(cfg.crun); err != nil {
			// crun is optional: say why and go on.
			fmt.Printf("crun: unavailable: %v\n", err)
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
	bundle := filepath.Join(tmp, "bundle")
	probeBundle := filepath.Join(tmp, "probe")
	if err := makeRootfs(ctx, filepath.Join(bundle, "rootfs"), cfg.busybox, tmp); err != nil {
		return false, fmt.Errorf("building rootfs: %w", err)
	}
	if err := writeBundle(bundle, "rootfs", []string{"/bin/true"}); err != nil {
		return false, err
	}
	if err := writeBundle(probeBundle, filepath.Join(bundle, "rootfs"), probeArgs); err != nil {
		return false, err
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

	var subjects []*subject
	for _, rt := range []struct{ label, path string }{{"mini-isolate", miPath}, {"runc", runcPath}} {
		if rt.path == "" {
			continue
		}
		root, err := newRoot(rt.label)
		if err != nil {
			return false, err
		}
		s := &subject{label: rt.label, path: rt.path, root: root}
		if err := probe(ctx, r, probeBundle, s, idPrefix); err != nil {
			return false, fmt.Errorf("%s (%s): %w", s.label, s.path, err)
		}
		subjects = append(subjects, s)
	}
	var crunSubject *subject
	if crunPath != "" {
		root, err := newRoot("crun")
		if err != nil {
			return false, err
		}
		crunSubject, err = setupCrun(ctx, r, probeBundle, crunPath, root, idPrefix)
		if err != nil {
			fmt.Printf("crun: unavailable: %v\n", err)
		} else {
			subjects = append(subjects, crunSubject)
		}
	}
	printHeader(ctx, subjects)

	rec, err := openCSV(cfg.csvPath)
	if err != nil {
		return false, err
	}
	defer func() {
		if cerr := rec.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	scenarios := []*scenario{startupScenario(bundle, subjects)}
	if crunSubject != nil && len(crunSubject.wrapper) > 0 {
		truePath, err := resolveExecutable("true")
		if err != nil {
			return false, fmt.Errorf("timing the crun wrapper: %w", err)
		}
		scenarios = append(scenarios, wrapperOverheadScenario(crunSubject.wrapper, truePath))
	}
	opt := options{
		rounds:        cfg.rounds,
		warmup:        cfg.warmup,
		order:         cfg.order,
		maxFailures:   cfg.maxFailures,
		idPrefix:      idPrefix,
		progressEvery: 10,
	}
	var results []*result
	var runErr error
	for _, sc := range scenarios {
		res, err := runScenario(ctx, r, sc, opt, rec)
		results = append(results, res)
		if err != nil {
			runErr = err
			break
		}
	}

	for _, res := range results {
		if err := printTable(os.Stdout, res, cfg.warmup); err != nil {
			return true, err
		}
		for _, n := range res.failures {
			if n > 0 {
				failed = true
			}
		}
	}
	fmt.Println()
	if start := results[0]; runcPath != "" {
		fmt.Println(headline(start, "mini-isolate", "runc"))
	} else {
		fmt.Println("bench: runc disabled, no mini-isolate/runc ratio")
	}
	if len(results) > 1 {
		printWrapperOverhead(results[1], results[0].ms[crunSubject.label])
	}
	fmt.Printf("bench: every run is in %s\n", rec.path)
	return failed, runErr
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
	// Other load on the host shows up as noise in every runtime's times.
	load, _ := os.ReadFile("/proc/loadavg")
	loadFields := strings.Fields(string(load))
	if len(loadFields) > 3 {
		loadFields = loadFields[:3]
	}
	fmt.Printf("host: kernel %s, %d CPUs, load average %s, %s: %s\n", strings.TrimSpace(string(kernel)),
		runtime.NumCPU(), strings.Join(loadFields, " "), unifiedControllers, unified)
	for _, s := range subjects {
		fmt.Printf("runtime %s: %s: %s\n", s.label, s.path, version(ctx, s.path))
	}
}
