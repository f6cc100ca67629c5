package main

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Status is the outcome of one TAP assertion line.
type Status int

// Assertion outcomes. An "ok # TODO" line counts as Pass and a
// "not ok # TODO" line as Todo, which is neither passed nor failed.
const (
	Pass Status = iota
	Fail
	Skip
	Todo
)

func (s Status) String() string {
	switch s {
	case Pass:
		return "ok"
	case Fail:
		return "not ok"
	case Skip:
		return "skip"
	case Todo:
		return "not ok # TODO"
	}
	return "unknown"
}

// Assertion is one "ok" or "not ok" line.
type Assertion struct {
	Number      int // 0 when the line carries no number
	Description string
	Status      Status
}

// Plan is a "1..N" line and the number of results in its document.
type Plan struct {
	Count, Results int
}

// Report is what a test program printed on stdout, parsed as TAP.
type Report struct {
	Assertions []Assertion
	// Plans holds every plan line with the number of results in its TAP
	// document. Some programs print several documents, each starting
	// with "TAP version 13" and carrying its own plan.
	Plans []Plan
	// YAMLBlocks counts "---" ... "..." diagnostic blocks.
	YAMLBlocks int
	// Bailed is set by a "Bail out!" line, and BailOut holds its reason.
	Bailed  bool
	BailOut string
}

var (
	testLineRE  = regexp.MustCompile(`^(not ok|ok)(?:\s+(\d+))?(?:\s*-)?(?:\s+(.*?))?\s*$`)
	directiveRE = regexp.MustCompile(`(?i)(?:^|\s)#\s*(skip|todo)\b\s*(.*)$`)
	planRE      = regexp.MustCompile(`^1\.\.(\d+)\s*(?:#.*)?$`)
	yamlStartRE = regexp.MustCompile(`^\s+---\s*$`)
	yamlEndRE   = regexp.MustCompile(`^\s+\.\.\.\s*$`)
)

// ParseTAP parses TAP version 13 as printed by mndrix/tap-go. It never
// fails: lines it does not understand are ignored, as TAP requires.
func ParseTAP(out []byte) Report {
	var r Report
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	inYAML := false
	docStart, planStart := 0, 0 // indexes into Assertions and Plans
	closeDoc := func() {
		for i := planStart; i < len(r.Plans); i++ {
			r.Plans[i].Results = len(r.Assertions) - docStart
		}
		docStart, planStart = len(r.Assertions), len(r.Plans)
	}
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if inYAML {
			// tap-go indents every YAML line, so an unindented line means
			// the block was cut short (for example by a crash).
			if yamlEndRE.MatchString(line) {
				inYAML = false
				continue
			}
			if line == "" || line[0] == ' ' || line[0] == '\t' {
				continue
			}
			inYAML = false
		}
		switch {
		case strings.HasPrefix(line, "TAP version "):
			closeDoc()
		case yamlStartRE.MatchString(line):
			inYAML = true
			r.YAMLBlocks++
		case strings.HasPrefix(line, "Bail out!"):
			if !r.Bailed {
				r.Bailed = true
				r.BailOut = strings.TrimSpace(strings.TrimPrefix(line, "Bail out!"))
			}
		case planRE.MatchString(line):
			n, err := strconv.Atoi(planRE.FindStringSubmatch(line)[1])
			if err != nil {
				n = -1 // an absurdly large plan can never match
			}
			r.Plans = append(r.Plans, Plan{Count: n})
		default:
			if a, ok := parseTestLine(line); ok {
				r.Assertions = append(r.Assertions, a)
			}
		}
	}
	if err := sc.Err(); err != nil && !r.Bailed {
		// Only a line over the buffer limit gets here; what follows it is lost.
		r.Bailed = true
		r.BailOut = "unreadable output: " + err.Error()
	}
	closeDoc()
	return r
}

func parseTestLine(line string) (Assertion, bool) {
	m := testLineRE.FindStringSubmatch(line)
	if m == nil {
		return Assertion{}, false
	}
	a := Assertion{Status: Pass, Description: m[3]}
	if m[1] == "not ok" {
		a.Status = Fail
	}
	if m[2] != "" {
		if n, err := strconv.Atoi(m[2]); err == nil {
			a.Number = n
		}
	}
	// tap-go writes "ok 3 # SKIP why" and "not ok 3 # TODO what", so the
	// directive may be all there is after the number.
	if d := directiveRE.FindStringSubmatchIndex(a.Description); d != nil {
		kind := strings.ToLower(a.Description[d[2]:d[3]])
		text := strings.TrimSpace(a.Description[d[4]:d[5]])
		before := strings.TrimSpace(a.Description[:d[0]])
		switch {
		case kind == "skip":
			a.Status = Skip
		case a.Status == Fail:
			a.Status = Todo
		}
		a.Description = strings.TrimSpace(before + " " + text)
	}
	return a, true
}

// Exit describes how a test program ended.
type Exit struct {
	Code     int    // exit status; -1 when it did not exit normally
	Signal   string // signal that killed it, if any
	TimedOut bool
	Panicked bool  // a Go panic trace was on stderr
	StartErr error // the program could not be run at all
}

func (e Exit) String() string {
	switch {
	case e.StartErr != nil:
		return "could not start: " + e.StartErr.Error()
	case e.TimedOut:
		return "timed out"
	case e.Signal != "":
		return "killed by signal " + e.Signal
	case e.Panicked:
		return fmt.Sprintf("crashed with a Go panic (exit status %d)", e.Code)
	default:
		return fmt.Sprintf("exit status %d", e.Code)
	}
}

// Score is one program's contribution to the totals.
type Score struct {
	Passed, Failed, Skipped int
	// Problem says why the program as a whole counted one failure; it is
	// empty when it did not.
	Problem string
	// Abnormal is set when the program did not exit 0 (or never ran): its
	// "ok" lines were then discarded.
	Abnormal bool
	// NoAssertionPass is set when the program printed no assertion, exited
	// 0 and printed no diagnostic, which the suite's hook and negative
	// tests use to report success.
	NoAssertionPass bool
}

// Tally scores one program run from its parsed stdout and how it ended.
func Tally(r Report, e Exit) Score {
	var s Score
	results := 0
	for _, a := range r.Assertions {
		results++
		switch a.Status {
		case Pass:
			s.Passed++
		case Fail:
			s.Failed++
		case Skip:
			s.Skipped++
		}
	}
	var problem string
	switch {
	case e.StartErr != nil || e.TimedOut || e.Signal != "" || e.Panicked || e.Code != 0:
		s.Abnormal = true
		s.Passed = 0
		problem = e.String()
	case r.Bailed:
		problem = "bailed out"
		if r.BailOut != "" {
			problem += ": " + r.BailOut
		}
	}
	if problem == "" {
		for _, p := range r.Plans {
			if p.Count != p.Results {
				problem = fmt.Sprintf("plan 1..%d does not match its %d results", p.Count, p.Results)
				break
			}
		}
	}
	if problem == "" && results == 0 {
		if r.YAMLBlocks > 0 {
			problem = "no assertion but a YAML diagnostic"
		} else {
			s.NoAssertionPass = true
			s.Passed++
		}
	}
	if problem != "" {
		s.Problem = problem
		s.Failed++
	}
	return s
}
