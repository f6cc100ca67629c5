// Command demo judges the example problems the way a contest judge would,
// with nothing but the mini-isolate binary: each solution is compiled in a
// bundle that `mini-isolate spec --profile LANG --stage compile` writes,
// then run on every test in a bundle for the run stage, and its output is
// compared with the expected one; in an interactive problem (one with an
// interactor.c) it talks to the interactor instead, through `mini-isolate
// interact`. It prints a verdict table and one full meta report per
// problem, and fails when a solution's verdicts are not the ones its
// "expect:" line announces.
//
//	go run ./hack/demo -bin bin/mini-isolate
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mini-isolate/mini-isolate/profiles"
)

// The problem's limits (examples/sum/README.md), the same for every
// language.
var problemLimits = []string{"--time", "1", "--wall-time", "3", "--cg-mem", "65536"}

// languages maps a solution's extension to its profile.
var languages = map[string]string{
	".c": "c", ".cpp": "cpp", ".py": "python3", ".java": "java", ".go": "go", ".rs": "rust", ".js": "node",
}

func main() {
	bin := flag.String("bin", "bin/mini-isolate", "mini-isolate binary")
	problems := flag.String("problem", "examples/sum,examples/guess",
		"problem directories, comma-separated: tests/N.in, tests/N.out (or an interactor.c) and solutions/")
	keep := flag.Bool("keep", false, "keep the work directory (bundles, outputs, reports)")
	flag.Parse()
	for i, problem := range strings.Split(*problems, ",") {
		if i > 0 {
			fmt.Println()
		}
		if err := run(*bin, problem, *keep); err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
			os.Exit(1)
		}
	}
}

// test is one input with its expected output.
type test struct {
	name    string
	in, out string
}

// solution is one submission and what became of it.
type solution struct {
	file, profile string
	expect        []string
	compile       string
	verdicts      []string
	metas         []string
	// compileTime and times are the CPU seconds of the compile and of
	// each test, as the reports give them.
	compileTime string
	times       []string
}

// judge runs mini-isolate with its own state root.
type judge struct {
	bin, root, work string
	profiles        *profiles.Set
	runs            int
	// interactors are an interactive problem's interactor bundles, by
	// test; nil for a batch problem.
	interactors map[string]string
}

func run(bin, problem string, keep bool) error {
	if os.Geteuid() != 0 {
		return errors.New("must run as root: sandboxes need namespaces and cgroups")
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	tests, err := loadTests(filepath.Join(problem, "tests"), interactive(problem))
	if err != nil {
		return err
	}
	sols, err := loadSolutions(filepath.Join(problem, "solutions"))
	if err != nil {
		return err
	}
	set, err := profiles.Load(profiles.DefaultDir)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "mini-isolate-demo-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Println("work directory:", work)
	} else {
		defer os.RemoveAll(work)
	}
	j := &judge{bin: bin, root: filepath.Join(work, "state"), work: work, profiles: set}
	if interactive(problem) {
		if err := j.prepareInteractor(problem, tests); err != nil {
			return err
		}
	}

	fmt.Printf("Judging %d solutions of %s on %d tests (limits: %s)\n\n", len(sols), problem, len(tests), strings.Join(problemLimits, " "))
	start := time.Now()
	var compileLog string
	for _, s := range sols {
		fmt.Printf("  %-10s %-8s ", s.file, s.profile)
		log, err := j.judge(problem, s, tests)
		if err != nil {
			return fmt.Errorf("%s: %w", s.file, err)
		}
		if s.compile != "OK" && compileLog == "" {
			compileLog = log
		}
		line := "CPU s:"
		if s.compileTime != "" {
			line += " compile " + s.compileTime
		}
		if len(s.times) > 0 {
			line += " tests " + strings.Join(s.times, " ")
		}
		fmt.Println(line)
	}
	fmt.Printf("\nJudged in %.1f s.\n\n", time.Since(start).Seconds())

	failed := printTable(sols, tests)
	if compileLog != "" {
		fmt.Println("\nCompiler output of the first solution that did not compile:")
		fmt.Print(indent(firstLines(compileLog, 6)))
	}
	if name, meta := pickReport(sols, tests); meta != "" {
		fmt.Printf("\nMeta report of %s:\n", name)
		fmt.Print(indent(meta))
	}
	if failed > 0 {
		return fmt.Errorf("%d solution(s) did not get the verdicts they expect", failed)
	}
	fmt.Println("\nEvery solution got the verdicts it expects.")
	return nil
}

func loadTests(dir string, interactive bool) ([]test, error) {
	ins, err := filepath.Glob(filepath.Join(dir, "*.in"))
	if err != nil {
		return nil, err
	}
	var tests []test
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), ".in")
		out := strings.TrimSuffix(in, ".in") + ".out"
		if _, err := os.Stat(out); err != nil && !interactive {
			return nil, fmt.Errorf("test %s: %w", name, err)
		}
		tests = append(tests, test{name: name, in: in, out: out})
	}
	if len(tests) == 0 {
		return nil, fmt.Errorf("no tests (*.in) in %s", dir)
	}
	sort.Slice(tests, func(a, b int) bool {
		na, ea := strconv.Atoi(tests[a].name)
		nb, eb := strconv.Atoi(tests[b].name)
		if ea == nil && eb == nil {
			return na < nb
		}
		return tests[a].name < tests[b].name
	})
	return tests, nil
}

// loadSolutions reads the solutions and their "expect:" lines; correct
// ones come first.
func loadSolutions(dir string) ([]*solution, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var sols []*solution
	for _, e := range entries {
		p, ok := languages[filepath.Ext(e.Name())]
		if e.IsDir() || !ok {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		s := &solution{file: e.Name(), profile: p}
		for _, line := range strings.SplitN(string(data), "\n", 4) {
			if _, rest, ok := strings.Cut(line, "expect:"); ok {
				s.expect = strings.Fields(rest)
			}
		}
		sols = append(sols, s)
	}
	rank := func(s *solution) int {
		if strings.HasPrefix(s.file, "ok") {
			return 0
		}
		return 1
	}
	sort.SliceStable(sols, func(a, b int) bool {
		if ra, rb := rank(sols[a]), rank(sols[b]); ra != rb {
			return ra < rb
		}
		return sols[a].file < sols[b].file
	})
	return sols, nil
}

// judge compiles s when its profile has a compile stage and runs it on
// every test. It returns the compiler's output.
//
// Root never writes into, or reads through a link in, a directory that a
// sandboxed program controlled: the source goes into the fresh compile
// box before anything ran there; the run stage binds that same box at
// /box instead of copying from it; each test's input goes in on the run's
// stdin and its output comes out on its stdout, both opened here on the
// host.
func (j *judge) judge(problem string, s *solution, tests []test) (string, error) {
	p, err := j.profiles.Get(s.profile)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(j.work, s.file)
	src := filepath.Join(problem, "solutions", s.file)
	s.compile = "OK"
	var log string
	box := filepath.Join(dir, "compile", profiles.BoxDir)
	if p.Stage(profiles.StageCompile) != nil {
		bundle := filepath.Join(dir, "compile")
		if err := j.mi("spec", "--profile", s.profile, "--stage", "compile", "--bundle", bundle, "--stderr-to-stdout"); err != nil {
			return "", err
		}
		if err := copyFile(src, filepath.Join(box, p.Source), 0o644); err != nil {
			return "", err
		}
		m, out, err := j.judged(bundle, nil)
		if err != nil {
			return "", err
		}
		s.compileTime, log = m["time"], out
		if st := m["status"]; st != "" {
			s.compile = "CE"
			if st == "XX" {
				s.compile = "IE"
			}
			s.verdicts = []string{s.compile}
			return log, nil
		}
	} else if err := j.fresh(box, filepath.Join(box, p.Source), src); err != nil {
		return "", err
	}
	bundle := filepath.Join(dir, "run")
	args := append([]string{"spec", "--profile", s.profile, "--bundle", bundle, "--dir", "box=" + box + ":rw"}, problemLimits...)
	if err := j.mi(args...); err != nil {
		return "", err
	}
	for _, t := range tests {
		if j.interactors != nil {
			m, err := j.interact(j.interactors[t.name], bundle)
			if err != nil {
				return "", err
			}
			s.verdicts = append(s.verdicts, m["verdict"])
			s.metas = append(s.metas, m["_raw"])
			s.times = append(s.times, m["time"])
			continue
		}
		in, err := os.Open(t.in)
		if err != nil {
			return "", err
		}
		m, got, err := j.judged(bundle, in)
		in.Close()
		if err != nil {
			return "", err
		}
		v := verdict(m)
		if v == "" {
			v = "WA"
			want, err := os.ReadFile(t.out)
			if err != nil {
				return "", err
			}
			if sameTokens([]byte(got), want) {
				v = "OK"
			}
		}
		s.verdicts = append(s.verdicts, v)
		s.metas = append(s.metas, m["_raw"])
		s.times = append(s.times, m["time"])
	}
	return log, nil
}

// fresh makes an empty box for a profile without a compile stage, with
// the solution in it.
func (j *judge) fresh(box, dst, src string) error {
	if err := os.MkdirAll(box, 0o755); err != nil {
		return err
	}
	return copyFile(src, dst, 0o755)
}

// maxOutput is how much of a run's stdout the demo keeps.
const maxOutput = 1 << 20

// judged runs a bundle with mini-isolate run --meta, stdin from in (none
// when nil), and returns the report, with the raw text under "_raw", and
// the start of what the program wrote to stdout.
func (j *judge) judged(bundle string, in io.Reader) (map[string]string, string, error) {
	j.runs++
	metaPath := filepath.Join(filepath.Dir(bundle), fmt.Sprintf("run-%d.meta", j.runs))
	id := fmt.Sprintf("demo-%d-%d", os.Getpid(), j.runs)
	cmd := exec.Command(j.bin, "--root", j.root, "run", "--bundle", bundle, "--meta", metaPath, id)
	var stderr bytes.Buffer
	out := &limitedBuffer{max: maxOutput}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = in, out, &stderr
	runErr := cmd.Run()
	data, err := os.ReadFile(metaPath)
	if err != nil {
		// The program's own failure still leaves a report; no report
		// means mini-isolate itself failed.
		return nil, "", fmt.Errorf("mini-isolate run: %v: %s", runErr, strings.TrimSpace(stderr.String()))
	}
	return parseMeta(data), out.String(), nil
}

// parseMeta reads a report in isolate's format, with the raw text under
// "_raw".
func parseMeta(data []byte) map[string]string {
	m := map[string]string{"_raw": string(data)}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m
}

// limitedBuffer keeps the first max bytes written to it and drops the
// rest, so that a program flooding stdout cannot exhaust the judge.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (j *judge) mi(args ...string) error {
	out, err := exec.Command(j.bin, append([]string{"--root", j.root}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mini-isolate %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// verdict maps a report's status to a judge's verdict; "" means the
// program ran cleanly and its output decides.
func verdict(m map[string]string) string {
	switch m["status"] {
	case "":
		return ""
	case "TO":
		return "TLE"
	case "ML":
		return "MLE"
	case "OL":
		return "OLE"
	case "RE", "SG":
		return "RE"
	}
	return "IE"
}

// sameTokens compares outputs as judges' default checkers do: the same
// words, whatever the whitespace.
func sameTokens(a, b []byte) bool {
	fa, fb := bytes.Fields(a), bytes.Fields(b)
	if len(fa) != len(fb) {
		return false
	}
	for i := range fa {
		if !bytes.Equal(fa[i], fb[i]) {
			return false
		}
	}
	return true
}

// printTable prints the verdicts, marking those that differ from what the
// solution expects, and returns how many solutions differ.
func printTable(sols []*solution, tests []test) int {
	w := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
	header := []string{"SOLUTION", "PROFILE", "COMPILE"}
	for _, t := range tests {
		header = append(header, "TEST "+t.name)
	}
	fmt.Fprintln(w, strings.Join(header, "\t")+"\tEXPECTED")
	failed := 0
	for _, s := range sols {
		row := []string{s.file, s.profile, s.compile}
		for i := range tests {
			v := "-"
			if s.compile == "OK" && i < len(s.verdicts) {
				v = s.verdicts[i]
			}
			row = append(row, v)
		}
		check := "yes"
		if len(s.expect) > 0 && strings.Join(s.expect, " ") != strings.Join(s.verdicts, " ") {
			check = "NO, expected " + strings.Join(s.expect, " ")
			failed++
		}
		fmt.Fprintln(w, strings.Join(row, "\t")+"\t"+check)
	}
	w.Flush()
	return failed
}

// pickReport chooses a run worth showing in full: the first time limit
// exceeded, else the first run.
func pickReport(sols []*solution, tests []test) (string, string) {
	for _, want := range []string{"TLE", "MLE", "RE", "OK"} {
		for _, s := range sols {
			for i, v := range s.verdicts {
				if v == want && i < len(s.metas) {
					return fmt.Sprintf("%s on test %s (%s)", s.file, tests[i].name, v), s.metas[i]
				}
			}
		}
	}
	return "", ""
}

func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, mode)
}

func firstLines(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], "...\n")
	}
	return strings.Join(lines, "")
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ") + "\n"
}
