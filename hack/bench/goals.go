package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

// goal is one of the performance goals of docs/performance.md, measured.
type goal struct {
	n      int
	what   string
	value  float64 // NaN when not measured
	limit  float64
	atMost bool // value must be <= limit (else >= limit)
	// explained: a miss is not a failure, docs/performance.md says why.
	explained bool
}

func (g goal) met() bool {
	if g.atMost {
		return g.value <= g.limit
	}
	return g.value >= g.limit
}

// goalInputs are the results the goals are read from.
type goalInputs struct {
	byName map[string]*result
	extras
}

// goals evaluates every goal that could be measured.
func goals(in goalInputs) []goal {
	ratio := func(sc, a, b string) float64 {
		res := in.byName[sc]
		if res == nil {
			return math.NaN()
		}
		return medianOr(res.ms[a]) / medianOr(res.ms[b])
	}
	var out []goal
	out = append(out, goal{n: 1, what: "cold --init/--run/--cleanup, manager / isolate", value: ratio(scenarioIsolateCold, labelManager, labelIsolate), limit: 1.0, atMost: true})
	out = append(out, goal{n: 2, what: "warm --run, manager / isolate", value: ratio(scenarioIsolateWarm, labelManager, labelIsolate), limit: 0.75, atMost: true})
	api := math.NaN()
	if res := in.byName[scenarioAPI]; res != nil {
		api = medianOr(res.ms[labelAPI]) - medianOr(res.ms[labelBare])
	}
	out = append(out, goal{n: 3, what: "native API warm run, ms over a bare fork+exec", value: api, limit: 0.5, atMost: true})
	tp := math.NaN()
	if in.throughput != nil {
		tp = mean(in.throughput.perSecond[labelManager]) / mean(in.throughput.perSecond[labelIsolate])
	}
	out = append(out, goal{n: 4, what: "two boxes in parallel, cycles/s manager / isolate", value: tp, limit: 1.5})
	out = append(out, goal{n: 5, what: "one-shot OCI run of a bundle, mini-isolate / runc", value: ratio(scenarioStartup, "mini-isolate", "runc"), limit: 0.8, atMost: true, explained: true})
	cpu, rss := math.NaN(), math.NaN()
	if len(in.supervision) > 0 {
		var cpus []float64
		for _, c := range in.supervision {
			cpus = append(cpus, float64(c.cpu)/float64(c.elapsed)*100)
			rss = math.Max(nanZero(rss), float64(c.rssKiB)*1024/1e6)
		}
		cpu = medianOr(cpus)
	}
	out = append(out, goal{n: 6, what: "supervisor + init CPU during a 1 s CPU-bound run, % of one CPU", value: cpu, limit: 1, atMost: true})
	out = append(out, goal{n: 6, what: "supervisor + init resident memory, MB", value: rss, limit: 15, atMost: true})
	inter := math.NaN()
	if len(in.interact) > 0 {
		inter = medianOr(interactMs(in.interact, labelInteract)) / medianOr(interactMs(in.interact, labelPipes))
	}
	out = append(out, goal{n: 7, what: "interact, 10,000 round trips in two boxes / bare pipes", value: inter, limit: 1.25, atMost: true})
	return out
}

func nanZero(x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return x
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// printGoals prints the goals and returns whether one that counts was
// missed.
func printGoals(w io.Writer, gs []goal) (missed bool) {
	fmt.Fprintln(w, "\ngoals (docs/performance.md):")
	for _, g := range gs {
		op := ">="
		if g.atMost {
			op = "<="
		}
		verdict := "met"
		switch {
		case math.IsNaN(g.value):
			verdict = "not measured"
		case !g.met() && g.explained:
			verdict = "missed (explained in docs/performance.md)"
		case !g.met():
			verdict = "MISSED"
			missed = true
		}
		fmt.Fprintf(w, "  %d. %-62s %8.2f %s %-5g %s\n", g.n, g.what, g.value, op, g.limit, verdict)
	}
	return missed
}

// supervisionTable prints what the supervision scenario measured.
func supervisionTable(w io.Writer, costs []supervisionCost) {
	if len(costs) == 0 {
		return
	}
	var cpu, rss, anon []float64
	for _, c := range costs {
		cpu = append(cpu, float64(c.cpu)/float64(time.Millisecond))
		rss = append(rss, float64(c.rssKiB))
		anon = append(anon, float64(c.anonKiB))
	}
	slices.Sort(rss)
	source := "their threads' schedstat, in ns"
	if slices.ContainsFunc(costs, func(c supervisionCost) bool { return c.ticks }) {
		source = "/proc/PID/stat, in 10 ms ticks: too coarse to decide the 1 % goal"
	}
	fmt.Fprintf(w, "\nscenario %s: a program burning %d ms of CPU through the native API; the manager (supervisor) and the box's init, CPU from %s\n", scenarioSupervision, burnMs, source)
	fmt.Fprintf(w, "  %d runs: CPU median %.2f ms (max %.2f ms); resident memory together, largest sample: median %.0f KiB, max %.0f KiB\n",
		len(costs), medianOr(cpu), slices.Max(cpu), medianOr(rss), rss[len(rss)-1])
	fmt.Fprintf(w, "  of which private (anonymous) memory: median %.0f KiB; the rest is file pages, mostly the binary's text, shared by its every process\n", medianOr(anon))
}

// throughputTable prints the throughput scenario's windows.
func throughputTable(w io.Writer, t *throughput, d time.Duration) {
	if t == nil {
		return
	}
	fmt.Fprintf(w, "\nscenario %s: 2 workers, each --init, -s --run -- %s and --cleanup on a box of its own, for %v per window; cycles per second\n", scenarioThroughput, boxProgram, d)
	for label, rates := range t.perSecond {
		fmt.Fprintf(w, "  %-22s windows %v mean %.1f cycles/s, %d failed cycles\n", label, fmtRates(rates), mean(rates), t.failures[label])
	}
}

func fmtRates(rates []float64) string {
	s := ""
	for i, r := range rates {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%.1f", r)
	}
	return "[" + s + "]"
}
