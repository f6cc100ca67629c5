package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// ProgramRun is one test program's run on one runtime.
type ProgramRun struct {
	Report     Report
	Exit       Exit
	Score      Score
	StderrTail []string
	Duration   time.Duration
}

// Row is one test program, run on both runtimes; Ref is nil when no
// reference runtime was given.
type Row struct {
	Program string
	Test    *ProgramRun
	Ref     *ProgramRun
}

// Worse reports whether the runtime under test scored below the reference.
func (r Row) Worse() bool {
	if r.Ref == nil || r.Test == nil {
		return false
	}
	return r.Test.Score.Passed < r.Ref.Score.Passed || r.Test.Score.Failed > r.Ref.Score.Failed
}

// Regression is something the reference passes and the runtime under test
// does not.
type Regression struct {
	Program     string
	Description string // empty for a program-level failure
	Occurrence  int    // 1-based; shown only when the description repeats
	Repeats     bool
	Got         string // what the runtime under test did instead
	Detail      []string
}

func (g Regression) String() string {
	var b strings.Builder
	if g.Description == "" {
		fmt.Fprintf(&b, "%s: program failed: %s", g.Program, g.Got)
	} else {
		fmt.Fprintf(&b, "%s: %q", g.Program, g.Description)
		if g.Repeats {
			fmt.Fprintf(&b, " (occurrence %d)", g.Occurrence)
		}
		fmt.Fprintf(&b, ": %s", g.Got)
	}
	for _, l := range g.Detail {
		fmt.Fprintf(&b, "\n      | %s", l)
	}
	return b.String()
}

type assertionKey struct {
	desc string
	occ  int
}

func keyed(as []Assertion) (map[assertionKey]Status, []assertionKey, map[string]int) {
	seen := map[string]int{}
	m := make(map[assertionKey]Status, len(as))
	order := make([]assertionKey, 0, len(as))
	for _, a := range as {
		seen[a.Description]++
		k := assertionKey{a.Description, seen[a.Description]}
		m[k] = a.Status
		order = append(order, k)
	}
	return m, order, seen
}

// Regressions lists, for one program, each assertion that ref passes and
// got fails or does not print, and a program-level failure of got that
// ref did not have.
func Regressions(program string, ref, got *ProgramRun) []Regression {
	if ref == nil || got == nil {
		return nil
	}
	var out []Regression
	switch {
	case ref.Score.Problem == "" && got.Score.Problem != "":
		out = append(out, Regression{Program: program, Got: got.Score.Problem, Detail: got.StderrTail})
	case ref.Score.NoAssertionPass && !got.Score.NoAssertionPass:
		out = append(out, Regression{
			Program: program,
			Got:     fmt.Sprintf("printed %d assertion(s) where the reference printed none and passed", len(got.Report.Assertions)),
			Detail:  got.StderrTail,
		})
	}
	if ref.Score.Abnormal {
		// Its ok lines were discarded from its score, so they are not passes.
		return out
	}
	refStatus, order, counts := keyed(ref.Report.Assertions)
	gotStatus, _, _ := keyed(got.Report.Assertions)
	for _, k := range order {
		if refStatus[k] != Pass {
			continue
		}
		st, ok := gotStatus[k]
		var what string
		switch {
		case !ok:
			what = "not printed"
		case st == Fail:
			what = "not ok"
		default:
			continue
		}
		out = append(out, Regression{
			Program:     program,
			Description: k.desc,
			Occurrence:  k.occ,
			Repeats:     counts[k.desc] > 1,
			Got:         what,
		})
	}
	return out
}

// WriteRegressions prints a per-program summary of the regressions and
// then every one of them.
func WriteRegressions(w io.Writer, regs []Regression, testLabel, refLabel string) error {
	var b strings.Builder
	if len(regs) == 0 {
		fmt.Fprintf(&b, "\nNo regressions: %s passes everything that %s passes.\n", testLabel, refLabel)
	} else {
		fmt.Fprintf(&b, "\nRegressions by test program (%s passes, %s does not):\n", refLabel, testLabel)
		for i := 0; i < len(regs); {
			j, failed, missing, program := i, 0, 0, ""
			for ; j < len(regs) && regs[j].Program == regs[i].Program; j++ {
				switch {
				case regs[j].Description == "":
					program = regs[j].Got
				case regs[j].Got == "not printed":
					missing++
				default:
					failed++
				}
			}
			var parts []string
			if program != "" {
				parts = append(parts, "program failed: "+program)
			}
			if failed > 0 {
				parts = append(parts, fmt.Sprintf("%d not ok", failed))
			}
			if missing > 0 {
				parts = append(parts, fmt.Sprintf("%d not printed", missing))
			}
			fmt.Fprintf(&b, "  %-32s %4d  %s\n", regs[i].Program, j-i, strings.Join(parts, "; "))
			i = j
		}
		fmt.Fprintf(&b, "\nRegressions (%d):\n", len(regs))
		for _, g := range regs {
			fmt.Fprintf(&b, "  %s\n", g)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write regressions: %w", err)
	}
	return nil
}

// Totals sums the scores of one runtime's column.
type Totals struct{ Passed, Failed, Skipped int }

func (t *Totals) add(s Score) {
	t.Passed += s.Passed
	t.Failed += s.Failed
	t.Skipped += s.Skipped
}

// WriteTable prints one row per program with both runtimes side by side,
// then a TOTAL row, and returns both columns' totals. refLabel is empty
// when there is no reference.
func WriteTable(w io.Writer, rows []Row, testLabel, refLabel string) (test, ref Totals, err error) {
	width := len("test program")
	for _, r := range rows {
		width = max(width, len(r.Program))
	}
	const group = 20 // "%6d %6d %6d"
	center := func(s string) string {
		if len(s) > group {
			s = s[:group-1] + "~"
		}
		left := (group - len(s)) / 2
		return strings.Repeat(" ", left) + s + strings.Repeat(" ", group-len(s)-left)
	}
	cells := func(p *ProgramRun) string {
		if p == nil {
			return fmt.Sprintf("%6s %6s %6s", "-", "-", "-")
		}
		return fmt.Sprintf("%6d %6d %6d", p.Score.Passed, p.Score.Failed, p.Score.Skipped)
	}
	sub := fmt.Sprintf("%6s %6s %6s", "pass", "fail", "skip")
	var b strings.Builder
	if refLabel != "" {
		fmt.Fprintf(&b, "%-*s  %s  %s\n", width, "test program", center(refLabel+" (ref)"), center(testLabel))
		fmt.Fprintf(&b, "%-*s  %s  %s\n", width, "", sub, sub)
	} else {
		fmt.Fprintf(&b, "%-*s  %s\n", width, "test program", center(testLabel))
		fmt.Fprintf(&b, "%-*s  %s\n", width, "", sub)
	}
	for _, r := range rows {
		if r.Test != nil {
			test.add(r.Test.Score)
		}
		if r.Ref != nil {
			ref.add(r.Ref.Score)
		}
		if refLabel == "" {
			fmt.Fprintf(&b, "%-*s  %s\n", width, r.Program, cells(r.Test))
			continue
		}
		mark := ""
		if r.Worse() {
			mark = "  <<< worse"
		}
		fmt.Fprintf(&b, "%-*s  %s  %s%s\n", width, r.Program, cells(r.Ref), cells(r.Test), mark)
	}
	tot := func(t Totals) string { return fmt.Sprintf("%6d %6d %6d", t.Passed, t.Failed, t.Skipped) }
	if refLabel != "" {
		fmt.Fprintf(&b, "%-*s  %s  %s\n", width, "TOTAL", tot(ref), tot(test))
	} else {
		fmt.Fprintf(&b, "%-*s  %s\n", width, "TOTAL", tot(test))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return test, ref, fmt.Errorf("write table: %w", err)
	}
	return test, ref, nil
}
