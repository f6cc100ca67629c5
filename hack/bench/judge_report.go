package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

const (
	// overshootTargetMs is the goal for the median kill overshoot.
	overshootTargetMs = 5.0
	// isolatePollMs is the period of isolate's timer, on which it checks
	// its limits.
	isolatePollMs = 100
	// The goal for the reported CPU time: within accuracyTargetMs plus
	// accuracyTargetPct percent of the host's figure.
	accuracyTargetMs  = 1.0
	accuracyTargetPct = 1.0
)

// isolateQuoted are isolate's kills on this machine as the issue reports
// them. They are printed, labelled as quoted, when isolate cannot be
// measured.
var isolateQuoted = map[limitKind]struct {
	what        string
	overshootMs float64
}{
	limitCPU:  {"a -t 0.5 spinner killed at 0.59 s", 90},
	limitWall: {"a -w 0.5 sleeper killed at 0.600 s", 100},
}

// printPrecision writes the overshoot table: for each limit, mini-isolate's
// order statistics, and beside them isolate's, measured or quoted.
func printPrecision(w io.Writer, res *result, warmup int, isolateMeasured bool, isolateStatus string) error {
	sc := res.sc
	fmt.Fprintf(w, "\nscenario %s: %s\n", sc.name, sc.title)
	fmt.Fprintf(w, "%d measured rounds after %d warm-up rounds; overshoot in ms\n", res.rounds, warmup)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	width := len("limit")
	row := func(label string) string {
		fail := strconv.Itoa(res.failures[label])
		if res.dropped[label] {
			fail += " (dropped)"
		}
		st, err := summarize(res.ms[label])
		if err != nil {
			return fmt.Sprintf("0\t%s\t-\t-\t-", fail)
		}
		return fmt.Sprintf("%d\t%s\t%.2f\t%.2f\t%.2f", st.N, fail, st.Median, st.P90, st.Max)
	}
	if isolateMeasured {
		fmt.Fprintf(tw, "%-*s\tn\tfail\tmedian\tp90\tmax\t|\tisolate n\tfail\tmedian\tp90\tmax\t\n", width, "limit")
		for _, k := range precisionKinds {
			fmt.Fprintf(tw, "%-*s\t%s\t|\t%s\t\n", width, k.short(), row(precisionLabel(labelMI, k)), row(precisionLabel(labelIsolate, k)))
		}
	} else {
		fmt.Fprintf(tw, "%-*s\tn\tfail\tmedian\tp90\tmax\t | isolate (quoted from the issue, not measured)\n", width, "limit")
		for _, k := range precisionKinds {
			q := isolateQuoted[k]
			fmt.Fprintf(tw, "%-*s\t%s\t | %s: %.0f ms over\n", width, k.short(), row(precisionLabel(labelMI, k)), q.what, q.overshootMs)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("printing table: %w", err)
	}
	fmt.Fprintln(w, isolateStatus)
	if isolateMeasured {
		fmt.Fprintf(w, "note: isolate checks its limits on a %d ms timer and reports times in whole ms\n", isolatePollMs)
	} else {
		fmt.Fprintf(w, "note: reference only: isolate checks its limits on a %d ms timer; the isolate column is quoted from the issue (isolate on this machine), not measured by this run\n", isolatePollMs)
	}
	return nil
}

// precisionHeadline is the final line of the precision scenario.
func precisionHeadline(res *result) string {
	var st [2]*summary
	for i, k := range precisionKinds {
		if s, err := summarize(res.ms[precisionLabel(labelMI, k)]); err == nil {
			st[i] = &s
		}
	}
	failed := 0
	for _, k := range precisionKinds {
		failed += res.failures[precisionLabel(labelMI, k)]
	}
	return overshootHeadline(st[0], st[1], failed)
}

// overshootHeadline formats the kill overshoot of the CPU and wall limits
// (nil: no successful run) against the target for the median.
func overshootHeadline(cpu, wall *summary, failed int) string {
	part := func(name string, s *summary) string {
		if s == nil {
			return name + " n/a"
		}
		return fmt.Sprintf("%s median %.2f ms max %.2f ms", name, s.Median, s.Max)
	}
	verdict := "met"
	switch {
	case cpu == nil || wall == nil:
		verdict = "n/a"
	case cpu.Median > overshootTargetMs || wall.Median > overshootTargetMs:
		verdict = "missed"
	}
	line := fmt.Sprintf("bench: kill overshoot %s; %s (target: median <= %g ms): %s",
		part("cpu", cpu), part("wall", wall), overshootTargetMs, verdict)
	if failed > 0 {
		line += fmt.Sprintf("; %d failed runs (wrong verdict or no report) left out", failed)
	}
	return line
}

// cpuComparison compares the CPU time mini-isolate reports with the host's
// rusage of the same program, in ms.
type cpuComparison struct {
	Host, Judged  float64 // medians
	Pairs         int     // rounds in which both ran successfully
	MedianAbsDiff float64 // median over those rounds of |judged - host|; NaN without pairs
	DiffOfMedians float64 // Judged - Host
}

// percent returns x as a percentage of the host median.
func (c cpuComparison) percent(x float64) float64 {
	if c.Host <= 0 {
		return math.NaN()
	}
	return 100 * x / c.Host
}

// tolerance is the largest difference of medians within the target, in ms.
func (c cpuComparison) tolerance() float64 {
	return accuracyTargetMs + accuracyTargetPct/100*c.Host
}

// compareCPU compares the host's and the judged series, each with the
// round of every value; values of the same round form a pair.
func compareCPU(host []float64, hostRounds []int, judged []float64, judgedRounds []int) (cpuComparison, error) {
	var c cpuComparison
	var err error
	if c.Host, err = median(host); err != nil {
		return c, fmt.Errorf("host series: %w", err)
	}
	if c.Judged, err = median(judged); err != nil {
		return c, fmt.Errorf("judged series: %w", err)
	}
	if len(host) != len(hostRounds) || len(judged) != len(judgedRounds) {
		return c, fmt.Errorf("series and rounds differ in length: %d/%d host, %d/%d judged",
			len(host), len(hostRounds), len(judged), len(judgedRounds))
	}
	c.DiffOfMedians = c.Judged - c.Host
	byRound := make(map[int]float64, len(host))
	for i, r := range hostRounds {
		byRound[r] = host[i]
	}
	var diffs []float64
	for i, r := range judgedRounds {
		if h, ok := byRound[r]; ok {
			diffs = append(diffs, math.Abs(judged[i]-h))
		}
	}
	c.Pairs = len(diffs)
	c.MedianAbsDiff = math.NaN()
	if len(diffs) > 0 {
		c.MedianAbsDiff, _ = median(diffs)
	}
	return c, nil
}

// accuracyComparison compares the accuracy scenario's two series.
func accuracyComparison(res *result) (cpuComparison, error) {
	return compareCPU(res.ms[labelHostRusage], res.msRound[labelHostRusage], res.ms[labelMITimeUs], res.msRound[labelMITimeUs])
}

// printAccuracy writes the usual table of both series and then how far
// apart they are.
func printAccuracy(w io.Writer, res *result, warmup int) error {
	if err := printTable(w, res, warmup); err != nil {
		return err
	}
	c, err := accuracyComparison(res)
	if err != nil {
		fmt.Fprintf(w, "comparison: n/a (%v)\n", err)
		return nil
	}
	if c.Pairs > 0 {
		fmt.Fprintf(w, "paired by round (%d pairs): median |%s - %s| = %.3f ms (%.2f%% of the host median)\n",
			c.Pairs, labelMITimeUs, labelHostRusage, c.MedianAbsDiff, c.percent(c.MedianAbsDiff))
	} else {
		fmt.Fprintln(w, "paired by round: n/a (no round in which both succeeded)")
	}
	fmt.Fprintf(w, "difference of medians: %s - %s = %+.3f ms (%+.2f%%); target: within %g ms + %g%% = %.2f ms\n",
		labelMITimeUs, labelHostRusage, c.DiffOfMedians, c.percent(c.DiffOfMedians), accuracyTargetMs, accuracyTargetPct, c.tolerance())
	return nil
}

// accuracyHeadline is the final line of the accuracy scenario.
func accuracyHeadline(res *result) string {
	c, err := accuracyComparison(res)
	failed := res.failures[labelHostRusage] + res.failures[labelMITimeUs]
	return formatAccuracyHeadline(c, err, failed)
}

// formatAccuracyHeadline formats c (or err, when it could not be computed).
func formatAccuracyHeadline(c cpuComparison, err error, failed int) string {
	var b strings.Builder
	b.WriteString("bench: reported CPU time vs host rusage: ")
	target := fmt.Sprintf("(target: within %g ms + %g%%)", accuracyTargetMs, accuracyTargetPct)
	if err != nil {
		fmt.Fprintf(&b, "median diff n/a %s: n/a (%v)", target, err)
	} else {
		verdict := "met"
		if math.Abs(c.DiffOfMedians) > c.tolerance() {
			verdict = "missed"
		}
		fmt.Fprintf(&b, "median diff %+.2f ms (%+.2f%%) %s: %s", c.DiffOfMedians, c.percent(c.DiffOfMedians), target, verdict)
	}
	if failed > 0 {
		fmt.Fprintf(&b, "; %d failed runs left out", failed)
	}
	return b.String()
}
