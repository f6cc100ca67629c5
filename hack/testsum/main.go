// Command testsum reads `go test -json` events on stdin, prints what a
// plain `go test` run would (failed tests' output, package results) plus
// every skip with its reason and every host case a test reports, and
// writes the counts for make test's summary.
//
//	go test -json ./... | go run ./hack/testsum -stage unit -out bin/results/unit.sum
//
// The counts file has one "passed N", "failed N" and "skipped N" line, then
// one "skip NAME: REASON" line per skipped test and one "host NAME: CASE"
// line per host case. A test reports the case it checked on this host with
// a log line starting "host case: " (testutil.HostCase). Exit status 1 when
// a test or package failed, 0 otherwise.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of test2json's output.
type event struct {
	Action     string
	Package    string
	ImportPath string
	Test       string
	Elapsed    float64
	Output     string
}

// hostCasePrefix marks a log line in which a test says which host case it
// checked.
const hostCasePrefix = "host case: "

// tally accumulates the results of one run.
type tally struct {
	passed, failed, skipped int
	skips, hosts, fails     []string
	// output buffers each test's lines (key: package and test) until the
	// test ends; only failures print them.
	output map[string][]string
	// pkgFailed records packages whose failure no test accounts for:
	// build failures, panics outside a test, TestMain errors.
	testFailed map[string]bool
}

func newTally() *tally {
	return &tally{output: map[string][]string{}, testFailed: map[string]bool{}}
}

func (t *tally) add(e event, w io.Writer) {
	pkg := e.Package
	if pkg == "" {
		pkg = e.ImportPath
	}
	key := pkg + " " + e.Test
	switch e.Action {
	case "output", "build-output":
		t.output[key] = append(t.output[key], e.Output)
		if e.Test != "" {
			if i := strings.Index(e.Output, hostCasePrefix); i >= 0 {
				t.hosts = append(t.hosts, fmt.Sprintf("%s %s", short(pkg), strings.TrimSpace(e.Output[i+len(hostCasePrefix):])))
			}
		}
	case "build-fail":
		// The package's own fail event follows and is what counts.
		fmt.Fprint(w, strings.Join(t.output[key], ""))
		delete(t.output, key)
	case "pass", "fail", "skip":
		t.end(e, pkg, key, w)
	}
}

func (t *tally) end(e event, pkg, key string, w io.Writer) {
	out := t.output[key]
	delete(t.output, key)
	if e.Test == "" {
		switch {
		case e.Action == "pass":
			fmt.Fprintf(w, "ok  \t%s\t%.3fs\n", pkg, e.Elapsed)
		case e.Action == "skip":
			fmt.Fprintf(w, "?   \t%s\t[no test files]\n", pkg)
		default:
			if !t.testFailed[pkg] {
				// Nothing else reported it: count the package.
				t.failed++
				t.fails = append(t.fails, short(pkg))
				fmt.Fprint(w, strings.Join(out, ""))
			}
			fmt.Fprintf(w, "FAIL\t%s\t%.3fs\n", pkg, e.Elapsed)
		}
		return
	}
	switch e.Action {
	case "pass":
		t.passed++
	case "skip":
		t.skipped++
		reason := skipReason(out)
		t.skips = append(t.skips, fmt.Sprintf("%s %s: %s", short(pkg), e.Test, reason))
		fmt.Fprintf(w, "--- SKIP: %s (%s): %s\n", e.Test, pkg, reason)
	default:
		t.failed++
		t.testFailed[pkg] = true
		t.fails = append(t.fails, short(pkg)+" "+e.Test)
		fmt.Fprint(w, strings.Join(out, ""))
	}
}

// short is a package path without the module's.
func short(pkg string) string {
	return strings.TrimPrefix(pkg, "github.com/mini-isolate/mini-isolate/")
}

// skipReason is the last line a skipped test logged before its SKIP line,
// without the file:line prefix.
func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "---") || strings.HasPrefix(l, "=== ") {
			continue
		}
		if _, rest, ok := strings.Cut(l, ": "); ok && strings.Contains(l[:len(l)-len(rest)], ".go:") {
			return rest
		}
		return l
	}
	return "no reason given"
}

func (t *tally) write(w io.Writer) {
	fmt.Fprintf(w, "passed %d\nfailed %d\nskipped %d\n", t.passed, t.failed, t.skipped)
	sort.Strings(t.skips)
	for _, s := range t.skips {
		fmt.Fprintf(w, "skip %s\n", s)
	}
	for _, h := range t.hosts {
		fmt.Fprintf(w, "host %s\n", h)
	}
	for _, f := range t.fails {
		fmt.Fprintf(w, "fail %s\n", f)
	}
}

func main() {
	stage := flag.String("stage", "go test", "name of the stage, for the last line")
	out := flag.String("out", "", "write the counts to this file")
	flag.Parse()
	t := newTally()
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" {
			// Not an event: go's own messages (downloads, vet) pass through.
			fmt.Println(sc.Text())
			continue
		}
		t.add(e, os.Stdout)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "testsum:", err)
		t.failed++
		t.fails = append(t.fails, "reading go test's output: "+err.Error())
	}
	fmt.Printf("%s: %d passed, %d failed, %d skipped\n", *stage, t.passed, t.failed, t.skipped)
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testsum:", err)
			os.Exit(1)
		}
		t.write(f)
		if err := f.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "testsum:", err)
			os.Exit(1)
		}
	}
	if t.failed > 0 {
		os.Exit(1)
	}
}
