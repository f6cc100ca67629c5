package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
)

// csvRecorder writes one row per timed run.
type csvRecorder struct {
	path string
	f    *os.File
	w    *csv.Writer
}

// openCSV creates path (and its directory) and writes the header.
func openCSV(path string) (*csvRecorder, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating CSV directory: %w", err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating CSV: %w", err)
	}
	rec := &csvRecorder{path: path, f: f, w: csv.NewWriter(f)}
	if err := rec.w.Write([]string{"scenario", "runtime", "round", "ms", "exit"}); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing CSV header: %w", err)
	}
	return rec, nil
}

// add writes one row; ms is NaN, written as an empty field, when the run
// gave no measurement.
func (c *csvRecorder) add(scenario, label string, round int, ms float64, exit int) error {
	msField := ""
	if !math.IsNaN(ms) {
		msField = strconv.FormatFloat(ms, 'f', 3, 64)
	}
	row := []string{scenario, label, strconv.Itoa(round), msField, strconv.Itoa(exit)}
	if err := c.w.Write(row); err != nil {
		return fmt.Errorf("writing %s: %w", c.path, err)
	}
	return nil
}

func (c *csvRecorder) flush() error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return fmt.Errorf("writing %s: %w", c.path, err)
	}
	return nil
}

func (c *csvRecorder) close() error {
	ferr := c.flush()
	if err := c.f.Close(); err != nil && ferr == nil {
		ferr = fmt.Errorf("closing %s: %w", c.path, err)
	}
	return ferr
}

// printTable writes one row per subject of res: its order statistics in ms
// and the ratio of its median to the baseline's.
func printTable(w io.Writer, res *result, warmup int) error {
	sc := res.sc
	fmt.Fprintf(w, "\nscenario %s: %s\n", sc.name, sc.title)
	fmt.Fprintf(w, "%d measured rounds after %d warm-up rounds; times in ms", res.rounds, warmup)
	if sc.baseline != "" {
		fmt.Fprintf(w, "; ratio = median / median of %s", sc.baseline)
	}
	fmt.Fprintln(w)
	base, baseErr := median(res.ms[sc.baseline])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	// Labels are padded here so they stay left-aligned in a right-aligned table.
	labels := make([]string, len(sc.subjects))
	width := len("runtime")
	for i, s := range sc.subjects {
		labels[i] = s.label
		if res.dropped[s.label] {
			labels[i] += " (dropped)"
		}
		width = max(width, len(labels[i]))
	}
	fmt.Fprintf(tw, "%-*s\tn\tfail\tmedian\tp10\tp90\tmin\tmax\tratio\t\n", width, "runtime")
	for i, s := range sc.subjects {
		label := fmt.Sprintf("%-*s", width, labels[i])
		st, err := summarize(res.ms[s.label])
		if err != nil {
			fmt.Fprintf(tw, "%s\t0\t%d\t-\t-\t-\t-\t-\t-\t\n", label, res.failures[s.label])
			continue
		}
		ratio := "-"
		if baseErr == nil && base > 0 {
			ratio = fmt.Sprintf("%.2f", st.Median/base)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t\n",
			label, st.N, res.failures[s.label], st.Median, st.P10, st.P90, st.Min, st.Max, ratio)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("printing table: %w", err)
	}
	for _, s := range sc.subjects {
		if s.note != "" {
			fmt.Fprintf(w, "note: %s\n", s.note)
		}
	}
	return nil
}

// headline formats the one-line verdict comparing two labels' medians.
func headline(res *result, subject, baseline string) string {
	a, aerr := median(res.ms[subject])
	b, berr := median(res.ms[baseline])
	if aerr != nil || berr != nil || b <= 0 {
		return fmt.Sprintf("bench: %s run / %s run = n/a (no successful runs to compare)", subject, baseline)
	}
	line := fmt.Sprintf("bench: %s run / %s run = %.2f (median %.2f ms vs %.2f ms)", subject, baseline, a/b, a, b)
	if n := res.failures[subject] + res.failures[baseline]; n > 0 {
		line += fmt.Sprintf("; %d failed runs left out", n)
	}
	return line
}
