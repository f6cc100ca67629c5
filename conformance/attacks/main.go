// Command attacks runs hostile programs in mini-isolate sandboxes and checks,
// from the host, that every one of them stays contained: no escape from the
// filesystem, no host secret read, nothing written outside the box, no host
// network or other box reached, no host process signalled, limits enforced
// with the right verdict, nothing left behind.
//
//	go build -o bin/attacks ./conformance/attacks
//	bin/attacks -runtime bin/mini-isolate
//
// Most attacks run through the isolate front end (`mini-isolate isolate`)
// with a private configuration (boxes, locks, cgroups and uids of the
// suite's own); a few run in judged OCI containers (`mini-isolate run
// --meta`). It prints one table row per attack and a last line
// "attacks: N passed, M failed". It must run as root. Exit status: 0 when
// every attack was contained, 1 when one was not, 2 on setup errors.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"
)

const (
	exitFailed = 1
	exitSetup  = 2
)

type options struct {
	runtime string
	run     *regexp.Regexp
	keep    bool
	verbose bool
}

func parseFlags(args []string) (*options, error) {
	fl := flag.NewFlagSet("attacks", flag.ContinueOnError)
	o := &options{}
	var run string
	fl.StringVar(&o.runtime, "runtime", "bin/mini-isolate", "mini-isolate binary under test")
	fl.StringVar(&run, "run", "", "run only the attacks whose name matches this regular expression")
	fl.BoolVar(&o.keep, "keep", false, "keep the suite's directory (boxes are still cleaned up)")
	fl.BoolVar(&o.verbose, "v", false, "print every run's command line and output")
	if err := fl.Parse(args); err != nil {
		return nil, err
	}
	if fl.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fl.Args())
	}
	re, err := regexp.Compile(run)
	if err != nil {
		return nil, fmt.Errorf("-run: %w", err)
	}
	o.run = re
	return o, nil
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout))
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "attacks: "+format+"\n", args...)
}

func run(args []string, stdout io.Writer) int {
	o, err := parseFlags(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		progress("%v", err)
		return exitSetup
	}
	if os.Geteuid() != 0 {
		progress("must run as root (the suite creates boxes, cgroups and users' processes)")
		return exitSetup
	}
	var list []*attack
	for _, a := range allAttacks() {
		if o.run.MatchString(a.name) {
			list = append(list, a)
		}
	}
	if len(list) == 0 {
		progress("-run %q matches no attack", o.run)
		return exitSetup
	}
	s, err := newSuite(o)
	if err != nil {
		progress("setup: %v", err)
		return exitSetup
	}
	// An interrupt still cleans up: boxes, cgroups, listeners.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		progress("interrupted: cleaning up")
		s.close()
		os.Exit(exitSetup)
	}()

	began := time.Now()
	var rows []row
	for i, a := range list {
		r := s.runAttack(a)
		rows = append(rows, r)
		progress("[%d/%d] %-24s %s (%.1fs)", i+1, len(list), a.name, r.verdict(), r.took.Seconds())
	}
	leftovers := s.close()
	if len(leftovers) > 0 {
		// Whatever the suite as a whole left on the host fails the last
		// row's neighbour: a row of its own.
		rows = append(rows, row{name: "suite-cleanup", what: "the host after every attack: cgroups, mounts, processes, files", result: "leftovers", fails: leftovers})
	}
	failed := printTable(stdout, rows)
	fmt.Fprintf(stdout, "attacks: %d passed, %d failed (%.0fs)\n", len(rows)-failed, failed, time.Since(began).Seconds())
	if failed > 0 {
		return exitFailed
	}
	return 0
}

// row is one attack's line in the table.
type row struct {
	name, what, result string
	fails              []string
	took               time.Duration
}

func (r row) verdict() string {
	if len(r.fails) > 0 {
		return "FAIL"
	}
	return "PASS"
}

func printTable(w io.Writer, rows []row) int {
	const whatWidth, resultWidth = 62, 58
	nameWidth := len("attack")
	for _, r := range rows {
		nameWidth = max(nameWidth, len(r.name))
	}
	line := func(n, name, what, result, verdict string) {
		fmt.Fprintf(w, "%-3s %-*s  %-*s  %-*s  %s\n", n, nameWidth, name, whatWidth, what, resultWidth, result, verdict)
	}
	line("#", "attack", "what it tried", "containment result", "verdict")
	fmt.Fprintln(w, strings.Repeat("-", 3+1+nameWidth+2+whatWidth+2+resultWidth+2+7))
	failed := 0
	for i, r := range rows {
		whats, results := wrap(r.what, whatWidth), wrap(r.result, resultWidth)
		for k := 0; k < max(len(whats), len(results)); k++ {
			n, name, verdict := "", "", ""
			if k == 0 {
				n, name, verdict = fmt.Sprint(i+1), r.name, r.verdict()
			}
			line(n, name, at(whats, k), at(results, k), verdict)
		}
		if len(r.fails) > 0 {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintf(w, "\nFailures:\n")
		for _, r := range rows {
			for _, f := range r.fails {
				fmt.Fprintf(w, "  %s: %s\n", r.name, f)
			}
		}
		fmt.Fprintln(w)
	}
	return failed
}

func at(list []string, i int) string {
	if i < len(list) {
		return list[i]
	}
	return ""
}

// wrap breaks s into lines of at most width runes at spaces.
func wrap(s string, width int) []string {
	var lines []string
	cur := ""
	for _, word := range strings.Fields(s) {
		for len(word) > width {
			if cur != "" {
				lines = append(lines, cur)
				cur = ""
			}
			lines = append(lines, word[:width])
			word = word[width:]
		}
		switch {
		case cur == "":
			cur = word
		case len(cur)+1+len(word) <= width:
			cur += " " + word
		default:
			lines = append(lines, cur)
			cur = word
		}
	}
	if cur != "" || len(lines) == 0 {
		lines = append(lines, cur)
	}
	return lines
}
