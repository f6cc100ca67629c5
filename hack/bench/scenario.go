package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
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
	// command returns the argv of one run of s; id is unique to the run.
	command func(s *subject, id string) []string
	// cleanup, if set, removes what a failed run of s with id left behind.
	cleanup func(ctx context.Context, r *runner, s *subject, id string)
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
	failures map[string]int       // failed runs (warm-up included), per label
	dropped  map[string]bool      // gave up after too many failures
	rounds   int                  // measured rounds completed
}

// runScenario runs warm-up and measured rounds. In each round every active
// subject runs once, in the order opt.order gives (see schedule.go). Every
// run, warm-up included, goes to rec; warm-up rounds are numbered
// 1-warmup..0 and measured rounds 1..rounds.
func runScenario(ctx context.Context, r *runner, sc *scenario, opt options, rec *csvRecorder) (*result, error) {
	res := &result{sc: sc, ms: map[string][]float64{}, failures: map[string]int{}, dropped: map[string]bool{}}
	plan, err := schedule(opt.order, len(sc.subjects), opt.warmup, opt.rounds)
	if err != nil {
		return res, fmt.Errorf("%s: %w", sc.name, err)
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
			out := r.run(ctx, sc.command(s, id))
			if ctx.Err() != nil {
				// Interrupted: not a measurement, and not the runtime's fault.
				if sc.cleanup != nil {
					sc.cleanup(ctx, r, s, id)
				}
				return res, fmt.Errorf("%s: stopped in round %d: %w", sc.name, round, ctx.Err())
			}
			ms := float64(out.elapsed) / float64(time.Millisecond)
			if err := rec.add(sc.name, s.label, round, ms, out.exit); err != nil {
				return res, err
			}
			if out.err == nil {
				if round > 0 {
					res.ms[s.label] = append(res.ms[s.label], ms)
				}
				continue
			}
			res.failures[s.label]++
			fmt.Fprintf(os.Stderr, "bench: %s: %s round %d (id %s) failed: %s\n", sc.name, s.label, round, id, out.describe())
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
