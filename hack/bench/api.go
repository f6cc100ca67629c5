package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/mini-isolate/mini-isolate/manager"
	"github.com/mini-isolate/mini-isolate/runtime/meta"
)

// The manager's scenarios, which need the manager front end:
//
//   - api: a warm run of /bin/true through the native run API, from a
//     client in this process to the report, beside a bare fork and exec of
//     /bin/true from this process.
//   - throughput: two workers in parallel, each doing --init, --run and
//     --cleanup cycles on a box of its own, for a fixed time, through the
//     manager front end and through isolate, in alternating windows.
const (
	scenarioAPI        = "api"
	scenarioThroughput = "throughput"
	labelAPI           = "mini-isolate API"
	// labelPing is a request that does nothing: what the hops from client
	// to manager and back cost alone, the floor under an API run.
	labelPing = "API round trip (ping)"
)

// apiBox is the box the api scenario uses (the others use isolateBox).
const apiBox = 0

// apiScenario times native API runs against a bare fork and exec.
func apiScenario(mgr *boxFrontEnd, rounds int) *scenario {
	var c *manager.Client
	bare := &subject{label: labelBare, path: boxProgram}
	api := &subject{label: labelAPI}
	ping := &subject{label: labelPing}
	spec := &manager.RunSpec{Args: []string{boxProgram}}
	return &scenario{
		name:     scenarioAPI,
		rounds:   rounds,
		title:    fmt.Sprintf("a warm run of %s through the native API (request to report, client in another process) vs %s", boxProgram, labelBare),
		baseline: labelBare,
		subjects: []*subject{bare, api, ping},
		start: func(ctx context.Context, r *runner) error {
			// The front end starts the manager; then the API is used.
			if err := mgr.do(ctx, r, "--version"); err != nil {
				return err
			}
			var err error
			if c, err = waitDial(mgr.socket); err != nil {
				return err
			}
			if _, err = c.Do(&manager.Request{Op: "init", Box: apiBox, Cg: mgr.cg}); err != nil {
				return err
			}
			waited, quiet, err := settle(ctx)
			if err != nil {
				return err
			}
			if quiet {
				fmt.Fprintf(os.Stderr, "bench: %s: the host was quiet after %v\n", scenarioAPI, waited.Round(time.Millisecond))
			} else {
				fmt.Fprintf(os.Stderr, "bench: %s: the host was still busy after %v; measuring anyway\n", scenarioAPI, waited.Round(time.Millisecond))
			}
			return nil
		},
		finish: func(context.Context, *runner) {
			if c != nil {
				_, _ = c.Do(&manager.Request{Op: "cleanup", Box: apiBox, Cg: mgr.cg})
				c.Close()
			}
		},
		call: func(ctx context.Context, r *runner, s *subject, _ string) (float64, int, error) {
			if s == bare {
				out := r.run(ctx, []string{boxProgram})
				return float64(out.elapsed) / float64(time.Millisecond), out.exit, out.err
			}
			req := &manager.Request{Op: "run", Box: apiBox, Cg: mgr.cg, Run: spec}
			if s == ping {
				req = &manager.Request{Op: "ping"}
			}
			t0 := time.Now()
			rep, err := c.Do(req)
			ms := float64(time.Since(t0)) / float64(time.Millisecond)
			if err != nil {
				return math.NaN(), -1, err
			}
			if s == ping {
				return ms, 0, nil
			}
			if rep.Report == nil || rep.Report.Status != meta.OK {
				return math.NaN(), 1, fmt.Errorf("report %+v", rep.Report)
			}
			return ms, 0, nil
		},
	}
}

// waitDial connects to a manager that may still be starting.
func waitDial(socket string) (*manager.Client, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := manager.Dial(socket)
		if err == nil || time.Now().After(deadline) {
			return c, err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// throughputWarmup is the uncounted window each front end runs first.
const throughputWarmup = 2 * time.Second

// throughput is the throughput scenario's outcome: cycles per second of
// each front end, per window.
type throughput struct {
	perSecond map[string][]float64
	failures  map[string]int
}

// runThroughput runs windows windows of d per front end, alternating, with
// two workers each on a box of its own (b.isolateBox and the one after).
func runThroughput(ctx context.Context, r *runner, fronts []*boxFrontEnd, d time.Duration, windows int, rec *csvRecorder) *throughput {
	t := &throughput{perSecond: map[string][]float64{}, failures: map[string]int{}}
	// A warm-up window each, not counted, as the latency scenarios have
	// warm-up rounds: a manager started for the scenario first makes its
	// spares and run cgroups, and isolate's boxes and caches warm up too.
	for _, f := range fronts {
		_, _ = cycles(ctx, r, f, throughputWarmup)
	}
	for w := 1; w <= windows; w++ {
		for _, f := range fronts {
			n, failed := cycles(ctx, r, f, d)
			rate := float64(n) / d.Seconds()
			t.perSecond[f.label] = append(t.perSecond[f.label], rate)
			t.failures[f.label] += failed
			_ = rec.add(scenarioThroughput, f.label, w, rate, failed)
			fmt.Fprintf(os.Stderr, "bench: throughput: window %d/%d: %s %.1f cycles/s\n", w, windows, f.label, rate)
		}
	}
	return t
}

// cycles runs two workers doing init/run/cleanup cycles for d and returns
// the cycles completed and failed. Each worker has a runner of its own.
func cycles(ctx context.Context, r *runner, f *boxFrontEnd, d time.Duration) (done, failed int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for i := 0; i < 2; i++ {
		w := *f
		w.box = f.box + i
		scratch, err := os.MkdirTemp(filepath.Dir(r.stderrPath), "worker-")
		if err != nil {
			return 0, 1
		}
		wr, err := newRunner(scratch, r.timeout)
		if err != nil {
			return 0, 1
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer wr.close()
			_ = w.do(ctx, wr, "--cleanup")
			for time.Now().Before(deadline) && ctx.Err() == nil {
				out := wr.runSequence(ctx, [][]string{w.command("--init"), w.runCommand(boxProgram), w.command("--cleanup")}, w.env)
				mu.Lock()
				if out.err == nil {
					done++
				} else {
					if failed == 0 {
						fmt.Fprintf(os.Stderr, "bench: throughput: %s: a cycle failed: %s\n", f.label, out.describe())
					}
					failed++
				}
				mu.Unlock()
			}
			// A failed or interrupted cycle can leave the box initialised.
			_ = w.do(context.WithoutCancel(ctx), wr, "--cleanup")
		}()
	}
	wg.Wait()
	return done, failed
}

// boxesWithProgram compiles progs/NAME.c and puts it, as ./NAME, into
// each of boxes, which it initialises through the manager's API. cleanup
// removes the boxes; the caller closes the client.
func boxesWithProgram(ctx context.Context, mgr *boxFrontEnd, cc, progs, tmp, name string, boxes ...int) (c *manager.Client, cleanup func(), err error) {
	bin := filepath.Join(tmp, name)
	if out, err := exec.CommandContext(ctx, cc, "-O2", "-static", "-o", bin, filepath.Join(progs, name+".c")).CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("compiling %s.c: %v: %s", name, err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, nil, err
	}
	if c, err = waitDial(mgr.socket); err != nil {
		return nil, nil, err
	}
	var made []int
	cleanup = func() {
		for _, id := range made {
			_, _ = c.Do(&manager.Request{Op: "cleanup", Box: id, Cg: mgr.cg})
		}
	}
	for _, id := range boxes {
		if _, err = c.Do(&manager.Request{Op: "init", Box: id, Cg: mgr.cg}); err == nil {
			made = append(made, id)
			_, err = c.Do(&manager.Request{Op: "put", Box: id, Path: name, Data: data, Mode: 0o755})
		}
		if err != nil {
			cleanup()
			c.Close()
			return nil, nil, err
		}
	}
	return c, cleanup, nil
}
