package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"
)

// result is a case compared: the facts on which the runtimes differ.
type result struct {
	c        tcase
	diffs    []string
	ref, got *observed
}

func (s *suite) compare(c tcase) result {
	s.n++
	ref := s.play(s.runtimes[0], c)
	got := s.play(s.runtimes[1], c)
	r := result{c: c, ref: ref, got: got}
	for i := 0; i < max(len(ref.facts), len(got.facts)); i++ {
		a, b := at(ref.facts, i), at(got.facts, i)
		if a != b {
			r.diffs = append(r.diffs, fmt.Sprintf("runc: %s\n      mini-isolate: %s", a, b))
		}
	}
	if s.o.verbose {
		fmt.Printf("== %s\n%s\n  facts: %q\n%s\n  facts: %q\n", c.name,
			strings.Join(ref.log, "\n"), ref.facts, strings.Join(got.log, "\n"), got.facts)
	}
	return r
}

func at(list []string, i int) string {
	if i < len(list) {
		return list[i]
	}
	return "(nothing)"
}

// intendedRow is a row of docs/oci-compat.md's table of intended
// differences: "| `case-name` | why |".
var intendedRow = regexp.MustCompile("^\\|\\s*`([a-z0-9-]+)`\\s*\\|(.*)\\|\\s*$")

// readIntended returns the cases that docs/oci-compat.md lists as
// intended differences, with the reason given.
func readIntended(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("intended differences: %w", err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if g := intendedRow.FindStringSubmatch(sc.Text()); g != nil {
			m[g[1]] = strings.TrimSpace(g[2])
		}
	}
	return m, sc.Err()
}

// report prints one line per case, then the unintended differences, and
// returns the exit status. all says every case ran, so that a listed
// case that no longer differs (or no longer exists) can be named.
func report(w io.Writer, rows []result, intended map[string]string, all bool, took time.Duration) int {
	var bad []string
	same, meant := 0, 0
	ran := map[string]bool{}
	for _, r := range rows {
		ran[r.c.name] = true
		_, listed := intended[r.c.name]
		verdict := "same"
		switch {
		case len(r.diffs) == 0 && listed:
			verdict = "FAIL (listed as intended, but behaves as runc)"
			bad = append(bad, r.c.name+": listed in docs/oci-compat.md but no longer differs")
		case len(r.diffs) == 0:
			same++
		case listed:
			verdict = "intended"
			meant++
		default:
			verdict = "FAIL"
			bad = append(bad, fmt.Sprintf("%s:\n      %s", r.c.name, strings.Join(r.diffs, "\n      ")))
		}
		fmt.Fprintf(w, "%-36s %s\n", r.c.name, verdict)
	}
	if all {
		for name := range intended {
			if !ran[name] {
				bad = append(bad, name+": listed in docs/oci-compat.md but no such case")
			}
		}
	}
	if len(bad) > 0 {
		fmt.Fprintln(w, "\nDifferences from runc that docs/oci-compat.md does not list:")
		for _, b := range bad {
			fmt.Fprintln(w, "  "+b)
		}
	}
	fmt.Fprintf(w, "\nrunc-cli: %d cases the same as runc, %d intended differences (%s)\n", same, meant, took.Round(time.Second))
	fmt.Fprintf(w, "runc-cli: %d passed, %d failed\n", same+meant, len(bad))
	if len(bad) > 0 {
		return exitDiffers
	}
	return 0
}
