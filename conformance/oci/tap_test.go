package main

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func lines(ls ...string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }

func TestParseTAP(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want Report
	}{
		{
			name: "empty",
			in:   nil,
			want: Report{},
		},
		{
			name: "plain results and plan",
			in: lines("TAP version 13",
				"ok 1 - has expected hostname",
				"not ok 2 - exit status 1",
				"1..2"),
			want: Report{
				Assertions: []Assertion{
					{Number: 1, Description: "has expected hostname", Status: Pass},
					{Number: 2, Description: "exit status 1", Status: Fail},
				},
				Plans: []Plan{{Count: 2, Results: 2}},
			},
		},
		{
			name: "tap-go skip and todo directives",
			in: lines("TAP version 13",
				"ok 1 # SKIP linux-specific namespace test",
				"not ok 2 # TODO not done yet",
				"ok 3 # TODO done anyway",
				"ok 4 - described # skip lower case",
				"1..4"),
			want: Report{
				Assertions: []Assertion{
					{Number: 1, Description: "linux-specific namespace test", Status: Skip},
					{Number: 2, Description: "not done yet", Status: Todo},
					{Number: 3, Description: "done anyway", Status: Pass},
					{Number: 4, Description: "described lower case", Status: Skip},
				},
				Plans: []Plan{{Count: 4, Results: 4}},
			},
		},
		{
			name: "YAML blocks hide what looks like TAP",
			in: lines("TAP version 13",
				"ok 1 - mounts[0] (/proc) found in order",
				"  ---",
				"  {",
				`    "stdout": "ok 1 - inner",`,
				"  ok 2 - indented, so inside the block",
				"  }",
				"  ...",
				"1..1"),
			want: Report{
				Assertions: []Assertion{{Number: 1, Description: "mounts[0] (/proc) found in order", Status: Pass}},
				Plans:      []Plan{{Count: 1, Results: 1}},
				YAMLBlocks: 1,
			},
		},
		{
			name: "unterminated YAML block ends at an unindented line",
			in: lines("  ---",
				`  {"error": "cut`,
				"ok 1 - after the cut",
			),
			want: Report{
				Assertions: []Assertion{{Number: 1, Description: "after the cut", Status: Pass}},
				YAMLBlocks: 1,
			},
		},
		{
			name: "hook test diagnostic without assertions",
			in: lines("TAP version 13",
				"  ---",
				"  {",
				`    "error": "Hooks MUST be called in the listed order"`,
				"  }",
				"  ...",
				"1..0"),
			want: Report{Plans: []Plan{{Count: 0, Results: 0}}, YAMLBlocks: 1},
		},
		{
			name: "each TAP document has its own plan",
			in: lines("TAP version 13",
				"ok 1 - a",
				"ok 2 - b",
				"1..2",
				"TAP version 13",
				"1..0",
				"TAP version 13",
				"1..1",
				"not ok 1 - c",
			),
			want: Report{
				Assertions: []Assertion{
					{Number: 1, Description: "a", Status: Pass},
					{Number: 2, Description: "b", Status: Pass},
					{Number: 1, Description: "c", Status: Fail},
				},
				Plans: []Plan{{Count: 2, Results: 2}, {Count: 0, Results: 0}, {Count: 1, Results: 1}},
			},
		},
		{
			name: "numbers and descriptions are optional",
			in:   lines("ok", "not ok", "ok - dash only", "ok 7", "okay 8 - not a test line", "# ok 9 - comment"),
			want: Report{
				Assertions: []Assertion{
					{Status: Pass},
					{Status: Fail},
					{Description: "dash only", Status: Pass},
					{Number: 7, Status: Pass},
				},
			},
		},
		{
			name: "bail out and CRLF",
			in:   []byte("ok 1 - first\r\nBail out! runtime vanished\r\nnot ok 2 - second\r\n"),
			want: Report{
				Assertions: []Assertion{
					{Number: 1, Description: "first", Status: Pass},
					{Number: 2, Description: "second", Status: Fail},
				},
				Bailed:  true,
				BailOut: "runtime vanished",
			},
		},
		{
			name: "embedded runtimetest stream keeps repeated descriptions",
			in: lines("TAP version 13",
				"ok 1 - same",
				"ok 2 - same",
				"ok 3 - # not a directive",
				"1..3"),
			want: Report{
				Assertions: []Assertion{
					{Number: 1, Description: "same", Status: Pass},
					{Number: 2, Description: "same", Status: Pass},
					{Number: 3, Description: "# not a directive", Status: Pass},
				},
				Plans: []Plan{{Count: 3, Results: 3}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseTAP(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseTAP:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseTAPHugeLine(t *testing.T) {
	in := append([]byte("ok 1 - a\n"), make([]byte, 17*1024*1024)...)
	r := ParseTAP(in)
	if !r.Bailed || len(r.Assertions) != 1 {
		t.Errorf("ParseTAP of an oversized line: bailed %v, %d assertions", r.Bailed, len(r.Assertions))
	}
}

func TestTally(t *testing.T) {
	ok0 := Exit{}
	tests := []struct {
		name string
		out  []byte
		exit Exit
		want Score
	}{
		{
			name: "passes failures and skips",
			out:  lines("ok 1 - a", "not ok 2 - b", "ok 3 # SKIP c", "not ok 4 # TODO d", "ok 5 - e", "1..5"),
			exit: ok0,
			want: Score{Passed: 2, Failed: 1, Skipped: 1},
		},
		{
			name: "no output and exit 0 is one pass",
			exit: ok0,
			want: Score{Passed: 1, NoAssertionPass: true},
		},
		{
			name: "empty plan and exit 0 is one pass",
			out:  lines("TAP version 13", "1..0"),
			exit: ok0,
			want: Score{Passed: 1, NoAssertionPass: true},
		},
		{
			name: "YAML diagnostic without assertions is one failure",
			out:  lines("TAP version 13", "  ---", `  {"error": "x"}`, "  ...", "1..0"),
			exit: ok0,
			want: Score{Failed: 1, Problem: "no assertion but a YAML diagnostic"},
		},
		{
			name: "non-zero exit discards ok lines",
			out:  lines("ok 1 - a", "ok 2 # SKIP b", "not ok 3 - c", "ok 4 - d"),
			exit: Exit{Code: 1},
			want: Score{Failed: 2, Skipped: 1, Problem: "exit status 1", Abnormal: true},
		},
		{
			name: "non-zero exit without output",
			exit: Exit{Code: 1},
			want: Score{Failed: 1, Problem: "exit status 1", Abnormal: true},
		},
		{
			name: "timeout",
			out:  lines("ok 1 - a"),
			exit: Exit{Code: -1, TimedOut: true, Signal: "killed"},
			want: Score{Failed: 1, Problem: "timed out", Abnormal: true},
		},
		{
			name: "crash by signal",
			out:  lines("ok 1 - a"),
			exit: Exit{Code: -1, Signal: "segmentation fault"},
			want: Score{Failed: 1, Problem: "killed by signal segmentation fault", Abnormal: true},
		},
		{
			name: "Go panic",
			out:  lines("ok 1 - a"),
			exit: Exit{Code: 2, Panicked: true},
			want: Score{Failed: 1, Problem: "crashed with a Go panic (exit status 2)", Abnormal: true},
		},
		{
			name: "could not start",
			exit: Exit{Code: -1, StartErr: errors.New("no such file")},
			want: Score{Failed: 1, Problem: "could not start: no such file", Abnormal: true},
		},
		{
			name: "plan larger than results",
			out:  lines("1..3", "ok 1 - a", "ok 2 - b"),
			exit: ok0,
			want: Score{Passed: 2, Failed: 1, Problem: "plan 1..3 does not match its 2 results"},
		},
		{
			name: "plan counts skips",
			out:  lines("1..2", "ok 1 # SKIP a", "ok 2 - b"),
			exit: ok0,
			want: Score{Passed: 1, Skipped: 1},
		},
		{
			name: "two documents, both plans right",
			out:  lines("TAP version 13", "ok 1 - a", "1..1", "TAP version 13", "1..0"),
			exit: ok0,
			want: Score{Passed: 1},
		},
		{
			name: "two documents, second plan wrong",
			out:  lines("TAP version 13", "ok 1 - a", "1..1", "TAP version 13", "1..2", "ok 1 - b"),
			exit: ok0,
			want: Score{Passed: 2, Failed: 1, Problem: "plan 1..2 does not match its 1 results"},
		},
		{
			name: "missing plan is not a failure",
			out:  lines("ok 1 - a", "ok 2 - b"),
			exit: ok0,
			want: Score{Passed: 2},
		},
		{
			name: "plan mismatch counts once with a failing exit",
			out:  lines("1..3", "not ok 1 - a"),
			exit: Exit{Code: 2},
			want: Score{Failed: 2, Problem: "exit status 2", Abnormal: true},
		},
		{
			name: "bail out",
			out:  lines("ok 1 - a", "Bail out! gone"),
			exit: ok0,
			want: Score{Passed: 1, Failed: 1, Problem: "bailed out: gone"},
		},
		{
			name: "only a skip is not a silent pass",
			out:  lines("1..1", "ok 1 # SKIP linux only", "  ---", `  {"OS": "x"}`, "  ..."),
			exit: ok0,
			want: Score{Skipped: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Tally(ParseTAP(tt.out), tt.exit)
			if got != tt.want {
				t.Errorf("Tally:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestRegressions(t *testing.T) {
	mk := func(out []byte, e Exit) *ProgramRun {
		r := ParseTAP(out)
		return &ProgramRun{Report: r, Exit: e, Score: Tally(r, e), StderrTail: []string{"last stderr line"}}
	}
	tests := []struct {
		name     string
		ref, got *ProgramRun
		want     []string
	}{
		{
			name: "identical",
			ref:  mk(lines("ok 1 - a", "not ok 2 - b"), Exit{}),
			got:  mk(lines("ok 1 - a", "not ok 2 - b"), Exit{}),
		},
		{
			name: "no reference",
			ref:  nil,
			got:  mk(lines("not ok 1 - a"), Exit{}),
		},
		{
			name: "failed, missing and repeated descriptions",
			ref:  mk(lines("ok 1 - a", "ok 2 - dup", "ok 3 - dup", "ok 4 - gone", "not ok 5 - both fail", "ok 6 # SKIP s"), Exit{}),
			got:  mk(lines("ok 1 - a", "ok 2 - dup", "not ok 3 - dup", "not ok 4 - both fail", "not ok 5 - s"), Exit{}),
			want: []string{
				`p: "dup" (occurrence 2): not ok`,
				`p: "gone": not printed`,
			},
		},
		{
			name: "skip and todo are not regressions",
			ref:  mk(lines("ok 1 - a", "ok 2 - b"), Exit{}),
			got:  mk(lines("ok 1 # SKIP a", "not ok 2 # TODO b"), Exit{}),
		},
		{
			name: "program-level failure with stderr",
			ref:  mk(lines("ok 1 - a"), Exit{}),
			got:  mk(lines("ok 1 - a"), Exit{Code: 1}),
			want: []string{"p: program failed: exit status 1\n      | last stderr line"},
		},
		{
			name: "failure the reference shares is not a regression",
			ref:  mk(nil, Exit{Code: 1}),
			got:  mk(nil, Exit{Code: -1, TimedOut: true}),
		},
		{
			name: "ok lines of a reference that exited non-zero are not passes",
			ref:  mk(lines("ok 1 - a", "ok 2 - b"), Exit{Code: 1}),
			got:  mk(nil, Exit{}),
		},
		{
			name: "silent pass lost to a diagnostic",
			ref:  mk(lines("1..0"), Exit{}),
			got:  mk(lines("  ---", "  {}", "  ...", "1..0"), Exit{}),
			want: []string{"p: program failed: no assertion but a YAML diagnostic\n      | last stderr line"},
		},
		{
			name: "silent pass lost to assertions",
			ref:  mk(nil, Exit{}),
			got:  mk(lines("not ok 1 - surprise"), Exit{}),
			want: []string{"p: program failed: printed 1 assertion(s) where the reference printed none and passed\n      | last stderr line"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, g := range Regressions("p", tt.ref, tt.got) {
				got = append(got, g.String())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Regressions:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestWriteTable(t *testing.T) {
	run := func(p, f, s int) *ProgramRun { return &ProgramRun{Score: Score{Passed: p, Failed: f, Skipped: s}} }
	rows := []Row{
		{Program: "default", Ref: run(270, 0, 39), Test: run(270, 0, 39)},
		{Program: "hooks", Ref: run(0, 1, 0), Test: run(0, 2, 0)},
	}
	var b strings.Builder
	test, ref, err := WriteTable(&b, rows, "mini-isolate", "runc")
	if err != nil {
		t.Fatal(err)
	}
	if test != (Totals{270, 2, 39}) || ref != (Totals{270, 1, 39}) {
		t.Errorf("totals: test %+v ref %+v", test, ref)
	}
	out := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(out) != 5 {
		t.Fatalf("want 5 lines, got %d:\n%s", len(out), b.String())
	}
	if strings.Contains(out[2], "worse") || !strings.Contains(out[3], "worse") {
		t.Errorf("worse marker on the wrong row:\n%s", b.String())
	}
	if !strings.HasPrefix(out[4], "TOTAL") {
		t.Errorf("last row is not TOTAL: %q", out[4])
	}
}

func TestWriteRegressions(t *testing.T) {
	regs := []Regression{
		{Program: "a", Got: "exit status 1"},
		{Program: "a", Description: "x", Got: "not printed"},
		{Program: "a", Description: "y", Got: "not printed"},
		{Program: "b", Description: "z", Got: "not ok"},
	}
	var b strings.Builder
	if err := WriteRegressions(&b, regs, "mini-isolate", "runc"); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"program failed: exit status 1; 2 not printed",
		"1 not ok",
		"Regressions (4):",
		`  b: "z": not ok`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	if err := WriteRegressions(&b, nil, "mini-isolate", "runc"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "No regressions") {
		t.Errorf("no-regression output: %q", b.String())
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		"/sys/fs/cgroup/cpu": "/sys/fs/cgroup/cpu",
		`/a\040b`:            "/a b",
		`/tail\04`:           `/tail\04`,
		`/x\999`:             `/x\999`,
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}
