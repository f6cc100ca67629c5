// Command oci runs the OCI runtime-tools validation suite against a runtime
// under test and, side by side, against a reference runtime, and lists
// every assertion the reference passes that the runtime under test does not.
//
//	go run ./conformance/oci -runtime bin/mini-isolate -reference runc
//
// It must run as root. Exit status: 0 without regressions, 1 with at least
// one, 2 on setup errors.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

const (
	exitRegressions = 1
	exitSetup       = 2
	lockPath        = "/run/mini-isolate-oci-validation.lock"
)

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "oci-validation: "+format+"\n", args...)
}

type options struct {
	runtime, reference string
	run                *regexp.Regexp
	keep               string
	timeout            time.Duration
	version            string
	cache              string
}

var errBadFlags = errors.New("bad flags")

func parseFlags(args []string) (*options, error) {
	fl := flag.NewFlagSet("oci", flag.ContinueOnError)
	o := &options{}
	var run string
	fl.StringVar(&o.runtime, "runtime", "", "runtime under test (path or name in PATH)")
	fl.StringVar(&o.reference, "reference", "", "reference runtime; empty runs only the runtime under test")
	fl.StringVar(&run, "run", "", "run only the test programs matching this regular expression")
	fl.StringVar(&o.keep, "keep", "", "keep every TAP and stderr log in this directory")
	fl.DurationVar(&o.timeout, "timeout", 120*time.Second, "time limit for one test program")
	fl.StringVar(&o.version, "suite-version", envOr("MINI_ISOLATE_OCI_SUITE_VERSION", defaultSuiteVersion), "runtime-tools module version to build the suite from")
	fl.StringVar(&o.cache, "cache", "", "cache directory (default ${MINI_ISOLATE_CACHE:-$HOME/.cache/mini-isolate})")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errBadFlags // the flag package has said why
	}
	if fl.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fl.Args())
	}
	if o.runtime == "" {
		return nil, errors.New("-runtime is required")
	}
	if o.timeout <= 0 {
		return nil, errors.New("-timeout must be positive")
	}
	if o.version == "" || strings.Contains(o.version, "/") || strings.HasPrefix(o.version, ".") {
		return nil, fmt.Errorf("-suite-version %q is not a module version", o.version)
	}
	re, err := regexp.Compile(run)
	if err != nil {
		return nil, fmt.Errorf("-run: %w", err)
	}
	o.run = re
	if o.cache == "" {
		o.cache, err = defaultCache()
		if err != nil {
			return nil, err
		}
	}
	return o, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func defaultCache() (string, error) {
	if v := os.Getenv("MINI_ISOLATE_CACHE"); v != "" {
		return v, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory: set MINI_ISOLATE_CACHE or -cache: %w", err)
	}
	return filepath.Join(home, ".cache", "mini-isolate"), nil
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout))
}

func run(args []string, stdout io.Writer) int {
	o, err := parseFlags(args)
	if err != nil {
		switch {
		case errors.Is(err, flag.ErrHelp):
			return 0
		case !errors.Is(err, errBadFlags):
			fmt.Fprintln(os.Stderr, "oci-validation:", err)
		}
		return exitSetup
	}
	if os.Geteuid() != 0 {
		progress("must run as root (the suite creates containers and cgroups)")
		return exitSetup
	}
	unlock, err := lock()
	if err != nil {
		progress("%v", err)
		return exitSetup
	}
	defer unlock()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := validate(ctx, o, stdout)
	if err != nil {
		progress("%v", err)
	}
	return code
}

// lock keeps two runs from overlapping: the tests use fixed cgroup paths.
func lock() (func(), error) {
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		progress("waiting for another oci-validation run to finish (%s)", lockPath)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", lockPath, err)
		}
	}
	return func() { f.Close() }, nil
}

func validate(ctx context.Context, o *options, stdout io.Writer) (int, error) {
	rt, err := ResolveRuntime(ctx, o.runtime)
	if err != nil {
		return exitSetup, fmt.Errorf("runtime under test: %w", err)
	}
	var ref string
	if o.reference != "" {
		if ref, err = ResolveRuntime(ctx, o.reference); err != nil {
			return exitSetup, fmt.Errorf("reference runtime: %w", err)
		}
	}
	for _, tool := range []string{"tar", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil {
			return exitSetup, fmt.Errorf("the suite needs %s in PATH: %w", tool, err)
		}
	}

	base := filepath.Join(o.cache, "oci-validation")
	suite, err := BuildSuite(ctx, filepath.Join(base, o.version), o.version)
	if err != nil {
		return exitSetup, fmt.Errorf("build validation suite: %w", err)
	}
	rootfs, err := BuildRootfs(ctx, base)
	if err != nil {
		return exitSetup, fmt.Errorf("build rootfs: %w", err)
	}
	var programs []string
	for _, p := range suite.Programs {
		if o.run.MatchString(p) {
			programs = append(programs, p)
		}
	}
	if len(programs) == 0 {
		return exitSetup, fmt.Errorf("-run %q matches none of the %d test programs", o.run, len(suite.Programs))
	}

	work, err := os.MkdirTemp("", "oci-validation-")
	if err != nil {
		return exitSetup, fmt.Errorf("create work dir: %w", err)
	}
	defer os.RemoveAll(work)
	if err := os.Chmod(work, 0o755); err != nil {
		return exitSetup, fmt.Errorf("chmod work dir: %w", err)
	}
	if o.keep != "" {
		if o.keep, err = filepath.Abs(o.keep); err != nil {
			return exitSetup, fmt.Errorf("-keep: %w", err)
		}
	}
	runner := &Runner{Suite: suite, Rootfs: rootfs, Timeout: o.timeout, WorkDir: work, KeepDir: o.keep}
	cleanupCgroups() // leftovers of an earlier, killed run

	testLabel, refLabel := filepath.Base(rt), ""
	if ref != "" {
		refLabel = filepath.Base(ref)
	}
	rows, regs, err := runPrograms(ctx, runner, programs, rt, ref)
	if err != nil {
		return exitSetup, err
	}
	if o.keep != "" {
		progress("logs kept in %s", o.keep)
	}
	if err := report(stdout, rows, regs, testLabel, refLabel); err != nil {
		return exitSetup, err
	}
	if len(regs) > 0 {
		return exitRegressions, nil
	}
	return 0, nil
}

// runPrograms runs each program on the reference runtime (when given) and
// on the one under test, one at a time.
func runPrograms(ctx context.Context, runner *Runner, programs []string, rt, ref string) ([]Row, []Regression, error) {
	testLabel, refLabel, on := filepath.Base(rt), filepath.Base(ref), rt
	if ref != "" {
		on = ref + " and " + rt
	}
	progress("running %d test programs on %s, one at a time", len(programs), on)
	start := time.Now()
	var rows []Row
	var regs []Regression
	for i, p := range programs {
		row := Row{Program: p}
		var err error
		if ref != "" {
			if row.Ref, err = runner.Run(ctx, p, "reference", ref); err != nil {
				return nil, nil, fmt.Errorf("%s on %s: %w", p, refLabel, err)
			}
		}
		if row.Test, err = runner.Run(ctx, p, "runtime", rt); err != nil {
			return nil, nil, fmt.Errorf("%s on %s: %w", p, testLabel, err)
		}
		rows = append(rows, row)
		rr := Regressions(p, row.Ref, row.Test)
		regs = append(regs, rr...)
		line := fmt.Sprintf("[%2d/%d] %s:", i+1, len(programs), p)
		if row.Ref != nil {
			line += " " + describe(refLabel, row.Ref) + ";"
		}
		line += " " + describe(testLabel, row.Test)
		if len(rr) > 0 {
			line += fmt.Sprintf(" -- %d regression(s)", len(rr))
		}
		progress("%s", line)
	}
	progress("ran %d test programs in %s", len(programs), time.Since(start).Round(time.Second))
	return rows, regs, nil
}

// report writes the table, the regressions and the totals; refLabel is ""
// without a reference runtime.
func report(stdout io.Writer, rows []Row, regs []Regression, testLabel, refLabel string) error {
	testTot, refTot, err := WriteTable(stdout, rows, testLabel, refLabel)
	if err != nil {
		return err
	}
	if refLabel != "" {
		if err := WriteRegressions(stdout, regs, testLabel, refLabel); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout)
	if refLabel == "" {
		fmt.Fprintf(stdout, "oci-validation: %s %d passed, %d failed; 0 regressions\n", testLabel, testTot.Passed, testTot.Failed)
		fmt.Fprintf(stdout, "conformance: %d passed, %d failed, %d skipped\n", testTot.Passed, testTot.Failed, testTot.Skipped)
		return nil
	}
	fmt.Fprintf(stdout, "oci-validation: %s %d passed, %d failed; %s %d passed, %d failed; %d regressions\n",
		testLabel, testTot.Passed, testTot.Failed, refLabel, refTot.Passed, refTot.Failed, len(regs))
	// The line make test's summary reads: a failure is a regression;
	// what runc fails as well is counted apart.
	fmt.Fprintf(stdout, "conformance: %d passed, %d failed, %d skipped; %d more assertions fail with %s as well\n",
		testTot.Passed, len(regs), testTot.Skipped, max(testTot.Failed-len(regs), 0), refLabel)
	return nil
}

func describe(label string, p *ProgramRun) string {
	s := fmt.Sprintf("%s %d/%d/%d (%.1fs)", label, p.Score.Passed, p.Score.Failed, p.Score.Skipped, p.Duration.Seconds())
	if p.Score.Problem != "" {
		s += " [" + p.Score.Problem + "]"
	}
	return s
}
