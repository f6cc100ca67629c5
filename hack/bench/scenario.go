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
	"regexp"
	"strings"
	"time"
)

// scenario is one benchmark: a set of subjects and how to build the command
// line of one run for each. New benchmarks (time-limit precision, a warm
// path) are new scenarios; the round loop, CSV and table are shared.
type scenario struct {
	name     string
	title    string // one-line description for the table header
	baseline string // label whose median the ratio column divides by; "" for none
	subjects []*subject
	// rounds, if positive, replaces options.rounds for this scenario.
	rounds int
	// command returns the argv of one run of s; id is unique to the run.
	command func(s *subject, id string) []string
	// steps, if set, replaces command: one run of s is these commands one
	// after another, stopping at the first that fails, and its time is
	// the sum of theirs (see runner.runSequence).
	steps func(s *subject, id string) [][]string
	// start, if set, runs once before the first round (outside any timed
	// window), e.g. to initialise a long-lived sandbox; an error ends the
	// scenario before any run.
	start func(ctx context.Context, r *runner) error
	// finish, if set, runs once after the last round, or after start
	// failed or the scenario was stopped, with a context that is never
	// cancelled.
	finish func(ctx context.Context, r *runner)
	// cleanup, if set, removes what a failed run of s with id left behind.
	cleanup func(ctx context.Context, r *runner, s *subject, id string)
	// before, if set, prepares each run of s outside the timed window; an
	// error fails the run without running it.
	before func(ctx context.Context, r *runner, s *subject, id string) error
	// after, if set, runs after every run of s, failed or not (also when
	// before failed, to undo what it did), with a context that is never
	// cancelled.
	after func(ctx context.Context, r *runner, s *subject, id string)
	// measure, if set, turns a finished run into the value recorded for it,
	// in ms, and decides whether it failed; the value is NaN when the run
	// gave none. Without it the value is the run's elapsed time and a run
	// fails when its exit status is not 0.
	measure func(s *subject, id string, out runResult) (float64, error)
	// print, if set, replaces printTable for this scenario's results.
	print func(w io.Writer, res *result, warmup int) error
	// call, if set, replaces command and steps: it makes one run of s
	// itself and returns its value in ms, its exit status and whether it
	// failed (for runs that are not commands, such as API calls).
	call func(ctx context.Context, r *runner, s *subject, id string) (float64, int, error)
}

// startupScenario times `<rt> run` of a bundle whose process is /bin/true.
func startupScenario(bundle string, subjects []*subject) *scenario {
	return &scenario{
		name:     "startup",
		title:    "<rt> --root R run --bundle B <id>, process /bin/true",
		baseline: "runc",
		subjects: subjects,
		command: func(s *subject, id string) []string {
			return s.runtimeArgv("run", "--bundle", bundle, id)
		},
		cleanup: deleteContainer,
	}
}

// deleteContainer force-deletes a container a failed run may have left
// running or registered in the subject's state root, then removes empty
// cgroups named after it: a runtime killed before it saved its state
// leaves them behind, and delete does not know the container.
func deleteContainer(ctx context.Context, r *runner, s *subject, id string) {
	if s.root == "" {
		return
	}
	_ = r.run(context.WithoutCancel(ctx), s.runtimeArgv("delete", "--force", id))
	removeCgroups(id)
}

// removeCgroups removes cgroup directories named id, at most two levels
// below the cgroup2 root or a v1 hierarchy. rmdir only succeeds on a cgroup
// without processes, and ids are unique to this process.
func removeCgroups(id string) {
	for _, pattern := range []string{"/sys/fs/cgroup/%s", "/sys/fs/cgroup/*/%s", "/sys/fs/cgroup/*/*/%s", "/sys/fs/cgroup/*/*/*/%s"} {
		dirs, _ := filepath.Glob(fmt.Sprintf(pattern, id))
		for _, d := range dirs {
			if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(os.Stderr, "bench: leftover cgroup %s: %v\n", d, err)
			}
		}
	}
}

// options are the settings shared by every scenario.
type options struct {
	rounds        int
	warmup        int
	order         string // orderBalanced or orderRotate
	maxFailures   int    // per subject, after which it is dropped
	idPrefix      string // makes container ids unique across concurrent benches
	progressEvery int    // rounds between progress lines on stderr; 0 for none
}

// result holds what one scenario measured.
type result struct {
	sc       *scenario
	ms       map[string][]float64 // successful measured runs, per label
	msRound  map[string][]int     // the round of each value in ms
	failures map[string]int       // failed runs (warm-up included), per label
	dropped  map[string]bool      // gave up after too many failures
	rounds   int                  // measured rounds completed
}

// runScenario runs warm-up and measured rounds. In each round every active
// subject runs once, in the order opt.order gives (see schedule.go). Every
// run, warm-up included, goes to rec; warm-up rounds are numbered
// 1-warmup..0 and measured rounds 1..rounds.
func runScenario(ctx context.Context, r *runner, sc *scenario, opt options, rec *csvRecorder) (*result, error) {
	res := &result{sc: sc, ms: map[string][]float64{}, msRound: map[string][]int{}, failures: map[string]int{}, dropped: map[string]bool{}}
	if sc.rounds > 0 {
		opt.rounds = sc.rounds
	}
	plan, err := schedule(opt.order, len(sc.subjects), opt.warmup, opt.rounds)
	if err != nil {
		return res, fmt.Errorf("%s: %w", sc.name, err)
	}
	if sc.finish != nil {
		defer sc.finish(context.WithoutCancel(ctx), r)
	}
	if sc.start != nil {
		if err := sc.start(ctx, r); err != nil {
			return res, fmt.Errorf("%s: setting up: %w", sc.name, err)
		}
	}
	seq := 0
	for i, order := range plan {
		round := i - opt.warmup + 1
		for _, j := range order {
			if ctx.Err() != nil {
				return res, fmt.Errorf("%s: stopped in round %d: %w", sc.name, round, ctx.Err())
			}
			s := sc.subjects[j]
			if res.dropped[s.label] {
				continue
			}
			seq++
			id := fmt.Sprintf("%s-%s-%d", opt.idPrefix, slug(s.label), seq)
			value, exit, runErr := runOnce(ctx, r, sc, s, id)
			if ctx.Err() != nil {
				// Interrupted: not a measurement, and not the runtime's fault.
				if sc.cleanup != nil {
					sc.cleanup(ctx, r, s, id)
				}
				return res, fmt.Errorf("%s: stopped in round %d: %w", sc.name, round, ctx.Err())
			}
			if err := rec.add(sc.name, s.label, round, value, exit); err != nil {
				return res, err
			}
			if runErr == nil {
				if round > 0 {
					res.ms[s.label] = append(res.ms[s.label], value)
					res.msRound[s.label] = append(res.msRound[s.label], round)
				}
				continue
			}
			res.failures[s.label]++
			fmt.Fprintf(os.Stderr, "bench: %s: %s round %d (id %s) failed: %v\n", sc.name, s.label, round, id, runErr)
			if sc.cleanup != nil {
				sc.cleanup(ctx, r, s, id)
			}
			if opt.maxFailures > 0 && res.failures[s.label] >= opt.maxFailures {
				res.dropped[s.label] = true
				fmt.Fprintf(os.Stderr, "bench: %s: dropping %s after %d failed runs\n", sc.name, s.label, res.failures[s.label])
			}
		}
		if round > 0 {
			res.rounds = round
		}
		if err := rec.flush(); err != nil {
			return res, err
		}
		if opt.progressEvery > 0 && round > 0 && round%opt.progressEvery == 0 && round < opt.rounds {
			fmt.Fprintf(os.Stderr, "bench: %s: %d/%d rounds\n", sc.name, round, opt.rounds)
		}
	}
	return res, nil
}

// runOnce runs s once with sc's hooks and returns the value to record (NaN
// for none), the command's exit status and why the run failed, if it did.
func runOnce(ctx context.Context, r *runner, sc *scenario, s *subject, id string) (value float64, exit int, err error) {
	if sc.after != nil {
		defer sc.after(context.WithoutCancel(ctx), r, s, id)
	}
	if sc.before != nil {
		if err := sc.before(ctx, r, s, id); err != nil {
			return math.NaN(), -1, fmt.Errorf("preparing the run: %w", err)
		}
	}
	if sc.call != nil {
		return sc.call(ctx, r, s, id)
	}
	var out runResult
	if sc.steps != nil {
		out = r.runSequence(ctx, sc.steps(s, id), s.env)
	} else {
		out = r.runEnv(ctx, sc.command(s, id), s.env)
	}
	if sc.measure != nil {
		value, err = sc.measure(s, id, out)
		return value, out.exit, err
	}
	value = float64(out.elapsed) / float64(time.Millisecond)
	if out.err != nil {
		return value, out.exit, errors.New(out.describe())
	}
	return value, out.exit, nil
}

var nonIDChars = regexp.MustCompile(`[^a-z0-9]+`)

// slug turns a label such as "crun (wrapped)" into "crun-wrapped" for use in
// container ids and cgroup names.
func slug(label string) string {
	s := strings.Trim(nonIDChars.ReplaceAllString(strings.ToLower(label), "-"), "-")
	if s == "" {
		return "x"
	}
	return s
}
