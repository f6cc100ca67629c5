package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/mini-isolate/mini-isolate/manager"
	"github.com/mini-isolate/mini-isolate/policy"
)

const (
	scenarioInteract = "interact"
	// interactTrips is how many line round trips one interaction makes.
	interactTrips = 10000
	interactRuns  = 10
	// The interact scenario's boxes (the api scenario's is apiBox).
	interactBoxA, interactBoxB = apiBox + 1, apiBox + 2
)

// Subjects of the interact scenario.
const (
	labelPipes      = "bare pipes"
	labelInteract   = "interact"
	labelTranscript = "interact+transcript"
)

var interactLabels = []string{labelPipes, labelInteract, labelTranscript}

// interactCost is one round of the interact scenario: the elapsed time of
// each subject's interaction.
type interactCost map[string]time.Duration

// measureInteract times interactTrips round trips between two programs:
// on the host over a pair of pipes, then through the native API's
// interact request in two boxes, without and with a transcript,
// interleaved round by round. The sandboxes' set-up is in the interact
// times: a few ms against about a second of exchange.
func measureInteract(ctx context.Context, mgr *boxFrontEnd, progs, cc, tmp string, rounds int, rec *csvRecorder) ([]interactCost, error) {
	c, cleanup, err := boxesWithProgram(ctx, mgr, cc, progs, tmp, "pingpong", interactBoxA, interactBoxB)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	defer cleanup()
	prog := filepath.Join(tmp, "pingpong")
	var costs []interactCost
	for i := 0; i < rounds && ctx.Err() == nil; i++ {
		cost := interactCost{}
		if cost[labelPipes], err = barePingPong(ctx, prog); err != nil {
			return costs, err
		}
		for _, limit := range []int64{0, 1 << 20} {
			label := labelInteract
			if limit > 0 {
				label = labelTranscript
			}
			if cost[label], err = apiPingPong(c, mgr.cg, limit); err != nil {
				return costs, fmt.Errorf("%s: %w", label, err)
			}
		}
		for _, l := range interactLabels {
			_ = rec.add(scenarioInteract, l, i+1, float64(cost[l])/float64(time.Millisecond), 0)
		}
		costs = append(costs, cost)
	}
	return costs, nil
}

// barePingPong runs the pair on the host, wired by two pipes.
func barePingPong(ctx context.Context, prog string) (time.Duration, error) {
	r1, w1, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	r2, w2, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	serve := exec.CommandContext(ctx, prog, "serve", strconv.Itoa(interactTrips))
	echo := exec.CommandContext(ctx, prog, "echo")
	serve.Stdin, serve.Stdout, echo.Stdin, echo.Stdout = r2, w1, r1, w2
	errS, errE := serve.Start(), echo.Start()
	for _, f := range []*os.File{r1, w1, r2, w2} {
		f.Close()
	}
	if errS != nil || errE != nil {
		return 0, fmt.Errorf("bare pipes: %v %v", errS, errE)
	}
	errS, errE = serve.Wait(), echo.Wait()
	if errS != nil || errE != nil {
		return 0, fmt.Errorf("bare pipes: %v %v", errS, errE)
	}
	return time.Since(t0), nil
}

// apiPingPong runs the pair as an interaction of the native API.
func apiPingPong(c *manager.Client, cg bool, transcript int64) (time.Duration, error) {
	party := func(id int, args ...string) *manager.PartySpec {
		p := &manager.PartySpec{Box: id, Cg: cg, RunSpec: manager.RunSpec{Args: append([]string{"./pingpong"}, args...)}}
		p.Limits.Time = policy.Duration(30 * time.Second)
		return p
	}
	t0 := time.Now()
	rep, err := c.Do(&manager.Request{Op: "interact", TranscriptLimit: transcript, WallTime: policy.Duration(60 * time.Second),
		Parties: []*manager.PartySpec{party(interactBoxA, "serve", strconv.Itoa(interactTrips)), party(interactBoxB, "echo")}})
	took := time.Since(t0)
	if err != nil {
		return 0, err
	}
	if v := rep.Interaction.Verdict; v.Verdict != "OK" {
		return 0, fmt.Errorf("verdict %s: %s", v.Verdict, v.Message)
	}
	return took, nil
}

// interactTable prints what the interact scenario measured.
func interactTable(w io.Writer, costs []interactCost) {
	if len(costs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nscenario %s: %d line round trips between two programs, %d rounds interleaved; elapsed ms\n", scenarioInteract, interactTrips, len(costs))
	base := medianOr(interactMs(costs, labelPipes))
	for _, l := range interactLabels {
		med := medianOr(interactMs(costs, l))
		fmt.Fprintf(w, "  %-22s median %8.1f ms  %6.1f µs per round trip  %s of bare pipes\n", l, med, med*1000/interactTrips, fmtRatio(med, base))
	}
}

func interactMs(costs []interactCost, label string) []float64 {
	var ms []float64
	for _, c := range costs {
		ms = append(ms, float64(c[label])/float64(time.Millisecond))
	}
	return ms
}
